"""Quizzes of notebook 05, A2C."""

from pgcourse.quiz import Question

QUESTIONS = (
    Question(
        r"A loss on $V$ alone is backpropagated through an actor-critic with a <b>shared trunk</b>. Which parameters "
        r"receive a gradient?",
        (
            r"Only the value head.",
            r"The value head and the shared trunk (the actor's features).",
            r"Every parameter, including the policy head.",
        ),
        1,
        (
            r"That is the case of separate networks. With a shared trunk, $V$ is computed from the trunk's features.",
            r"Right (autograd showed it): the value loss moves the features the actor uses. That is why, with a shared trunk, "
            r"$c_v$ sets the mix of the two losses in the trunk's gradient (under Adam, not the step's length).",
            r"The policy head's output does not enter $V(s)$, so a loss on $V$ alone sends it no gradient.",
        ),
    ),
    Question(
        r"Predict, then run: the same 15 000-step budget and 64 transitions per update, as 1 environment × 64 steps or "
        r"as 8 environments × 8 steps. What will the run show?",
        (
            r"8 environments learn much more per environment step.",
            r"A similar pace per environment step, and the 8 environments several times faster in CPU time.",
            r"8 environments take about 8 times the CPU time: they run 8 simulations.",
        ),
        1,
        (
            r"The updates are the same size and equally many, so per step the two learn at a similar pace (one seed: "
            r"read the curves loosely). Less correlated batches are often named as a further benefit; the notebook "
            r"does not measure it.",
            r"Right: the notebook asserts a speed-up above 2 in CPU time. A vectorised step of 8 CartPoles and one "
            r"batched forward pass cost far less than 8 separate ones.",
            r"CartPole's vector environment advances all copies in one numpy call, and the policy acts on all 8 "
            r"observations in one forward pass: the cost per transition falls.",
        ),
        prediction=True,
    ),
)
