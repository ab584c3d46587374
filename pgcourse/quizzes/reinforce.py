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
            r"False: the mean and std come from the sampled episodes, including the very action being weighted, "
            r"and from the other episodes of the batch — not a function of $s_t$ alone. It can be (slightly) biased.",
            r"True: the 20-step episode got positive weights next to a 10-step episode and negative ones next to a "
            r"60-step episode (checked above).",
            r"True: each episode's weights then sum to zero whatever its length, so only the order of steps "
            r"within an episode is left as a signal.",
        ),
    ),
    Question(
        r"Predict, then run: raw returns, normalised returns, and a value baseline with normalised advantages, "
        r"100 episodes each on 2 seeds. What will the average returns show?",
        (
            r"Raw returns learn fastest: normalisation throws away the size of the returns.",
            r"Both normalised variants learn faster than raw returns.",
            r"The value baseline clearly beats normalised returns.",
            r"All three are the same: none of them changes the expected gradient.",
        ),
        1,
        (
            r"No: raw CartPole returns grow from about 20 to about 100 as the agent improves, so one learning rate "
            r"cannot fit the whole run; the normalised variants keep the step size steady.",
            r"Right: both beat raw returns by more than 10 % on average (the cell after the plot asserts it).",
            r"Not at this budget: with 100 episodes and 2 seeds the two normalised variants cannot be told "
            r"apart. What separates them is what the estimate is (unbiased or not), not one short run.",
            r"Normalisation changes the step size (and slightly biases), and the speed of learning depends on "
            r"both the direction and the size of the steps — the runs differ.",
        ),
        prediction=True,
    ),
)
