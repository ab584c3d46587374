"""Quizzes of notebook 06, trust regions."""

from pgcourse.quiz import Question

QUESTIONS = (
    Question(
        r"Predict, then look at the exact curves: along the 4-episode estimate, a large step makes $J$ worse than "
        r"before. What does the surrogate $L_{\theta_{old}}$ say there?",
        (
            r"It turns negative too: it is a model of $J(\theta) - J(\theta_{old})$.",
            r"It stays $\ge 0$: it never notices the harm.",
            r"It equals the true improvement exactly, for every step size.",
        ),
        1,
        (
            r"Only near $\theta_{old}$: it has the same value and slope there, but far away it weighs the <i>old</i> "
            r"policy's states, not the ones the new policy visits.",
            r"Right (asserted): the surrogate weighs the old policy's states $d_{\theta_{old}}$, where the step still "
            r"looks good; the harm comes from the states the new policy visits, which it cannot see.",
            r"Its error is of order $\alpha^2$ (halving the step quarters it): exact only at $\alpha = 0$.",
        ),
        prediction=True,
    ),
    Question(
        r"For the course's softmax table, which statements are true?",
        (
            r"The Fisher matrix $F$ is singular: one null direction per state.",
            r"The natural gradient $F^+ g$ is $(\sum_s d(s))\,(A(s,a) - \mathrm{mean}_b A(s,b))$.",
            r"A natural-gradient step changes the policy differently if the logits are stored rescaled, $\theta = c \odot \phi$.",
            r"To second order, the mean KL of a step $\Delta$ is $\tfrac12 \Delta^\top F \Delta$.",
        ),
        {0, 1, 3},
        (
            r"True: adding the same constant to every logit of a state changes no probability (asserted: as many zero eigenvalues as states).",
            r"True: the visitation and the policy cancel; the natural gradient is the centred advantage (checked to 1e-12).",
            r"False: that is the vanilla gradient. The natural step, mapped back, gives the same policy in both "
            r"parametrisations (checked to 1e-12).",
            r"True: the KL is 0 with zero gradient at $\Delta = 0$, and its curvature there is $F$ (the ratio to "
            r"the quadratic model was checked).",
        ),
    ),
)
