"""Quizzes of notebook 02, REINFORCE."""

from pgcourse.quiz import Question

QUESTIONS = (
    Question(
        r"Predict, then move the slider: CartPole pays $r_t = 1$ per step. At $\gamma = 0.5$, how do $G_0$ of a "
        r"15-step episode and of a 40-step episode compare?",
        (
            r"About 15 and 40: $G_0$ counts the steps.",
            r"Both are about 2.",
            r"Both are exactly 1.",
            r"Both are about 10.",
        ),
        1,
        (
            r"That is $\gamma = 1$, the undiscounted sum. At $\gamma = 0.5$ a reward $k$ steps ahead counts $0.5^k$.",
            r"Right: $G_0 = \sum_{k \lt L} 0.5^k = 2\,(1 - 0.5^L)$, within $10^{-4}$ of $1/(1-\gamma) = 2$ for both lengths. "
            r"At $\gamma = 0.5$ a long episode does not look better than a short one.",
            r"That is $\gamma = 0$: only the immediate reward counts.",
            r"That is the horizon of $\gamma = 0.9$, $1/(1-\gamma) = 10$. At $\gamma = 0.5$ it is 2.",
        ),
        prediction=True,
    ),
    Question(
        r"Return normalisation $w_t = (G_t - \mathrm{mean}(G)) / (\mathrm{std}(G) + \epsilon)$ over the batch: which "
        r"statements are true?",
        (
            r"Multiplying every reward by $c \gt 0$ leaves the weights $w_t$ unchanged.",
            r"It is a baseline $b(s_t)$, so the gradient estimate stays unbiased.",
            r"The same episode's actions can be pushed up in one batch and down in another.",
            r"Normalising each episode on its own makes a 500-step success and a 10-step failure push the policy "
            r"equally hard.",
        ),
        {0, 2, 3},
        (
            r"True: $G_t$ scales by $c$, and so do its mean and standard deviation (checked above for $c = 0.01$ "
            r"and $c = 100$). That is the scale invariance.",
            r"False: using the other episodes of the batch would be fine (a leave-one-out mean is a valid, unbiased "
            r"baseline). But each episode is inside its own batch mean, an $O(1/N)$ bias the notebook measures; the "
            r"division by the batch's std depends on the data too; and one number for every time step is not $b(s_t)$.",
            r"True: the 20-step episode's early steps got positive weights next to a 10-step episode, and all its "
            r"steps negative ones next to a 60-step episode (checked above).",
            r"True: each episode's weights then sum to zero whatever its length, so only the order of steps "
            r"within an episode is left as a signal.",
        ),
    ),
    Question(
        r"Predict, then run: the ablation's first step adds a learned value baseline $V_\phi$ to plain REINFORCE "
        r"(nothing else changes; 6 seeds, 150 episodes each). What will the 95% interval of the change in mean "
        r"return show?",
        (
            r"It lies above 0: the baseline clearly helps.",
            r"It contains 0: a baseline leaves the expected gradient unchanged, so it cannot change learning.",
            r"It lies below 0: the critic starts random and misleads the policy until it has learned.",
        ),
        0,
        (
            r"Right (asserted under the table): same expected gradient, much lower variance — and with CartPole's "
            r"all-positive returns, plain REINFORCE pushes up every action it took.",
            r"Unbiased is not the same as equally good: the variance sets how noisy each step is, and noisier steps "
            r"learn slower at the same learning rate.",
            r"A baseline that depends only on the state does not bias the gradient even while it is wrong; an "
            r"imperfect $V_\phi$ costs at most part of the variance reduction. The measurement agrees.",
        ),
        prediction=True,
    ),
)
