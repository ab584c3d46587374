"""The course plot style, learning curves, diagnostics panels, the throttled live plot, and animations."""

from __future__ import annotations

import math
import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from pgcourse import plots, render
from pgcourse.algorithms.common import HISTORY_KEYS, TrainResult
from pgcourse.networks import ActorCritic


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _history(xs, ys, **extra):
    out = []
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        rec = {k: math.nan for k in HISTORY_KEYS}
        rec.update(update=i + 1, env_steps=float(x), mean_return=float(y), **extra)
        out.append(rec)
    return out


# ---------------------------------------------------------------- style
def test_course_style_is_colour_blind_safe_with_line_styles():
    with matplotlib.rc_context():
        plots.use_course_style()
        cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()
        assert cycle["color"] == list(plots.OKABE_ITO)
        assert len(set(map(str, cycle["linestyle"]))) == len(cycle["color"])
        assert matplotlib.rcParams["font.size"] >= 12 and matplotlib.rcParams["axes.grid"]
        fig, ax = plt.subplots()
        a, b = ax.plot([0, 1]), ax.plot([1, 0])
        assert a[0].get_linestyle() != b[0].get_linestyle()


def test_course_style_context_restores_only_its_own_keys():
    with matplotlib.rc_context():
        matplotlib.rcParams["font.size"] = 7
        was_interactive = matplotlib.is_interactive()
        with plots.course_style():
            assert matplotlib.rcParams["font.size"] == plots.COURSE_RC["font.size"]
            matplotlib.interactive(not was_interactive)  # e.g. a notebook backend switching itself on
        assert matplotlib.rcParams["font.size"] == 7
        assert matplotlib.is_interactive() != was_interactive  # not reset: later figures still show inline
        matplotlib.interactive(was_interactive)


# ---------------------------------------------------------------- learning curves
def test_learning_curve_mean_and_band_over_runs_with_different_x():
    runs = [
        _history([0, 10, 20], [0.0, 10.0, 20.0]),
        _history([0, 5, 20], [0.0, 10.0, 40.0]),
        _history([0, 20, 30], [3.0, 23.0, 0.0]),  # longer run: the grid stops at x = 20
    ]
    grid, mean, low, high = plots.summarize_runs(runs, n_points=5)
    assert np.allclose(grid, [0, 5, 10, 15, 20])
    at10 = np.array([10.0, 10 + 30 * 5 / 15, 3 + 20 * 10 / 20])
    assert mean[2] == pytest.approx(at10.mean())
    assert (low[2], high[2]) == (pytest.approx(at10.min()), pytest.approx(at10.max()))
    fig, ax = plt.subplots()
    line = plots.learning_curve(ax, runs, label="PPO", n_points=5)
    assert np.allclose(line.get_ydata(), mean)
    assert line.get_label() == "PPO (3 seeds)"
    assert len(ax.collections) == 1  # the spread band
    assert ax.get_xlabel() == "environment steps"


def test_learning_curve_accepts_results_arrays_and_pairs():
    results = [
        TrainResult(torch.nn.Linear(1, 1), None, seed, "CartPole-v1", history=_history([0, 1, 2], [1, 2, 3 + seed]))
        for seed in range(3)
    ]
    fig, ax = plt.subplots()
    line = plots.learning_curve(ax, results, band="iqr", n_points=3)
    assert np.allclose(line.get_ydata(), [1, 2, 4])
    arr = np.array([[0.0, 1.0, 2.0], [2.0, 3.0, 4.0]])
    line = plots.learning_curve(ax, arr, xs=[0, 50, 100], n_points=3, band="std")
    assert np.allclose(line.get_xdata(), [0, 50, 100]) and np.allclose(line.get_ydata(), [1, 2, 3])
    line = plots.learning_curve(ax, [(np.arange(4), np.arange(4.0))], n_points=4, label="one")
    assert line.get_label() == "one"
    with pytest.raises(ValueError, match="band="):
        plots.learning_curve(ax, arr, band="quartiles")
    with pytest.raises(ValueError, match="empty"):
        plots.learning_curve(ax, [])


def test_learning_curve_skips_nan_returns_before_the_first_episode():
    run = _history([0, 10, 20], [math.nan, 5.0, 7.0])
    grid, mean, _, _ = plots.summarize_runs([run], n_points=3)
    assert grid[0] == 10 and np.all(np.isfinite(mean))


# ---------------------------------------------------------------- diagnostics panel
def test_diagnostics_panel_small_multiples():
    hist = _history([0, 100, 200], [1, 2, 3], approx_kl=0.01, entropy=0.6, grad_norm=0.5, explained_variance=0.3)
    fig = plots.diagnostics_panel(hist, ranges={"approx_kl": (0.0, 0.02)})
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == [plots.pretty(k) for k in plots.DIAGNOSTIC_KEYS]
    clip_ax = visible[plots.DIAGNOSTIC_KEYS.index("clip_fraction")]
    assert not clip_ax.lines and "not tracked" in clip_ax.texts[0].get_text()  # NaN throughout
    two = plots.diagnostics_panel([hist, hist], keys=("entropy", "grad_norm"))
    assert len(two.axes[0].lines) == 2
    with pytest.raises(ValueError, match="labels"):
        plots.diagnostics_panel([hist, hist], labels=["only one"])


def test_diagnostics_panel_shows_the_clip_range_in_force_in_the_clip_fraction_panel():
    eps = [0.2, 0.15, 0.1]
    hist = [dict(rec, clip_eps=e, clip_fraction=0.1) for rec, e in zip(_history([0, 100, 200], [1, 2, 3]), eps)]
    fig = plots.diagnostics_panel(hist)
    clip_ax = fig.axes[plots.DIAGNOSTIC_KEYS.index("clip_fraction")]
    dotted = [ln for ln in clip_ax.lines if ln.get_label() == plots.pretty("clip_eps")]
    assert len(dotted) == 1 and list(dotted[0].get_ydata()) == eps and dotted[0].get_linestyle() == ":"
    assert clip_ax.get_legend() is not None
    without = plots.diagnostics_panel(_history([0, 100, 200], [1, 2, 3], clip_fraction=0.1))  # A2C: no clip_eps
    assert len(without.axes[plots.DIAGNOSTIC_KEYS.index("clip_fraction")].lines) == 1


# ---------------------------------------------------------------- live plot
class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_live_plot_draws_at_most_once_per_second_and_always_at_the_end():
    clock, shown = FakeClock(), []

    def fake_display(obj, handle):
        shown.append((obj, handle))
        return "handle"

    live = plots.LivePlot(target=475, clock=clock, display=fake_display)
    for i, rec in enumerate(_history(range(0, 1000, 100), range(10))):
        clock.t = 0.09 * i  # ten records within one second
        live(rec)
    assert live.n_draws == 1
    clock.t = 1.2
    live(_history([1000], [10])[0] | {"update": 11})
    assert live.n_draws == 2
    live(_history([1100], [11])[0] | {"update": 12})
    assert live.n_draws == 2  # throttled
    live.finish()
    assert live.n_draws == 3  # the final state is always drawn ...
    live.close()
    assert live.n_draws == 3  # ... once
    assert shown[0][1] is None and all(h == "handle" for _, h in shown[1:])  # one display, then updates
    assert shown[-1][0].data[:4] == b"\x89PNG"


def test_live_plot_context_manager_and_new_runs():
    clock = FakeClock()
    with plots.LivePlot(clock=clock, display=None) as live:
        for rec in _history([0, 1, 2], [1, 2, 3]) + _history([0, 1], [5, 6]):
            live(rec)
    assert len(live.runs) == 2 and [len(r) for r in live.runs] == [3, 2]
    assert live.n_draws == 2  # first record, then the final draw on exit
    named = plots.LivePlot(clock=clock, display=None, labels=["baseline", "raw"])
    named.runs = live.runs
    legend = named.render().axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["baseline", "raw"]
    with pytest.raises(ValueError, match="min_interval"):
        plots.LivePlot(min_interval=-1)


# ---------------------------------------------------------------- render
def test_rollout_frames_random_policy_is_capped_and_seeded():
    frames = render.rollout_frames(None, "CartPole-v1", seed=0, max_frames=5, max_width=200)
    assert len(frames) == 5
    assert frames[0].dtype == np.uint8 and frames[0].shape[2] == 3 and frames[0].shape[1] <= 200
    full = render.rollout_frames(None, "CartPole-v1", seed=0, max_frames=500)
    again = render.rollout_frames(None, "CartPole-v1", seed=0, max_frames=500)
    assert 5 < len(full) < 500  # a random episode ends early: reset frame + one per step
    assert len(full) == len(again) and np.array_equal(full[-1], again[-1])


def test_rollout_frames_stride_keeps_every_kth_step_and_the_last():
    full = render.rollout_frames(None, "CartPole-v1", seed=0, max_frames=500)
    strided = render.rollout_frames(None, "CartPole-v1", seed=0, max_frames=500, stride=3)
    steps = len(full) - 1  # the reset frame, then one per step
    kept = [0, *range(3, steps + 1, 3)] + ([steps] if steps % 3 else [])
    assert len(strided) == len(kept)
    assert all(np.array_equal(strided[i], full[k]) for i, k in enumerate(kept))
    with pytest.raises(ValueError, match="stride=0"):
        render.rollout_frames(None, "CartPole-v1", stride=0)


def test_rollout_frames_with_a_policy_uses_the_policy_interface():
    torch.manual_seed(0)
    policy = ActorCritic(4, 2)
    with torch.no_grad():
        policy.policy_head[-1].bias.copy_(torch.tensor([10.0, -10.0]))  # always push left
    frames = render.rollout_frames(policy, "CartPole-v1", seed=1, max_frames=200)
    assert len(frames) < 20  # pushing left all the time drops the pole fast


def test_animate_returns_html_with_capped_frames():
    html = render.animate(None, "CartPole-v1", seed=0, max_frames=6, fps=20)
    frames = re.findall(r"frames\[\d+\] = \"data:image/png", html.data)
    assert len(frames) == 6
    assert "<script" in html.data


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"max_frames": 0}, "max_frames=0"), ({"max_frames": 10**6}, "max_frames"), ({"fps": 0}, "fps=0")],
)
def test_animate_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        render.animate(None, "CartPole-v1", **kwargs)


def test_unknown_env_is_a_clear_error():
    with pytest.raises(ValueError, match="NoSuchEnv-v0"):
        render.rollout_frames(None, "NoSuchEnv-v0")


def test_live_plot_draws_less_often_when_drawing_is_slow():
    clock = FakeClock()
    live = plots.LivePlot(clock=clock, display=None)
    render = live.render

    def slow_render():
        clock.t += 0.5  # each draw "takes" half a second
        return render()

    live.render = slow_render
    for i, rec in enumerate(_history(range(10), range(10))):
        clock.t = max(clock.t, 1.1 * i)  # one record every 1.1 s
        live(rec)
    # with draws of 0.5 s the interval grows to 2 s: 5 draws instead of 10
    assert live.n_draws == 5


def test_animation_fetches_nothing_from_the_internet():
    """matplotlib's jshtml player links a web-font stylesheet; ours must be self-contained."""
    from pgcourse.render import animate

    html = animate(None, "CartPole-v1", max_frames=3).data
    assert "http://" not in html and "https://" not in html
    assert "fa fa-" not in html and "&#x25B6;" in html  # play button drawn as a character
