"""Quizzes of notebook 08, continuous control."""

from pgcourse.quiz import Question

QUESTIONS = (
    Question(
        r"A Gaussian policy sampled an action $0.5\sigma$ from its mean, and it had a positive advantage. What does "
        r"the policy-gradient step do?",
        (
            r"Pulls $\mu$ towards the action and narrows $\sigma$.",
            r"Pulls $\mu$ towards the action and widens $\sigma$.",
            r"Pushes $\mu$ away from the action.",
            r"Leaves $\sigma$ alone: it does not depend on the state, so it is not learned.",
        ),
        0,
        (
            r"Right: $\partial \log\pi / \partial \mu = (a-\mu)/\sigma^2$ points to the action, and "
            r"$\partial \log\pi / \partial \log\sigma = z^2 - 1 = 0.25 - 1 \lt 0$: σ shrinks.",
            r"That happens for an action more than one $\sigma$ away ($z^2 - 1 \gt 0$); at $z = 0.5$ it is negative.",
            r"A positive advantage makes the action more likely: $\mu$ moves towards it.",
            r"State-independent is not fixed: $\log\sigma$ is a parameter learned by the same gradient (it narrows "
            r"from 1 during training).",
        ),
    ),
    Question(
        r"Predict, then run: the old policy has $\mu = 1.8$, $\sigma = 1$; an update moves the mean to $2.3$. The buffer "
        r"stored the <b>clipped</b> torque 2 and scores it with the Gaussian density. The ratio $\pi_{new}/\pi_{old}$ it computes is",
        (
            r"about 1.47, like the true ratio of $\Pr(\text{torque} = 2)$.",
            r"about 0.98: slightly less likely.",
            r"exactly 1: the stored action did not change.",
        ),
        1,
        (
            r"1.47 is the true ratio of the point mass $\Pr(u \ge 2)$, which the density at 2 does not measure.",
            r"Right (asserted): the density at 2 barely changes when the mean passes it, though the executed torque "
            r"became 47 % more likely. The ratio even points the wrong way.",
            r"The action is the same, but the policy changed: its density at 2 is evaluated under $\mu = 2.3$.",
        ),
        prediction=True,
    ),
    Question(
        r"Predict, then run: PPO on Pendulum, three seeds. $\sigma$ starts at 1. Where will it end?",
        (
            r"Near 0: a trained policy is deterministic.",
            r"At about half: between 0.3 and 0.7.",
            r"Still at 1: it does not depend on the state.",
            r"Above 1: the swing-up needs more noise.",
        ),
        1,
        (
            r"The loss keeps no incentive to go to 0 here: the swing-up uses full torque, and samples beyond the bounds "
            r"are clipped by the environment, so a wide $\sigma$ costs little.",
            r"Right (asserted: the median final $\sigma$ is between 0.3 and 0.7, every seed below 0.8).",
            r"$\log\sigma$ is a learned parameter; state-independent means one width everywhere, not a fixed one.",
            r"It narrows: the good actions concentrate near the mean, and $z^2 - 1 \lt 0$ for them.",
        ),
        prediction=True,
    ),
)
