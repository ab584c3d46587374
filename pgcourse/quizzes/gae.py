"""Quizzes of notebook 04, GAE."""

from pgcourse.quiz import Question

QUESTIONS = (
    Question(
        r"GAE: $\hat A_t = \sum_{k \ge 0} (\gamma\lambda)^k \delta_{t+k}$. What is it at $\lambda = 0$ and at $\lambda = 1$?",
        (
            r"$\lambda = 0$: the TD error $\delta_t$; $\lambda = 1$: $G_t - V(s_t)$.",
            r"$\lambda = 0$: $G_t - V(s_t)$; $\lambda = 1$: the TD error $\delta_t$.",
            r"$\lambda = 0$: the TD error $\delta_t$; $\lambda = 1$: the return $G_t$.",
            r"$\lambda = 0$: zero; $\lambda = 1$: the TD error $\delta_t$.",
        ),
        0,
        (
            r"Right: at $\lambda = 0$ only the $k = 0$ term is left ($0^0 = 1$); at $\lambda = 1$ the discounted TD errors "
            r"telescope to $G_t - V(s_t)$ (checked in section 4).",
            r"Swapped: $\lambda$ is the weight of the later TD errors, so $\lambda = 0$ keeps only the first one.",
            r"Almost: $G_t$ is the <i>λ-return</i> at $\lambda = 1$ (the critic's target $\hat A_t + V(s_t)$). The advantage "
            r"subtracts the baseline: $G_t - V(s_t)$.",
            r"At $\lambda = 0$ the first term survives: $(\gamma\lambda)^0 = 1$, so $\hat A_t = \delta_t$.",
        ),
    ),
    Question(
        r"Predict, then look at the figure of bias and variance against $\lambda$, for critics with RMS errors 0 to 0.4. "
        r"Which will it show?",
        (
            r"With a perfect critic, every $\lambda$ is unbiased.",
            r"With an imperfect critic, the bias is largest at $\lambda = 0$ and vanishes at $\lambda = 1$.",
            r"With a perfect critic, the variance grows with $\lambda$.",
            r"With an imperfect critic, $\lambda = 1$ is biased by the critic's error.",
        ),
        {0, 1, 2},
        (
            r"True: with the true $V$, $\delta_t$ has mean $Q(s_t, a_t) - V(s_t)$ and every later $\delta_{t+k}$ has mean "
            r"0, so their weighted sum has mean $Q - V$ for every $\lambda$.",
            r"True: $\lambda = 0$ trusts $\gamma \hat V(s_{t+1})$ completely; at $\lambda = 1$ the critic enters only as "
            r"$-\hat V(s_t)$, a baseline.",
            r"True: more sampled rewards enter the sum, each one a source of noise (asserted for the perfect critic).",
            r"False: at $\lambda = 1$ the estimate is $G_t - \hat V(s_t)$; the error $V - \hat V$ depends only on the state — "
            r"a baseline, which does not bias the policy gradient. Against $Q - \hat V$ it is unbiased for any critic.",
        ),
        prediction=True,
    ),
    Question(
        r"Predict, then move the sliders: as the critic gets <b>worse</b> (a larger error), the $\lambda$ that "
        r"minimises bias² + variance",
        (r"moves towards 1.", r"moves towards 0.", r"stays where it is."),
        0,
        (
            r"Right: a worse critic adds bias at small $\lambda$, so it pays to rely more on sampled rewards (checked "
            r"in the cell after the demo: the best $\lambda$ grows with the critic's error).",
            r"That would trust a bad critic more. Small $\lambda$ leans on $\hat V(s_{t+1})$, exactly where its error biases the estimate.",
            r"The bias term depends on the critic's error, the variance term much less, so their balance moves.",
        ),
        prediction=True,
    ),
    Question(
        r"Predict, then run: reward 1 per step, $\gamma = 0.9$, the true $V = 10$ everywhere, an episode <b>cut</b> by "
        r"a time limit after 3 steps. If the cut is treated as a termination, what is the advantage of the last step?",
        (r"$0$", r"$1 - 10 = -9$", r"$+1$", r"$1 + 0.9 \cdot 10 - 10 = 0$, as for every other step"),
        1,
        (
            r"That is the right answer for the right code (bootstrapping); the buggy code drops $\gamma V(s_{t+1})$.",
            r"Right: termination drops $\gamma V(s_{t+1})$, so $\delta = 1 - 10 = -9$: “the last state was a disaster” — "
            r"and through $\lambda$ the error leaks into earlier steps.",
            r"$+1$ would ignore both values. The advantage subtracts $V(s_t) = 10$.",
            r"That is what bootstrapping from $V(s_{\text{final}})$ gives — the correct handling of truncation, not the bug.",
        ),
        prediction=True,
    ),
)
