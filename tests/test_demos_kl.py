"""The k1 vs k3 KL-estimator demo: the pure function against the exact laws, and the widget without a kernel."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

from pgcourse import demos


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("shift", [0.1, 0.3, 0.6, 1.0])
def test_both_estimators_are_unbiased(shift):
    r = demos.kl_estimates(shift, batch_size=16, n_batches=4000)
    assert r.exact == pytest.approx(shift**2 / 2)
    n = r.k1.size
    # the mean of n estimates lies within 4 standard errors of the exact KL
    assert abs(r.k1_mean - r.exact) < 4 * r.k1_std_theory / math.sqrt(n)
    assert abs(r.k3_mean - r.exact) < 4 * r.k3_std_theory / math.sqrt(n)


@pytest.mark.parametrize("shift", [0.1, 0.3, 0.6, 1.0, 1.5])
def test_measured_spread_matches_the_exact_formulas(shift):
    r = demos.kl_estimates(shift, batch_size=16, n_batches=4000)
    assert r.k1_std == pytest.approx(r.k1_std_theory, rel=0.08)
    assert r.k3_std == pytest.approx(r.k3_std_theory, rel=0.15)  # k3 is heavy-tailed: its sample std is noisier
    assert r.k1_negative == pytest.approx(r.k1_negative_theory, abs=0.03)


def test_k3_is_never_negative_and_k1_often_is_for_small_moves():
    r = demos.kl_estimates(0.3, batch_size=16)
    assert r.k3.min() >= 0.0 and r.k3_negative == 0.0
    assert 0.2 < r.k1_negative < 0.35  # Φ(−0.3·√16/2) ≈ 0.27 of the batches say "negative KL"


def test_k3_is_less_noisy_for_small_moves_and_noisier_past_the_crossover():
    assert demos.KL_CROSSOVER_SHIFT == pytest.approx(1.1209, abs=1e-3)
    d = demos.KL_CROSSOVER_SHIFT
    assert math.expm1(d**2) - d**2 == pytest.approx(d**2)  # equal variances there
    for shift in (0.1, 0.3):  # PPO's regime (KL ≤ 0.05): k3 several times less noisy
        r = demos.kl_estimates(shift)
        assert r.k3_std < r.k1_std / 4
    r = demos.kl_estimates(1.5)
    assert r.k3_std > r.k1_std


def test_common_random_numbers_and_no_move():
    # every shift sees the same actions a: k1 = δ²/2 − δ·mean(a) per batch, so (k1 − δ²/2)/δ is shared
    a, b = demos.kl_estimates(0.4), demos.kl_estimates(0.9)
    assert np.allclose((a.k1 - a.exact) / 0.4, (b.k1 - b.exact) / 0.9, atol=1e-5)
    assert not a.k1.flags.writeable  # cached results cannot be changed by accident
    zero = demos.kl_estimates(0.0)
    assert zero.exact == 0.0 and np.abs(zero.k1).max() == 0.0 and np.abs(zero.k3).max() == 0.0
    assert zero.k1_negative_theory == 0.0


def test_bigger_batches_shrink_the_spread_as_one_over_root_b():
    small, big = demos.kl_estimates(0.3, batch_size=16), demos.kl_estimates(0.3, batch_size=64)
    assert big.k1_std == pytest.approx(small.k1_std / 2, rel=0.1)
    assert big.k1_negative < small.k1_negative


def test_bad_arguments_fail_clearly():
    with pytest.raises(ValueError, match="shift=-0.1 is outside the allowed range"):
        demos.kl_estimates(-0.1)
    with pytest.raises(ValueError, match="batch_size=0 is outside the allowed range"):
        demos.kl_estimates(0.3, batch_size=0)


def test_static_figure_has_one_panel_per_shift():
    fig = demos.static_kl_estimators(shifts=(0.1, 0.3, 0.6, 1.5), n_batches=500)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 4
    assert "0.045" in axes[1].get_title()  # δ = 0.3: KL = 0.045


def test_demo_sliders_recompute_and_redraw():
    demo = demos.kl_estimator_demo(n_batches=500)
    assert demo.last_result.shift == pytest.approx(0.3) and demo.last_result.batch_size == 16
    before = demo.n_updates
    demo.shift_slider.value = 1.0
    assert demo.n_updates == before + 1 and demo.last_result.shift == pytest.approx(1.0)
    assert demo.last_result.exact == pytest.approx(0.5)
    demo.batch_slider.value = 64
    assert demo.last_result.batch_size == 64
    assert "exact KL" in demo.readout.value
    assert demo.figure_output.outputs[0]["data"]["image/png"]
