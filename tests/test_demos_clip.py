"""The clip-epsilon demos of notebook 07: the pure functions against known truths, the widgets without a kernel."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from pgcourse import demos
from pgcourse.algorithms.ppo import PPOConfig, clipped_surrogate_loss


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def study():
    return demos.clip_update_study()


# ---------------------------------------------------------------- L^CLIP(r)
@pytest.mark.parametrize("eps", [0.1, 0.2, 0.3])
def test_clip_objective_is_flat_exactly_where_it_should_be(eps):
    res = demos.clip_objective(eps)
    r = res.ratios
    lo, hi = 1 - eps, 1 + eps
    inside_pos, beyond_pos = r < hi - 1e-9, r > hi + 1e-9
    inside_neg, beyond_neg = r > lo + 1e-9, r < lo - 1e-9
    # A > 0: L = r·A up to 1 + ε, then the constant (1 + ε)·A with zero gradient
    assert np.allclose(res.objective_pos[inside_pos], r[inside_pos])
    assert np.allclose(res.objective_pos[beyond_pos], hi)
    assert np.all(res.grad_pos[beyond_pos] == 0) and np.allclose(res.grad_pos[inside_pos], 1.0)
    assert np.array_equal(res.flat_pos[inside_pos | beyond_pos], beyond_pos[inside_pos | beyond_pos])
    # A < 0: L = r·A down to 1 − ε, then the constant (1 − ε)·A with zero gradient
    assert np.allclose(res.objective_neg[inside_neg], -r[inside_neg])
    assert np.allclose(res.objective_neg[beyond_neg], -lo)
    assert np.all(res.grad_neg[beyond_neg] == 0) and np.allclose(res.grad_neg[inside_neg], -1.0)
    # the clip is pessimistic: never above the unclipped surrogate, equal to it at r = 1
    assert np.all(res.objective_pos <= res.unclipped_pos + 1e-12)
    assert np.all(res.objective_neg <= res.unclipped_neg + 1e-12)
    one = np.argmin(np.abs(r - 1.0))
    assert res.objective_pos[one] == pytest.approx(1.0) and res.objective_neg[one] == pytest.approx(-1.0)
    assert res.window == pytest.approx((lo, hi))


def test_clip_objective_matches_the_package_loss_and_scales_with_the_advantage():
    ratios = np.array([0.5, 0.9, 1.0, 1.1, 1.7])
    res = demos.clip_objective(0.2, advantage=2.5, ratios=ratios)
    for i, r in enumerate(ratios):
        for a, value in ((2.5, res.objective_pos[i]), (-2.5, res.objective_neg[i])):
            loss = clipped_surrogate_loss(torch.tensor([r], dtype=torch.float64), torch.tensor([a]), 0.2)
            assert value == pytest.approx(-loss.item())
    assert np.allclose(res.grad_pos, [2.5, 2.5, 2.5, 2.5, 0.0])
    assert np.allclose(res.grad_neg, [0.0, -2.5, -2.5, -2.5, -2.5])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"clip_eps": 0.0}, "clip_eps"),
        ({"clip_eps": 1.5}, "clip_eps"),
        ({"clip_eps": 0.2, "advantage": -1.0}, "advantage"),
        ({"clip_eps": 0.2, "ratios": [-0.1, 1.0]}, "ratios"),
        ({"clip_eps": 0.2, "ratios": []}, "ratios"),
    ],
)
def test_clip_objective_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        demos.clip_objective(**kwargs)


def test_clip_objective_widget_recomputes_on_slider_change():
    demo = demos.clip_objective_demo()
    assert demo.last_result.clip_eps == pytest.approx(0.2)
    assert "0.80, 1.20" in demo.readout.value
    image = demo.figure_output.outputs[0]["data"]["image/png"]
    demo.eps_slider.value = 0.4
    assert demo.last_result.clip_eps == pytest.approx(0.4) and demo.n_updates == 2
    assert "0.60, 1.40" in demo.readout.value
    assert demo.figure_output.outputs[0]["data"]["image/png"] != image
    assert demo.eps_slider.description.startswith("clip ε") and demo.eps_slider.continuous_update


def test_static_clip_objective_draws_one_line_per_epsilon():
    fig = demos.static_clip_objective((0.1, 0.2, 0.3))
    ax_pos, ax_neg = fig.axes
    labels = [line.get_label() for line in ax_pos.get_lines()]
    assert sum("epsilon" in lab for lab in labels) == 3 and any("no clip" in lab for lab in labels)
    assert len(ax_neg.get_lines()) == len(ax_pos.get_lines())


# ---------------------------------------------------------------- ε and real updates
def test_study_is_one_fixed_rollout_of_the_course_update(study):
    cfg = PPOConfig()
    assert study.config == cfg
    assert 0 < len(study.batch) <= cfg.n_envs * cfg.n_steps
    assert demos.clip_update_study() is study  # cached: the static figure and the slider share it
    assert 30 < study.pretrain_mean_return < 475  # π_old has learned something, but not everything
    before = [p.detach().clone() for p in study.policy.parameters()]
    demos.clip_update_stats(0.3, study)
    assert all(torch.equal(a, b) for a, b in zip(before, study.policy.parameters()))  # π_old untouched


def test_kl_and_ratio_spread_grow_with_epsilon(study):
    small, mid, large = (demos.clip_update_stats(eps, study) for eps in (0.05, 0.2, 0.5))
    for res in (small, mid, large):
        assert res.epochs.tolist() == list(range(1, study.config.n_epochs + 1))
        assert np.all(res.approx_kl >= 0)  # k3 is never negative
        assert np.all((res.clip_fraction >= 0) & (res.clip_fraction <= 1))
    # how far the policy moved: KL (last epoch and largest) and the ratios' spread grow with ε
    assert small.approx_kl[-1] * 2 < mid.approx_kl[-1] and mid.approx_kl[-1] * 2 < large.approx_kl[-1]
    assert small.approx_kl.max() * 2 < mid.approx_kl.max() < large.approx_kl.max()
    assert small.mean_ratio_change < mid.mean_ratio_change < large.mean_ratio_change
    # against a fixed yardstick the share of samples that moved past it grows with ε ...
    assert small.fraction_outside(0.1) < mid.fraction_outside(0.1) < large.fraction_outside(0.1)
    # ... while a small ε keeps (almost) every ratio near its window: the clip works
    assert small.fraction_outside(0.2) < 0.05
    # the clip is active in the real update: some samples reach the edge of their window
    assert small.clip_fraction.max() > 0 and mid.clip_fraction.max() > 0


def test_clip_update_stats_is_reproducible_and_cached(study):
    a = demos.clip_update_stats(0.15, study)
    assert demos.clip_update_stats(0.15, study) is a
    fresh = demos.ClipUpdateStudy(study.env_id, study.seed, study.config, study.policy, study.batch)
    b = demos.clip_update_stats(0.15, fresh)
    assert np.allclose(a.approx_kl, b.approx_kl) and np.allclose(a.ratios, b.ratios)
    with pytest.raises(ValueError, match="clip_eps"):
        demos.clip_update_stats(0.0, study)


def test_clip_update_widget_and_static_figure(study):
    fig = demos.static_clip_updates(study=study)
    assert len(fig.axes) == 3 and len(fig.axes[0].get_lines()) == len(demos.CLIP_UPDATE_EPS)
    demo = demos.clip_update_demo(study)
    assert demo.last_result.clip_eps == pytest.approx(0.2)
    image, text = demo.figure_output.outputs[0]["data"]["image/png"], demo.readout.value
    demo.eps_slider.value = 0.5
    assert demo.last_result.clip_eps == pytest.approx(0.5) and demo.n_updates == 2
    assert demo.last_result.approx_kl[-1] > 0
    assert demo.readout.value != text and demo.figure_output.outputs[0]["data"]["image/png"] != image
    assert "clip ε" in demo.eps_slider.description and demo.eps_slider.continuous_update


def test_fresh_policy_study():
    fresh = demos.clip_update_study(pretrain_steps=0, config=PPOConfig(n_envs=2, n_steps=16))
    res = demos.clip_update_stats(0.2, fresh)
    assert 0 < len(fresh.batch) <= 2 * 16  # autoreset rows are not transitions
    assert np.isnan(fresh.pretrain_mean_return)
    assert res.approx_kl.shape == (PPOConfig().n_epochs,) and np.all(res.approx_kl >= 0)


def test_clip_fraction_levers_are_the_same_on_worker_processes():
    """One column per rollout: computed here or on two workers (``n_jobs``), the same numbers."""
    base = {"clip_eps": 0.2, "lr": 3e-2, "n_epochs": 2, "n_minibatches": 4}
    here = demos.clip_fraction_levers([("lr", 3e-4)], seeds=(0, 1), base=base)
    there = demos.clip_fraction_levers([("lr", 3e-4)], seeds=(0, 1), base=base, n_jobs=2)
    assert here.clip_fraction.shape == (2, 2) and here.seeds == (0, 1)
    assert np.array_equal(here.clip_fraction, there.clip_fraction) and np.array_equal(here.approx_kl, there.approx_kl)
    column = demos.clip_update_stats(0.2, demos.clip_update_study(seed=1), 3e-4, 2, 4)
    assert here.clip_fraction[here.row("lr", 3e-4), 1] == column.clip_fraction[-1]   # row = setting, column = seed
    assert here.mean_clip_fraction("lr", 3e-4) < here.mean_clip_fraction()   # the small lr moves the policy less
    with pytest.raises(ValueError, match="cannot change"):
        demos.clip_fraction_levers([("gamma", 0.5)], seeds=(0,), base=base)
