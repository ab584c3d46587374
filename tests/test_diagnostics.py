"""KL estimators, clip fraction, explained variance and gradient norm."""

import math

import numpy as np
import pytest
import torch
from torch.distributions import Categorical

from pgcourse import approx_kl, clip_fraction, explained_variance, grad_norm


def _two_policies():
    old = Categorical(probs=torch.tensor([0.5, 0.3, 0.2]))
    new = Categorical(probs=torch.tensor([0.3, 0.3, 0.4]))
    return old, new


@pytest.mark.parametrize("estimator", ["k1", "k3"])
def test_kl_estimators_match_exact_kl(estimator):
    old, new = _two_policies()
    exact = float(torch.distributions.kl_divergence(old, new))
    torch.manual_seed(0)
    a = old.sample((200_000,))
    est = float(approx_kl(old.log_prob(a), new.log_prob(a), estimator))
    assert est == pytest.approx(exact, rel=0.03)


def test_k3_is_never_negative_but_k1_can_be():
    old, new = _two_policies()
    torch.manual_seed(1)
    k1_negative = False
    for _ in range(200):
        a = old.sample((4,))
        lo, ln = old.log_prob(a), new.log_prob(a)
        assert float(approx_kl(lo, ln, "k3")) >= 0.0
        k1_negative |= float(approx_kl(lo, ln, "k1")) < 0
    assert k1_negative, "small-sample k1 estimates should sometimes be negative"


def test_k3_has_lower_variance_than_k1():
    old, new = _two_policies()
    torch.manual_seed(2)
    a = old.sample((2000, 16))
    lo, ln = old.log_prob(a), new.log_prob(a)
    k1 = torch.stack([approx_kl(lo[i], ln[i], "k1") for i in range(2000)])
    k3 = torch.stack([approx_kl(lo[i], ln[i], "k3") for i in range(2000)])
    assert k3.var() < k1.var()


def test_kl_is_zero_for_identical_policies_and_rejects_unknown_estimator():
    lp = torch.log(torch.tensor([0.2, 0.5]))
    assert float(approx_kl(lp, lp)) == 0.0
    with pytest.raises(ValueError, match="estimator='k2' is not supported"):
        approx_kl(lp, lp, "k2")


def test_clip_fraction():
    ratio = torch.tensor([0.7, 0.9, 1.0, 1.1, 1.3])
    assert float(clip_fraction(ratio, 0.2)) == pytest.approx(0.4)
    with pytest.raises(ValueError, match=r"clip_eps=0 is outside the allowed range \(0, inf\)"):
        clip_fraction(ratio, 0)


def test_clip_fraction_counts_both_sides_but_only_the_advantage_side_loses_its_gradient():
    """The six cases of L^CLIP: r below, inside, above the window, for A > 0 and A < 0 (ε = 0.2)."""
    from pgcourse.algorithms.ppo import clipped_surrogate_loss
    from pgcourse.diagnostics import clipped_gradient_mask

    ratio = torch.tensor([0.7, 0.7, 1.0, 1.0, 1.3, 1.3], dtype=torch.float64, requires_grad=True)
    adv = torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0, -1.0], dtype=torch.float64)
    (grad,) = torch.autograd.grad(clipped_surrogate_loss(ratio, adv, 0.2), ratio)
    off = clipped_gradient_mask(ratio.detach(), adv, 0.2)
    assert off.tolist() == [False, True, False, False, True, False]  # left the window the way Â pushes it
    assert torch.equal(grad == 0, off)  # zero gradient exactly there
    assert torch.equal(grad[~off], -adv[~off] / 6)  # the rest keep the full -Â/B, even outside the window
    assert float(clip_fraction(ratio.detach(), 0.2)) == pytest.approx(4 / 6)  # counted: |r - 1| > ε, both sides
    assert float(off.double().mean()) == pytest.approx(2 / 6)  # switched off: half of those
    with pytest.raises(ValueError, match="advantages has shape .3,.; they must match"):
        clipped_gradient_mask(ratio.detach(), adv[:3], 0.2)


def test_explained_variance_reference_points():
    g = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert float(explained_variance(g, g)) == pytest.approx(1.0)
    assert float(explained_variance(torch.full((4,), 2.5), g)) == pytest.approx(0.0)
    assert float(explained_variance(-g, g)) < 0
    assert math.isnan(float(explained_variance(np.ones(3), np.ones(3))))


def test_grad_norm_is_global_l2():
    a = torch.nn.Parameter(torch.zeros(2))
    b = torch.nn.Parameter(torch.zeros(1))
    c = torch.nn.Parameter(torch.zeros(1))  # no gradient: skipped
    (3 * a[0] + 4 * b[0]).backward()
    assert grad_norm([a, b, c]) == pytest.approx(5.0)


def test_approx_kl_along_a_dim_is_one_estimate_per_row():
    g = torch.Generator().manual_seed(3)
    old, new = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    for estimator in ("k1", "k3"):
        rows = approx_kl(old, new, estimator, dim=1)
        assert rows.shape == (5,)
        assert torch.allclose(rows, torch.stack([approx_kl(o, n, estimator) for o, n in zip(old, new)]))
        assert torch.allclose(approx_kl(old, new, estimator, dim=0), approx_kl(old.T, new.T, estimator, dim=1))
    with pytest.raises(ValueError, match="dim=2"):
        approx_kl(old, new, dim=2)


def test_step_norm_is_the_l2_length_of_the_parameter_change():
    from pgcourse.diagnostics import step_norm

    params = [torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(2, 2))]
    before = torch.nn.utils.parameters_to_vector(params).clone()
    with torch.no_grad():
        params[0][0] = 3.0
        params[1][1, 1] = -4.0
    assert step_norm(before, params) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="entries"):
        step_norm(before[:3], params)
