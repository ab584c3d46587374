"""Quizzes of notebook 10, failure modes."""

from pgcourse.quiz import Question

QUESTIONS = (
    Question(
        r"Predict, then run: PPO with a constant learning rate of 0.1 and $\epsilon = 1$, 10 000 steps. What will the "
        r"training show?",
        (
            r"The entropy is gone within a few updates, and the return stays far below 475.",
            r"It solves CartPole faster: bigger steps, faster learning.",
            r"The entropy rises towards $\log 2$: large steps make the policy random.",
        ),
        0,
        (
            r"Right (asserted): the oversized updates drive the policy deterministic; its score $e_a - \pi$ then "
            r"vanishes and learning stops far below 475 (near 9 on seed 0; higher, but stuck too, on seed 1).",
            r"The KL of the first updates reaches hundreds of times the healthy range: steps that far overshoot.",
            r"The steps push one action's probability to 1: the entropy falls below 0.01.",
        ),
        prediction=True,
    ),
    Question(
        r"An entropy bonus $c_e = 0.05$ did not rescue the collapsed policy. Why?",
        (
            r"Its gradient $-\pi(a \mid s)(\log \pi(a \mid s) + H)$ vanishes as the policy becomes one-hot.",
            r"The clip with $\epsilon = 1$ removes the entropy term from the loss.",
            r"The entropy bonus only trains the critic.",
        ),
        0,
        (
            r"Right: at a one-hot policy $\pi(a) \log \pi(a) \to 0$ for every action, so the bonus has nothing to push "
            r"with. Measured: in every update of the continued runs, even at the preset's sane learning rate, the "
            r"actor's step was exactly 0 ($\|\Delta\theta\| = 0$): at an entropy below $10^{-10}$, $\pi$ is 1 to "
            r"float32's precision.",
            r"The clip acts on the ratio term only; the entropy term is added to the loss unclipped.",
            r"$H[\pi_\theta]$ depends on the policy's parameters only: it acts on the actor.",
        ),
    ),
    Question(
        r"Predict, then run: PPO trained on a shaped reward (a bonus for the pole's tilt). What will the health "
        r"report of the runs say?",
        (
            r"Nothing: no finding.",
            r"An entropy collapse.",
            r"A value-function lag (low explained variance).",
        ),
        0,
        (
            r"Right (asserted): the optimiser does its job — on the wrong objective. Only evaluating the true "
            r"objective (plain CartPole) shows the policy is bad at the task.",
            r"The policy learns a consistent, farmable behaviour; nothing about its training is unhealthy.",
            r"The report found no value-function lag: the critic learned the shaped return well enough.",
        ),
        prediction=True,
    ),
    Question(
        r"Predict, then run: REINFORCE, A2C and PPO, each with its tuned defaults, until CartPole is solved (10 seeds). "
        r"Order them by the environment steps they need, fewest first.",
        (r"PPO, REINFORCE, A2C", r"PPO, A2C, REINFORCE", r"A2C, PPO, REINFORCE", r"REINFORCE, A2C, PPO"),
        0,
        (
            r"Right (asserted: over 10 seeds every interval of the difference excludes 0). The designs differ — PPO: 10 epochs per rollout; "
            r"REINFORCE: whole episodes, short on CartPole; A2C: one gradient step per rollout — but which difference "
            r"causes the ranking is not measured.",
            r"A2C makes one gradient step per 64 transitions and needs the most samples here (its updates are cheap, though).",
            r"A2C uses each rollout once; PPO reuses it for 10 epochs.",
            r"REINFORCE learns from whole episodes, and needs fewer steps than A2C here but more than PPO (asserted).",
        ),
        prediction=True,
    ),
)
