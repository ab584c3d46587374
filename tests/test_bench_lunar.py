"""The LunarLander benchmark's book-keeping: where a mark is first reached, and evaluation time kept out."""

import numpy as np
from repo_scripts import load_script

bench = load_script("benchmarks/bench_lunar.py")


def test_first_running_mean_needs_a_full_window_of_20_at_200():
    returns = np.r_[np.full(9, 300.0), np.full(20, 100.0), np.full(30, 250.0)]
    steps = np.arange(len(returns)) * 100.0
    times = np.arange(len(returns)) * 0.5
    step, t = bench._first_running_mean(returns, steps, times)
    # the first 9 episodes average 300 but are not a window of 20; the mean of the last 20 reaches 200 only
    # once enough 250s have replaced the 100s
    c = [np.mean(returns[max(i - 19, 0) : i + 1]) for i in range(len(returns))]
    first = next(i for i in range(19, len(returns)) if c[i] >= 200)
    assert (step, t) == (steps[first], times[first]) and first > 19
    assert bench._first_running_mean(np.full(30, 199.0), steps[:30], times[:30]) == (np.inf, np.inf)


def test_evaluation_seconds_count_only_after_the_evaluation():
    class Ev:
        evals = [{"env_steps": 100.0, "seconds": 2.0}, {"env_steps": 300.0, "seconds": 3.0}]

    spent = bench._eval_seconds_before(Ev, np.array([100.0, 200.0, 300.0, 400.0]))
    assert spent.tolist() == [0.0, 2.0, 2.0, 5.0]


def test_table_says_never_and_counts_landings():
    inf = np.inf
    runs = [
        bench.Run("ours", "LunarLander-v3", 0, 1e5, 10.0, 1.2e5, 12.0, 250.0, 20.0, 5e5, 50.0),
        bench.Run("ours", "LunarLander-v3", 1, inf, inf, inf, inf, 150.0, 30.0, 5e5, 51.0),
        bench.Run("SB3 PPO", "LunarLander-v3", 0, 7e5, 300.0, 6e5, 280.0, 230.0, 10.0, 7e5, 300.0),
    ]
    out = bench.table(runs)
    assert "| ours | 1 | never | never | never | never | 150.0 ± 30.0 | 120.0 |" in out
    assert "(1/2 end eval >= 200)" in out and "(1/1 end eval >= 200)" in out
    assert "ours / SB3 = " in out
