"""Quizzes of notebook 07, PPO."""

from pgcourse.quiz import Question

QUESTIONS = (
    Question(
        r"For one sample, which statements about $L^{CLIP} = \min(r \hat A,\ \mathrm{clip}(r, 1-\epsilon, 1+\epsilon)\, \hat A)$ are true?",
        (
            r"With $\hat A \gt 0$ and $r \gt 1 + \epsilon$, its gradient is zero.",
            r"With $\hat A \lt 0$ and $r \gt 1 + \epsilon$, its gradient is zero.",
            r"$L^{CLIP} \le r \hat A$ always.",
            r"With $\hat A \lt 0$ and $r \lt 1 - \epsilon$, its gradient is zero.",
        ),
        {0, 2, 3},
        (
            r"True: a good action already made more than $1+\epsilon$ times as likely — no reason to push it further in this update.",
            r"False: a bad action became <i>more</i> likely. Then $r \hat A \lt (1+\epsilon)\hat A$, the min picks the "
            r"unclipped term, and its gradient $\hat A$ remains: mistakes can always be undone.",
            r"True: the min makes it pessimistic (checked on the curves: never above $r \hat A$).",
            r"True: a bad action already made less likely than $1-\epsilon$ times — the objective is flat there.",
        ),
    ),
    Question(
        r"Predict, then run: one fixed rollout, PPO's update (10 epochs) with $\epsilon$ = 0.05, 0.1, 0.2 and 0.4. How "
        r"will the approximate KL and the clip fraction after the update change as $\epsilon$ grows?",
        (
            r"The KL grows (more than tenfold from 0.05 to 0.4); the clip fraction stays in a similar range.",
            r"The KL is the same for every $\epsilon$: the clip bounds the KL.",
            r"The clip fraction grows a lot with $\epsilon$, and the KL with it.",
            r"The KL falls: a wider window needs fewer steps.",
        ),
        0,
        (
            r"Right (asserted): a wider window lets the policy move farther, while the clip fraction counts the samples "
            r"at the edge of <i>their</i> window, wherever that edge is.",
            r"Notebook 06 showed that the clip bounds no KL; here the KL after 10 epochs grows with $\epsilon$.",
            r"The clip fraction stays below 25 % for every $\epsilon$ and changes far less than the KL: it is not a "
            r"measure of update size.",
            r"No: a wider window removes the brake later, so the same epochs move the policy farther.",
        ),
        prediction=True,
    ),
    Question(
        r"Predict, then run: PPO makes 10 epochs of minibatch steps on every rollout. What will the approximate KL "
        r"between $\pi_{old}$ and the updated policy be?",
        (
            r"Small: a median below 0.02, every update below 0.1.",
            r"Large, above 0.1 in most updates: ten epochs on the same data move the policy far.",
            r"Exactly 0: the clip keeps every ratio inside the window.",
        ),
        0,
        (
            r"Right (asserted on the run): at the tuned learning rate each update stays close to $\pi_{old}$. The clip "
            r"alone bounds no KL (notebook 06): the KL grows with the learning rate and the epochs.",
            r"With the clip and the tuned learning rate the notebook measures the opposite: median below 0.02, "
            r"largest below 0.1.",
            r"The clip stops the gradient of a sample at the window's edge; the policy still moves (the KL is small, "
            r"not zero), and a sample can even end up outside its window.",
        ),
        prediction=True,
    ),
)
