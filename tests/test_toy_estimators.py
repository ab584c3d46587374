"""Estimator properties on the corridor: data-dependent scalar baselines, practical REINFORCE's bias, the SNR."""

import numpy as np
import pytest

from pgcourse.toy import DEFAULT_THETA, corridor_mdp, cosine, course_mdp, relative_projection, signal_to_noise

THETA = DEFAULT_THETA


@pytest.fixture(scope="module")
def study():
    mdp = course_mdp()
    return mdp, mdp.sample(THETA, 24_000, seed=0)


def _projection(mdp, estimates):
    """E[ĝ] projected on the exact gradient, in units of it (1 = unbiased), with its standard error."""
    return relative_projection(estimates, mdp.exact_gradient(THETA))


def test_batch_mean_baseline_is_biased_by_order_one_over_n_and_leave_one_out_is_not(study):
    mdp, traj = study
    bias = {}
    for n in (2, 8):
        mean, se = _projection(mdp, mdp.batch_baseline_gradients(THETA, traj, n, "mean"))
        loo, se_loo = _projection(mdp, mdp.batch_baseline_gradients(THETA, traj, n, "leave_one_out"))
        assert abs(loo - 1) < 4 * se_loo  # unbiased
        assert 1 - mean > 8 * se  # biased: the sample is part of its own baseline
        bias[n] = 1 - mean
    assert 2.5 < bias[2] / bias[8] < 6  # shrinks about like 1/N (4x from N = 2 to 8)


def test_none_baseline_is_the_plain_mean_and_scale_divides_by_the_batch_std(study):
    mdp, traj = study
    plain = mdp.batch_baseline_gradients(THETA, traj, 4, "none")
    assert np.allclose(plain, mdp.mc_gradients(THETA, traj)[: len(plain) * 4].reshape(-1, 4, 4, 2).mean(1))
    first = traj.valid[:4]
    G = mdp.returns_to_go(traj)[:4][first]
    scaled = mdp.batch_baseline_gradients(THETA, traj, 4, "mean", scale=True)[0]
    unscaled = mdp.batch_baseline_gradients(THETA, traj, 4, "mean")[0]
    assert np.allclose(scaled, unscaled / (G.std(ddof=1) + 1e-8))


@pytest.mark.parametrize(
    "kwargs, message",
    [({"batch_size": 0}, r"batch_size=0 is outside"), ({"batch_size": 1, "baseline": "leave_one_out"}, r"\[2, "),
     ({"batch_size": 2, "baseline": "median"}, r"baseline='median' is not allowed")],
)
def test_batch_baseline_gradients_rejects_bad_input(study, kwargs, message):
    mdp, traj = study
    with pytest.raises(ValueError, match=message):
        mdp.batch_baseline_gradients(THETA, traj, **kwargs)


@pytest.mark.parametrize("gamma", [0.5, 0.9])
def test_practical_gradient_is_the_mean_of_the_estimator_without_gamma_t(gamma):
    mdp = corridor_mdp(gamma=gamma)
    g = mdp.mc_gradients(THETA, mdp.sample(THETA, 40_000, seed=1), discount_steps=False)
    se = g.std(0, ddof=1) / np.sqrt(len(g))
    assert np.all(np.abs(g.mean(0) - mdp.practical_gradient(THETA)) < 4.5 * se + 1e-12)


def test_practical_gradient_is_biased_for_the_undiscounted_objective_unless_gamma_is_one():
    target = corridor_mdp(gamma=1.0).exact_gradient(THETA)
    assert np.allclose(corridor_mdp(gamma=1.0).practical_gradient(THETA), target)
    cos = [cosine(corridor_mdp(gamma=g).practical_gradient(THETA), target) for g in (0.5, 0.9, 0.99)]
    assert cos[0] < 0.9 and np.all(np.diff(cos) > 0)


def test_signal_to_noise_is_scale_free_and_checks_its_input():
    rng = np.random.default_rng(0)
    g = rng.normal(1.0, 2.0, size=(500, 3))
    assert signal_to_noise(10 * g) == pytest.approx(signal_to_noise(g))
    assert signal_to_noise(g) == pytest.approx(np.sqrt(3) / np.sqrt(12), rel=0.15)  # ‖(1,1,1)‖ / √(3·4)
    with pytest.raises(ValueError, match="at least 2 samples"):
        signal_to_noise(g[:1])
    assert cosine(np.array([1.0, 0.0]), np.array([2.0, 0.0])) == pytest.approx(1.0)
    est = np.array([[2.0, 0.0], [4.0, 2.0]])
    assert relative_projection(est, np.array([2.0, 0.0])) == pytest.approx((1.5, 0.5))
