"""Quizzes of notebook 11, the capstone: LunarLander."""

from pgcourse.quiz import Question

QUESTIONS = (
    Question(
        r"Predict, then run: PPO with the LunarLander-v3 preset, trained for its budget (about a minute here). How "
        r"will its greedy evaluation (20 fresh episodes) compare with the random lander's?",
        (
            r"Far better: at least 100 points above the random lander.",
            r"About the same: one minute of training is far too little for a task this hard.",
            r"Exactly the same score on every computer, because the seed is fixed.",
        ),
        0,
        (
            r"Right (asserted after the run): the trained lander's mean return is at least 100 points above the "
            r"random lander's. Whether this run also reached 200 is printed from the run itself.",
            r"The assert after the training checks an improvement of at least 100 points, and the printed "
            r"evaluation shows how large it was on this machine.",
            r"A fixed seed does not reproduce the same run across CPUs and torch builds; that is why the notebook "
            r"asserts only the improvement and reports, from this run, whether it reached 200.",
        ),
        prediction=True,
    ),
    Question(
        r"The notebook judges the lander with <code>evaluate</code>: 20 fresh episodes, the most likely action in "
        r"every state. Why not by the running mean of the training episodes?",
        (
            r"The training episodes sample their actions, from a policy that changed while they were played; the "
            r"evaluation plays the final policy itself.",
            r"The training curve is in normalised rewards, not in the environment's points.",
            r"The evaluation plays a shorter, easier version of the task.",
        ),
        0,
        (
            r"Right: so the two numbers printed after the training are not the same measurement — and the policy "
            r"you keep is the final one, so that is the one to measure.",
            r"Reward normalisation scales the rewards the losses use (value targets and advantages); the logged "
            r"training returns are recorded before it, in the environment's points.",
            r"Both play the same environment, with the same time limit; only the actions are chosen differently.",
        ),
    ),
    Question(
        r"LunarLanderContinuous-v3 takes two real-valued throttles as its action. Which policy does "
        r"<code>train_ppo</code> build for it?",
        (
            r"A Gaussian policy (<code>GaussianActorCritic</code>), as for Pendulum in notebook 08.",
            r"A categorical policy over four discrete actions.",
            r"None: PPO needs discrete actions.",
        ),
        0,
        (
            r"Right (asserted): a <code>Box</code> action space gets a Gaussian policy with a learnable "
            r"$\log\sigma$; the same trainer and loss, another distribution.",
            r"That is the discrete lander's policy; the continuous one's action space is a <code>Box</code> "
            r"(printed in section 6).",
            r"Notebook 08 trained PPO on Pendulum's continuous actions: the clipped ratio only needs the "
            r"log-probability of the action, which a Gaussian has.",
        ),
    ),
)
