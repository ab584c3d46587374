"""Property-based tests (hypothesis) of the maths core: returns, GAE, normalisation and the diagnostics.

Random shapes ((T,) and (T, N)), dtypes (numpy float32/float64/int, torch tensors), episode masks and
the limits (γ, λ ∈ {0, 1}); bad input (NaN, inf, wrong shapes, empty) must give a clear ValueError.
Derandomised (a fixed example sequence) so CI is deterministic.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pgcourse.diagnostics import approx_kl, clip_fraction, explained_variance
from pgcourse.returns import discounted_returns, gae, normalize, td_errors

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)
FLOATS = st.floats(-100, 100, allow_nan=False, allow_infinity=False, width=32)
UNIT = st.one_of(st.just(0.0), st.just(1.0), st.floats(0, 1))
DTYPES = st.sampled_from([np.float32, np.float64, np.int64])
SHAPES = st.one_of(st.tuples(st.integers(1, 25)), st.tuples(st.integers(1, 25), st.integers(1, 4)))


@st.composite
def grids(draw, n_arrays: int, n_masks: int):
    """``n_arrays`` numeric arrays and ``n_masks`` 0/1 masks of one random shape, in a random container type."""
    shape = draw(SHAPES)
    dtype = draw(DTYPES)
    elems = st.integers(-50, 50) if dtype is np.int64 else FLOATS
    arrays = [draw(hnp.arrays(dtype, shape, elements=elems)) for _ in range(n_arrays)]
    masks = [draw(hnp.arrays(np.int64, shape, elements=st.integers(0, 1))) for _ in range(n_masks)]
    as_torch = draw(st.booleans())
    wrap = torch.as_tensor if as_torch else (lambda a: a)
    return [wrap(a) for a in arrays], [wrap(m) for m in masks]


def ref_returns(r: np.ndarray, gamma: float, ends: np.ndarray) -> np.ndarray:
    out, running = np.zeros_like(r), np.zeros_like(r[0])
    for t in reversed(range(len(r))):
        running = r[t] + gamma * (1 - ends[t]) * running
        out[t] = running
    return out


def f64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


@SETTINGS
@given(grids(1, 1), UNIT)
def test_discounted_returns_match_the_recursion(data, gamma):
    (r,), (ends,) = data
    got = discounted_returns(r, gamma, ends)
    assert got.dtype == torch.float32 and got.shape == tuple(np.shape(r))
    want = ref_returns(f64(r), gamma, f64(ends))
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-4, atol=1e-2)
    if gamma == 0:
        np.testing.assert_allclose(got.numpy(), f64(r), rtol=1e-6, atol=1e-5)


@SETTINGS
@given(grids(1, 0))
def test_undiscounted_return_without_ends_is_the_reverse_cumulative_sum(data):
    (r,), _ = data
    want = np.flip(np.cumsum(np.flip(f64(r), 0), 0), 0)
    np.testing.assert_allclose(discounted_returns(r, 1.0).numpy(), want, rtol=1e-4, atol=1e-2)


@SETTINGS
@given(grids(3, 2), UNIT, UNIT)
def test_gae_limits_and_returns(data, gamma, lam):
    (r, v, nv), (term, trunc) = data
    adv, ret = gae(r, v, nv, term, trunc, gamma, lam)
    assert adv.shape == ret.shape == tuple(np.shape(r)) and adv.dtype == torch.float32
    np.testing.assert_allclose(ret.numpy(), adv.numpy() + f64(v), rtol=1e-5, atol=1e-2)
    deltas = td_errors(r, v, nv, term, gamma)
    if lam == 0:
        np.testing.assert_allclose(adv.numpy(), deltas.numpy(), rtol=1e-6, atol=1e-4)
    # the general recursion, in float64: A_t = δ_t + γλ(1 - term_t)(1 - trunc_t) A_{t+1}
    carry = gamma * lam * (1 - f64(term)) * (1 - f64(trunc))
    want, running = np.zeros_like(f64(r)), np.zeros_like(f64(r)[0])
    d = f64(r) + gamma * (1 - f64(term)) * f64(nv) - f64(v)
    for t in reversed(range(len(want))):
        running = d[t] + carry[t] * running
        want[t] = running
    np.testing.assert_allclose(adv.numpy(), want, rtol=1e-4, atol=5e-2)


@SETTINGS
@given(grids(2, 1), UNIT)
def test_gae_with_lambda_one_is_the_bootstrapped_return_minus_the_value(data, gamma):
    (r, v), (term,) = data
    # consistent successor values (next_values[t] = values[t + 1], 0 after the input's end): the TD errors
    # telescope and the λ = 1 target is the Monte Carlo return G, cut at terminations
    nv = np.concatenate([f64(v)[1:], np.zeros_like(f64(v)[:1])])
    adv, ret = gae(r, v, nv, term, None, gamma, 1.0)
    want = ref_returns(f64(r), gamma, f64(term))
    np.testing.assert_allclose(ret.numpy(), want, rtol=1e-4, atol=5e-2)


@SETTINGS
@given(grids(1, 1))
def test_normalize_standardises_the_kept_elements(data):
    (x,), (mask,) = data
    m = f64(mask)
    if m.sum() == 0:
        with pytest.raises(ValueError, match="mask keeps no element"):
            normalize(x, mask=mask)
        return
    z = normalize(x, mask=mask).numpy().astype(np.float64)
    assert np.all(z[m == 0] == 0)
    kept, zk = f64(x)[m == 1], z[m == 1]
    assert abs(zk.mean()) < 1e-3
    if kept.size > 1 and kept.std(ddof=1) > 1e-2:
        assert zk.std(ddof=1) == pytest.approx(1.0, abs=1e-3)


@SETTINGS
@given(grids(2, 0), st.floats(0.01, 1.0))
def test_diagnostics_ranges_and_fixed_points(data, clip_eps):
    (a, b), _ = data
    old, new = f64(a) / 100, f64(b) / 100  # log-probs within ±1
    kl = float(approx_kl(old, new, "k3"))
    assert kl >= 0 and float(approx_kl(old, old, "k3")) == 0 and float(approx_kl(old, old, "k1")) == 0
    cf = float(clip_fraction(np.exp(new - old), clip_eps))
    assert 0 <= cf <= 1 and float(clip_fraction(np.ones_like(old), clip_eps)) == 0
    g = f64(a)
    ev = float(explained_variance(g, g))
    assert np.ptp(g) == 0 if np.isnan(ev) else ev == pytest.approx(1.0)  # NaN only for constant returns
    assert float(explained_variance(b, a)) <= 1.0 + 1e-6 or np.isnan(float(explained_variance(b, a)))


BAD_VALUES = st.sampled_from([np.nan, np.inf, -np.inf])


@SETTINGS
@given(grids(3, 0), BAD_VALUES, st.data())
def test_nan_and_inf_are_rejected_by_name(data, bad, draw):
    (r, v, nv), _ = data
    r = f64(r).copy()
    r.flat[draw.draw(st.integers(0, r.size - 1))] = bad
    word = "NaN" if np.isnan(bad) else "inf"
    for call in (
        lambda: discounted_returns(r, 0.9),
        lambda: gae(r, v, nv, None, None, 0.9, 0.9),
        lambda: normalize(r),
        lambda: approx_kl(r, r),
        lambda: explained_variance(r, np.zeros_like(r)),
    ):
        with pytest.raises(ValueError, match=word):
            call()


@SETTINGS
@given(SHAPES, SHAPES)
def test_mismatched_and_wrong_shapes_are_rejected(shape_a, shape_b):
    a, b = np.ones(shape_a), np.ones(shape_b)
    if shape_a != shape_b:
        with pytest.raises(ValueError, match="shape"):
            td_errors(a, b, a, None, 0.9)
        with pytest.raises(ValueError, match="shape"):
            explained_variance(a, b)
        with pytest.raises(ValueError, match="shape"):
            discounted_returns(a, 0.9, b)
    with pytest.raises(ValueError, match=r"shape \(T,\) or \(T, N\)"):
        discounted_returns(np.ones((*shape_a, 2, 1)), 0.9)


@pytest.mark.parametrize("empty", [np.zeros(0), np.zeros((0, 3)), torch.zeros(0)])
def test_empty_input_is_rejected(empty):
    for call in (
        lambda: discounted_returns(empty, 0.9),
        lambda: gae(empty, empty, empty, None, None, 0.9, 0.9),
        lambda: normalize(empty),
        lambda: approx_kl(empty, empty),
    ):
        with pytest.raises(ValueError, match="empty"):
            call()


@SETTINGS
@given(st.one_of(st.floats(allow_nan=True).filter(lambda g: not 0 <= g <= 1), st.just(float("nan"))))
def test_gamma_and_lambda_outside_the_unit_interval_are_rejected(g):
    r = np.ones(3)
    with pytest.raises(ValueError, match="gamma"):
        discounted_returns(r, g)
    with pytest.raises(ValueError, match="lam"):
        gae(r, r, r, None, None, 0.9, g)
