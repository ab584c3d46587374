"""Quizzes of notebook 01, the policy gradient theorem."""

from pgcourse.quiz import Question

QUESTIONS = (
    Question(
        r"The score-function estimate $\nabla_\theta J = \mathbb{E}_\tau[\nabla_\theta \log p_\theta(\tau)\, R(\tau)]$ needs no "
        r"model of the environment. Why?",
        (
            r"$\log p_\theta(\tau)$ is a sum, and only its terms $\log \pi_\theta(a_t \mid s_t)$ depend on $\theta$.",
            r"Because the corridor's moves are deterministic.",
            r"Because the rewards do not depend on $\theta$.",
            r"Because the return $R(\tau)$ is replaced by the reward-to-go $G_t$.",
        ),
        0,
        (
            r"Right. $\log p_\theta(\tau) = \log \mu(s_0) + \sum_t \log \pi_\theta(a_t \mid s_t) + \sum_t \log P(s_{t+1} \mid s_t, a_t)$: "
            r"the first and last sums contain no $\theta$, so their gradient is zero, whatever the dynamics $P$ are.",
            r"No: on the corridor a move goes the wrong way with probability 0.1. The argument holds for any "
            r"dynamics, random or not, because $\log P$ does not contain $\theta$.",
            r"True but not the reason: the <i>distribution</i> of trajectories depends on $\theta$ through the policy "
            r"and, via the states visited, on the dynamics. What removes $P$ is that $\nabla_\theta \log P(s_{t+1} \mid s_t, a_t) = 0$.",
            r"No: the reward-to-go comes later (causality) and reduces variance. The dynamics already drop out "
            r"with the full return $R(\tau)$.",
        ),
    ),
    Question(
        r"Predict, then move the slider: each step of the slider <b>doubles</b> the number of episodes $N$. By about "
        r"what factor does each step shrink the error of the Monte Carlo estimate?",
        (r"$1/2$", r"$1/\sqrt 2 \approx 0.71$", r"$1/4$", r"It does not shrink: the estimate is unbiased for every $N$."),
        1,
        (
            r"That would be an error $\propto 1/N$. The estimate is an average of $N$ independent $\hat g_i$, so its "
            r"standard error is $\sigma/\sqrt N$.",
            r"Right: the error is $\sigma/\sqrt N$, and doubling $N$ divides it by $\sqrt 2$. Four times the episodes "
            r"halve the error — the slope $-1/2$ on the log–log plot.",
            r"That would be an error $\propto 1/N^2$. Averaging $N$ independent estimates divides the <i>variance</i> "
            r"by $N$, hence the error by $\sqrt N$.",
            r"Unbiased means right <i>on average</i>; a single estimate from few episodes is still far off (with 4 "
            r"episodes the error exceeds the gradient itself). Its spread shrinks like $1/\sqrt N$.",
        ),
        prediction=True,
    ),
)
