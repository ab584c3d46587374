"""The toy MDP and bandit: exact quantities by linear algebra, Monte Carlo agrees with them."""

import numpy as np
import pytest

from pgcourse.toy import Bandit, TabularMDP, corridor_mdp, softmax_policy

THETA = np.array([[0.3, -0.2], [0.0, 0.5], [-0.4, 0.1], [0.2, 0.2]])


def _finite_difference(f, theta, h=1e-5):
    g = np.zeros_like(theta)
    for idx in np.ndindex(theta.shape):
        e = np.zeros_like(theta)
        e[idx] = h
        g[idx] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_exact_gradient_matches_finite_differences(gamma):
    mdp = corridor_mdp(gamma=gamma)
    fd = _finite_difference(mdp.objective, THETA)
    assert np.allclose(mdp.exact_gradient(THETA), fd, atol=1e-7)


def test_values_satisfy_bellman_and_advantages_average_to_zero():
    mdp = corridor_mdp(gamma=0.95)
    V, Q, A = mdp.values(THETA), mdp.q_values(THETA), mdp.advantages(THETA)
    pi = mdp.policy(THETA)
    assert np.allclose((pi * Q).sum(1), V)
    assert np.allclose((pi * A).sum(1), 0)


def test_sampled_returns_match_exact_value():
    mdp = corridor_mdp(gamma=0.95)
    traj = mdp.sample(THETA, 20_000, seed=0)
    G0 = mdp.returns_to_go(traj)[:, 0]
    assert G0.mean() == pytest.approx(mdp.objective(THETA), abs=4 * G0.std() / np.sqrt(traj.n))


@pytest.mark.parametrize("gamma", [1.0, 0.9])
def test_monte_carlo_gradient_agrees_with_exact(gamma):
    mdp = corridor_mdp(gamma=gamma)
    exact = mdp.exact_gradient(THETA)
    g = mdp.mc_gradients(THETA, mdp.sample(THETA, 40_000, seed=1))
    stderr = g.std(0) / np.sqrt(g.shape[0])
    assert np.all(np.abs(g.mean(0) - exact) < 4 * stderr + 1e-9)
    assert np.linalg.norm(g.mean(0) - exact) < 0.05 * np.linalg.norm(exact) + 4 * np.linalg.norm(stderr)


def test_monte_carlo_error_shrinks_like_one_over_sqrt_n():
    mdp = corridor_mdp()
    exact = mdp.exact_gradient(THETA)
    g = mdp.mc_gradients(THETA, mdp.sample(THETA, 64_000, seed=2))
    rmse = {}
    for n in (250, 4000):
        batches = g[: (g.shape[0] // n) * n].reshape(-1, n, *exact.shape).mean(1)
        rmse[n] = np.sqrt(((batches - exact) ** 2).sum((1, 2)).mean())
    # 16x more samples -> ~4x smaller error
    assert rmse[250] / rmse[4000] == pytest.approx(4.0, rel=0.3)


def test_state_baseline_leaves_the_mean_unchanged_exactly():
    """E[grad log pi(a|s) b(s)] = 0: the exact expectation of the baseline term vanishes."""
    mdp = corridor_mdp()
    pi, d = mdp.policy(THETA), mdp.visitation(THETA)
    b = np.array([1.0, -2.0, 0.5, 3.0])
    # for the softmax table: E_a[(e_a - pi) b(s)] = (pi - pi) b(s) = 0, weighted by d(s)
    term = d[:, None] * (pi - pi * pi.sum(1, keepdims=True)) * b[:, None]
    assert np.allclose(term, 0)
    g_b = mdp.mc_gradients(THETA, mdp.sample(THETA, 20_000, seed=3), baseline=b).mean(0)
    g_0 = mdp.mc_gradients(THETA, mdp.sample(THETA, 20_000, seed=3)).mean(0)
    assert np.abs(g_b - g_0).max() < 0.05


def _expected_reward_corridor(slip: float, step_reward: float) -> np.ndarray:
    """The corridor's expected reward table R(s, a), written out by hand: only cell 3 can exit."""
    R = np.full((4, 2), step_reward)
    R[3, 1] += 1 - slip  # "right" in cell 3 leaves with probability 1 - slip
    R[3, 0] += slip  # "left" in cell 3 slips right, out, with probability slip
    return R


@pytest.mark.parametrize("kwargs", [{}, {"gamma": 0.9, "slip": 0.1, "step_reward": 0.0}, {"gamma": 1.0, "slip": 0.3}])
def test_transition_rewards_leave_the_exact_solution_unchanged(kwargs):
    """Exact V, Q, J and the gradient depend on the reward only through its expectation R(s, a)."""
    mdp = corridor_mdp(**kwargs)
    slip, step = kwargs.get("slip", 0.1), kwargs.get("step_reward", -0.05)
    assert mdp.transition_rewards.shape == (4, 2, 5)
    assert np.allclose(mdp.R, _expected_reward_corridor(slip, step), atol=1e-15)
    expected = TabularMDP(mdp.P, _expected_reward_corridor(slip, step), mdp.mu, mdp.gamma)  # the old (S, A) form
    for f in ("values", "q_values", "advantages", "exact_gradient", "objective"):
        assert np.allclose(getattr(mdp, f)(THETA), getattr(expected, f)(THETA), rtol=0, atol=1e-13), f


def test_course_corridor_exact_values_are_pinned():
    """The course corridor's exact J and gradient at DEFAULT_THETA, as computed before transition rewards."""
    from pgcourse.toy import DEFAULT_THETA, course_mdp

    mdp = course_mdp()
    assert mdp.objective(DEFAULT_THETA) == pytest.approx(0.4003186955, abs=1e-9)
    pinned = [0.0330051, 0.06695907, 0.07262414, 0.05643255]
    assert np.allclose(mdp.exact_gradient(DEFAULT_THETA)[:, 1], pinned, atol=1e-8)


def test_sampled_reward_is_that_of_the_realised_transition():
    """+1 only on the step that actually leaves on the right; a slip back from cell 3 pays the step reward only."""
    mdp = corridor_mdp(gamma=0.9, slip=0.3, step_reward=-0.05)
    traj = mdp.sample(THETA, 4000, seed=5)
    v, s, a, s2, r = traj.valid, traj.states, traj.actions, traj.next_states, traj.rewards
    exits = v & (s2 == -1)
    assert np.all(exits.sum(1) == 1)  # every episode ends by leaving on the right, exactly once
    assert np.allclose(r[exits], -0.05 + 1.0) and np.allclose(r[v & ~exits], -0.05)
    slipped_back = v & (s == 3) & (a == 1) & (s2 != -1)  # pressed right in the last cell, did not leave
    left_out = v & (s == 3) & (a == 0) & (s2 == -1)  # pressed left in the last cell, slipped out
    assert slipped_back.sum() > 100 and left_out.sum() > 100
    assert np.allclose(r[slipped_back], -0.05) and np.allclose(r[left_out], 0.95)
    # the undiscounted return is then the exit bonus plus the cost of every step taken
    assert np.allclose(r.sum(1), 1.0 - 0.05 * traj.lengths)


def test_transition_reward_shape_is_checked():
    P = np.zeros((2, 2, 2))
    with pytest.raises(ValueError, match=r"shape \(S, A, S \+ 1\) = \(2, 2, 3\)"):
        TabularMDP(P, np.zeros((2, 2, 2)), np.array([1.0, 0.0]), 0.9)
    with pytest.raises(ValueError, match="R must have shape"):
        TabularMDP(P, np.zeros(2), np.array([1.0, 0.0]), 0.9)


def test_sampling_is_reproducible_and_valid_mask_consistent():
    mdp = corridor_mdp()
    a, b = mdp.sample(THETA, 50, seed=7), mdp.sample(THETA, 50, seed=7)
    assert np.array_equal(a.actions, b.actions) and np.array_equal(a.rewards, b.rewards)
    assert np.all(a.lengths >= 4)  # four cells to cross
    assert np.all(a.rewards[~a.valid] == 0)
    last = a.next_states[np.arange(a.n), a.lengths - 1]
    assert np.all(last == -1)


def test_bad_inputs():
    mdp = corridor_mdp()
    with pytest.raises(ValueError, match=r"theta must have shape \(S, A\) = \(4, 2\)"):
        mdp.values(np.zeros(3))
    with pytest.raises(ValueError, match="gamma=1.2 is outside"):
        corridor_mdp(gamma=1.2)
    with pytest.raises(ValueError, match="P must have shape"):
        TabularMDP(np.zeros((2, 2, 3)), np.zeros((2, 2)), np.array([1.0, 0.0]), 0.9)


def test_bandit_exact_and_monte_carlo_gradients():
    bandit = Bandit(means=[1.0, 0.0, 0.5], stds=0.5)
    theta = np.array([0.2, -0.1, 0.0])
    fd = _finite_difference(bandit.objective, theta)
    assert np.allclose(bandit.exact_gradient(theta), fd, atol=1e-8)
    a, r = bandit.sample(theta, 100_000, seed=0)
    g = bandit.mc_gradients(theta, a, r)
    assert np.allclose(g.mean(0), bandit.exact_gradient(theta), atol=4 * g.std(0).max() / np.sqrt(len(a)))
    assert np.allclose(softmax_policy(theta).sum(), 1.0)
