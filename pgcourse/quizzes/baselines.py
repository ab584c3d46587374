"""Quizzes of notebook 03, baselines."""

from pgcourse.quiz import Question

QUESTIONS = (
    Question(
        r"Predict, then look at the figure: on the same 4000 episodes, how does the variance of the gradient "
        r"estimate with the baseline $b = V$ ($\beta = 1$) compare with no baseline ($\beta = 0$)?",
        (
            r"The same: a baseline does not change the expected gradient, so it cannot change its variance.",
            r"Much smaller: about four times smaller.",
            r"Larger: subtracting $V(s_t)$ adds noise.",
            r"Zero: with the true $V$, every $\hat g_i$ equals the exact gradient.",
        ),
        1,
        (
            r"The mean is unchanged — the variance is not: $\mathrm{Var}(\beta)$ is a parabola in $\beta$.",
            r"Right: the notebook measures the ratio of the two variances and asserts it lies between 3.5 and 5 "
            r"(about four times smaller).",
            r"Here $V$ is exact, and subtracting it removes the part of $G_t$ that the state already predicts: "
            r"the variance falls.",
            r"No: $G_t - V(s_t)$ still varies with the sampled actions and transitions; the variance is reduced, not removed.",
        ),
        prediction=True,
    ),
    Question(
        r"Predict, then move the slider: the closed-form $\beta^*$ printed above is below 1. Set $\beta = 1.5$. "
        r"Compared with $\beta = 1$, the variance is",
        (
            r"lower: a bigger baseline removes more of the return.",
            r"higher: past $\beta^*$ the baseline over-corrects.",
            r"the same: every $\beta$ gives the same expected gradient.",
        ),
        1,
        (
            r"No: $\mathrm{Var}(\beta)$ is a parabola with its minimum at $\beta^*$; beyond it, more baseline adds variance.",
            r"Right: the parabola rises on both sides of $\beta^*$, and $\beta = 1.5$ is farther from $\beta^*$ than $\beta = 1$.",
            r"The expected gradient is the same for every $\beta$; the variance is not (the black dot moves).",
        ),
        prediction=True,
    ),
    Question(
        r"Predict, then run: REINFORCE with and without a learned value baseline (no normalisation in either), "
        r"200 episodes, 10 seeds. What will the average return over the run show?",
        (
            r"The same for both: the baseline leaves the expected gradient unchanged.",
            r"Higher with the baseline.",
            r"Higher without: the baseline network must first be learned and misleads the policy meanwhile.",
        ),
        1,
        (
            r"Same expectation, but lower variance: less noisy steps learn faster.",
            r"Right: over 10 seeds the notebook asserts that the 95% interval of the difference (baseline minus raw "
            r"returns) lies above 0, for the average return and for the return at the end.",
            r"The measurement says otherwise (the assert after the plot). A baseline that depends only on the state "
            r"does not bias the gradient, so an imperfect $V_\phi$ costs at most part of the variance reduction.",
        ),
        prediction=True,
    ),
)
