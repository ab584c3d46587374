"""Quizzes of notebook 09, diagnostics."""

from pgcourse.quiz import Question

QUESTIONS = (
    Question(
        r"Which of these are warning signs, on the dangerous side of their range?",
        (
            r"An approx KL well above 0.05 over several updates.",
            r"An approx KL near 0 late in a run whose learning rate anneals to 0.",
            r"Explained variance below 0 while the critic's loss stays high.",
            r"Entropy falling slowly while the return rises.",
        ),
        {0, 2},
        (
            r"True: updates too large — the policy moves far from $\pi_{old}$, where the surrogate is a poor model.",
            r"Not a problem: the steps shrink with the learning rate, as they should (the healthy run shows it).",
            r"True: value-function lag — the critic does not predict its targets and is not learning.",
            r"Healthy: the policy should become surer as it learns; only an <i>early</i> collapse is a problem.",
        ),
    ),
    Question(
        r"Predict, then look at the histograms: a policy move of $\delta = 0.3$ (KL 0.045), batches of $B = 16$ "
        r"actions. Which will they show?",
        (
            r"k3 is several times less noisy than k1, and k1 is negative in a good share of batches.",
            r"Both are equally noisy: they have the same expectation.",
            r"k1 is less noisy: k3 adds an extra term.",
            r"k3 is biased: it adds $r - 1$ to every term.",
        ),
        0,
        (
            r"Right (asserted: k1's std is more than 4 times k3's, and k1 is negative in over 20 % of the batches).",
            r"Same mean, different spread: near $r = 1$ the two terms of k3 almost cancel, $\approx \tfrac12 (\log r)^2$.",
            r"The extra term $r - 1$ is anti-correlated with $-\log r$ and cancels most of its noise — for small moves.",
            r"$\mathbb{E}_{\pi_{old}}[r - 1] = 0$, so the added term has mean zero: k3 is unbiased.",
        ),
        prediction=True,
    ),
    Question(
        r"Predict, then run: the tuned CartPole PPO with advantages normalised per minibatch, per batch, or not at "
        r"all, 6 seeds each. What will the data say?",
        (
            r"Only per-minibatch normalisation solves CartPole reliably.",
            r"All three solve on every seed, with differences within seed noise.",
            r"Without normalisation PPO fails: the step size depends on the reward scale.",
        ),
        1,
        (
            r"The folklore's strong form: the data rule it out here — all three solve on every seed.",
            r"Right (asserted): every variant solves on all 6 seeds, and every 95% interval of the difference in "
            r"steps to 475 contains 0, so these seeds cannot rank them.",
            r"The raw variant solves on every seed too (asserted): on this task the folklore's reason does not bite.",
        ),
        prediction=True,
    ),
)
