"""Returns, TD errors and GAE against hand-computed values and their closed-form limits."""

import numpy as np
import pytest
import torch

from pgcourse import discounted_returns, gae, normalize, td_errors


def test_discounted_returns_hand_computed():
    g = discounted_returns([1.0, 2.0, 3.0], gamma=0.5)
    # G_2 = 3, G_1 = 2 + 0.5*3 = 3.5, G_0 = 1 + 0.5*3.5 = 2.75
    assert torch.allclose(g, torch.tensor([2.75, 3.5, 3.0]))
    assert g.dtype == torch.float32


def test_discounted_returns_cut_at_episode_ends():
    g = discounted_returns([1.0, 1.0, 1.0, 1.0], gamma=1.0, episode_ends=[0, 1, 0, 0])
    assert g.tolist() == [2.0, 1.0, 2.0, 1.0]


def test_discounted_returns_gamma_limits():
    r = np.array([1.0, 2.0, 3.0])
    assert discounted_returns(r, 0.0).tolist() == [1.0, 2.0, 3.0]
    assert discounted_returns(r, 1.0).tolist() == [6.0, 5.0, 3.0]


def test_discounted_returns_vector_env_equals_columns():
    rng = np.random.default_rng(0)
    r = rng.normal(size=(7, 3))
    ends = rng.random((7, 3)) < 0.3
    both = discounted_returns(r, 0.9, ends)
    for n in range(3):
        assert torch.allclose(both[:, n], discounted_returns(r[:, n], 0.9, ends[:, n]))


@pytest.mark.parametrize("gamma", [-0.1, 1.5, float("nan")])
def test_discounted_returns_rejects_bad_gamma(gamma):
    with pytest.raises(ValueError, match="gamma"):
        discounted_returns([1.0], gamma)


def test_bad_inputs_have_clear_messages():
    with pytest.raises(ValueError, match="rewards is empty"):
        discounted_returns([], 0.9)
    with pytest.raises(ValueError, match="rewards contains NaN"):
        discounted_returns([1.0, float("nan")], 0.9)
    with pytest.raises(ValueError, match=r"episode_ends has shape \(2,\) but rewards has shape \(3,\)"):
        discounted_returns([1.0, 2.0, 3.0], 0.9, episode_ends=[0, 1])
    with pytest.raises(ValueError, match=r"shape \(T,\) or \(T, N\)"):
        discounted_returns(np.ones((2, 2, 2)), 0.9)


def test_normalize():
    x = normalize(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    assert abs(float(x.mean())) < 1e-6
    assert abs(float(x.std()) - 1.0) < 1e-5
    # over *all* elements of a (T, N) array, not per column
    y = normalize(np.array([[0.0, 10.0], [2.0, 12.0]]))
    assert abs(float(y.mean())) < 1e-6 and float(y[0, 1]) > 0


def test_normalize_with_mask_ignores_masked_rows():
    x = torch.tensor([1.0, 2.0, 3.0, 1000.0])
    m = torch.tensor([1.0, 1.0, 1.0, 0.0])
    y = normalize(x, mask=m)
    assert torch.allclose(y[:3], normalize(x[:3]))
    assert y[3] == 0


def test_td_errors_hand_computed():
    d = td_errors([1.0, 1.0], values=[0.5, 0.5], next_values=[2.0, 2.0], terminated=[0, 1], gamma=0.9)
    assert torch.allclose(d, torch.tensor([1.0 + 1.8 - 0.5, 1.0 - 0.5]))


def test_gae_hand_computed():
    r, v, nv = [1.0, 1.0, 1.0], [0.5, 0.4, 0.3], [0.4, 0.3, 0.2]
    adv, ret = gae(r, v, nv, terminated=[0, 0, 1], truncated=None, gamma=0.9, lam=0.5)
    d2 = 1.0 - 0.3
    d1 = 1.0 + 0.9 * 0.3 - 0.4
    d0 = 1.0 + 0.9 * 0.4 - 0.5
    a2 = d2
    a1 = d1 + 0.45 * a2
    a0 = d0 + 0.45 * a1
    assert torch.allclose(adv, torch.tensor([a0, a1, a2]))
    assert torch.allclose(ret, adv + torch.tensor(v))


def _random_case(seed, T=12, N=None):
    rng = np.random.default_rng(seed)
    shape = (T,) if N is None else (T, N)
    r, v, nv = rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape)
    term = (rng.random(shape) < 0.15).astype(float)
    trunc = ((rng.random(shape) < 0.15) & (term == 0)).astype(float)
    return r, v, nv, term, trunc


def test_gae_lambda_zero_is_td_error():
    r, v, nv, term, trunc = _random_case(1)
    adv, _ = gae(r, v, nv, term, trunc, gamma=0.97, lam=0.0)
    assert torch.allclose(adv, td_errors(r, v, nv, term, 0.97), atol=1e-6)


def test_gae_lambda_one_is_return_minus_value():
    """λ=1 on one continuous stretch: A_t = G_t - V(s_t), where G bootstraps from V at the end."""
    r, v, nv, _, _ = _random_case(2)
    T = len(r)
    # a consistent trajectory: next_values[t] = values[t+1]; terminated at the end
    nv = np.append(v[1:], 0.0)
    term = np.zeros(T)
    term[-1] = 1
    adv, ret = gae(r, v, nv, term, None, gamma=0.9, lam=1.0)
    G = discounted_returns(r, 0.9)
    assert torch.allclose(adv, G - torch.tensor(v, dtype=torch.float32), atol=1e-5)
    assert torch.allclose(ret, G, atol=1e-5)


def test_gae_truncation_bootstraps_termination_does_not():
    r, v, nv = [1.0, 1.0], [0.0, 0.0], [10.0, 10.0]
    adv_trunc, _ = gae(r, v, nv, terminated=[0, 0], truncated=[1, 0], gamma=1.0, lam=1.0)
    adv_term, _ = gae(r, v, nv, terminated=[1, 0], truncated=[0, 0], gamma=1.0, lam=1.0)
    assert adv_trunc[0] == 11.0  # bootstrap from the final observation's value ...
    assert adv_term[0] == 1.0  # ... but a terminal state has no future
    # neither leaks the next episode's advantage (A_1 = 11) back into step 0
    assert adv_trunc[1] == adv_term[1] == 11.0


def test_gae_vector_env_equals_separate_columns():
    r, v, nv, term, trunc = _random_case(3, T=9, N=4)
    adv, ret = gae(r, v, nv, term, trunc, 0.99, 0.95)
    for n in range(4):
        a_n, r_n = gae(r[:, n], v[:, n], nv[:, n], term[:, n], trunc[:, n], 0.99, 0.95)
        assert torch.allclose(adv[:, n], a_n) and torch.allclose(ret[:, n], r_n)


def test_gae_accepts_torch_and_numpy_alike():
    r, v, nv, term, trunc = _random_case(4)
    a_np, _ = gae(r, v, nv, term, trunc, 0.99, 0.95)
    a_t, _ = gae(*(torch.tensor(x) for x in (r, v, nv, term, trunc)), 0.99, 0.95)
    assert torch.equal(a_np, a_t)


@pytest.mark.parametrize("lam", [-0.5, 1.01])
def test_gae_rejects_bad_lambda(lam):
    with pytest.raises(ValueError, match=rf"lam={lam} is outside the allowed range \[0, 1\]"):
        gae([1.0], [0.0], [0.0], None, None, 0.9, lam)


def test_gae_rejects_mismatched_shapes_and_bad_masks():
    with pytest.raises(ValueError, match="values has shape"):
        gae([1.0, 1.0], [0.0], [0.0, 0.0], None, None, 0.9, 0.9)
    with pytest.raises(ValueError, match="terminated must contain only 0/1"):
        gae([1.0], [0.0], [0.0], [0.5], None, 0.9, 0.9)


def test_n_step_advantages_hand_computed_and_limits():
    """Â^(n) = Σ_{k<n} γ^k r_{t+k} + γ^n V(s_{t+n}) - V(s_t), cut at episode ends; n = 1 is δ, large n is G - V."""
    from pgcourse import n_step_advantages

    r = torch.tensor([1.0, 0.0, 2.0, 0.0, 1.0])
    v = torch.tensor([0.5, 1.0, 1.5, 0.2, 0.8])
    nv = torch.tensor([1.0, 1.5, 0.2, 0.8, 0.0])
    term = torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0])
    g = 0.9
    a2 = n_step_advantages(r, v, nv, term, None, g, 2)
    # t = 0: r0 + γ r1 + γ² V(s2) - V(s0); t = 3: r3 + γ r4 (s5 terminal) - V(s3); t = 4: r4 - V(s4)
    assert a2[0].item() == pytest.approx(1.0 + g * 0.0 + g**2 * 1.5 - 0.5)
    assert a2[3].item() == pytest.approx(0.0 + g * 1.0 - 0.2)
    assert a2[4].item() == pytest.approx(1.0 - 0.8)
    assert torch.allclose(n_step_advantages(r, v, nv, term, None, g, 1), td_errors(r, v, nv, term, g))
    assert torch.allclose(n_step_advantages(r, v, nv, term, None, g, 50), discounted_returns(r, g) - v)


def test_gae_is_the_lambda_weighted_mean_of_n_step_advantages():
    """Σ_n w_n Â^(n) = GAE(γ, λ), with the weights (1-λ)λ^{n-1} (the tail in the last), also across episode ends."""
    from pgcourse import lambda_weights, n_step_advantages

    rng = np.random.default_rng(0)
    T = 9
    r, v, nv = (torch.tensor(rng.normal(size=T), dtype=torch.float32) for _ in range(3))
    term = torch.zeros(T)
    term[3] = 1.0
    trunc = torch.zeros(T)
    trunc[6] = 1.0
    for lam in (0.0, 0.3, 0.95, 1.0):
        w = lambda_weights(lam, T)
        assert w.sum().item() == pytest.approx(1.0)
        mix = sum(w[n - 1] * n_step_advantages(r, v, nv, term, trunc, 0.9, n) for n in range(1, T + 1))
        adv, _ = gae(r, v, nv, term, trunc, 0.9, lam)
        assert torch.allclose(mix, adv, atol=1e-5), lam
    # nothing crosses a boundary: the 5-step advantage at t = 2 stops after step 3 (terminated)
    a5 = n_step_advantages(r, v, nv, term, trunc, 0.9, 5)
    delta = td_errors(r, v, nv, term, 0.9)
    assert a5[2].item() == pytest.approx((delta[2] + 0.9 * delta[3]).item(), abs=1e-6)


@pytest.mark.parametrize("n", [0, -1, 1.5, True])
def test_n_step_advantages_rejects_bad_n(n):
    from pgcourse import lambda_weights, n_step_advantages

    with pytest.raises(ValueError, match="outside the allowed range"):
        n_step_advantages([1.0], [0.0], [0.0], None, None, 0.9, n)
    with pytest.raises(ValueError, match="outside the allowed range"):
        lambda_weights(0.5, n)
