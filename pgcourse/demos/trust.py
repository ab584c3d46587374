r"""Notebook 06 (trust regions): how far to step along a gradient, computed exactly on the course corridor.

Along :math:`\theta = \theta_{old} + \alpha u` the slider shows, exactly (:mod:`pgcourse.trust_region`):
the true improvement :math:`J(\theta) - J(\theta_{old})`, the surrogate :math:`L_{\theta_{old}}(\theta)`,
PPO's expected clipped objective :math:`L^{CLIP}_{\theta_{old}}(\theta)` and the mean KL
:math:`\overline{\mathrm{KL}}(\theta_{old}, \theta)`. Two directions :math:`u`: the exact gradient
:math:`\nabla J(\theta_{old})`, and a Monte Carlo estimate of it from a few episodes (what an algorithm has).
Every curve is computed once over the slider's grid; moving the slider only moves the markers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pgcourse.demos.widget import SliderDemo, canvas_png, check_range, make_slider, readout_table, static_figure
from pgcourse.plots import course_style, style_cycle
from pgcourse.toy import DEFAULT_THETA, TabularMDP, course_mdp
from pgcourse.trust_region import StepCurves, step_curves

__all__ = [
    "STEP_DIRECTIONS",
    "StepSizeStudy",
    "StepSizeResult",
    "step_size_study",
    "step_size_point",
    "static_step_size",
    "step_size_demo",
]

#: The two directions the demo steps along: label -> key.
STEP_DIRECTIONS = {"exact gradient": "exact", "4-episode estimate": "sampled"}

_CURVES = (
    ("true_improvement", r"true $J(\theta) - J(\theta_{old})$"),
    ("surrogate", r"surrogate $L_{\theta_{old}}(\theta)$"),
    ("clipped", r"clipped $L^{CLIP}$"),
)


@dataclass(frozen=True)
class StepSizeStudy:
    """The directions and their exact curves over the α grid, computed once (``curves[key]``, ``directions[key]``).

    ``sampled`` is the mean of :meth:`TabularMDP.mc_gradients` over ``n_episodes`` episodes sampled with ``seed``.
    """

    mdp: TabularMDP
    theta_old: np.ndarray
    directions: dict[str, np.ndarray]
    curves: dict[str, StepCurves]
    n_episodes: int
    seed: int
    clip_eps: float

    @property
    def alphas(self) -> np.ndarray:
        return self.curves["exact"].alphas


@dataclass(frozen=True)
class StepSizeResult:
    """The four exact values at one α (the grid point nearest the slider) along one direction."""

    alpha: float
    direction: str
    true_improvement: float
    surrogate: float
    clipped: float
    mean_kl: float
    curves: StepCurves


@lru_cache(maxsize=4)
def _default_study(n_episodes: int, seed: int, alpha_max: float, clip_eps: float) -> StepSizeStudy:
    return _build_study(course_mdp(), DEFAULT_THETA, n_episodes, seed, alpha_max, clip_eps)


def _build_study(
    mdp: TabularMDP, theta: np.ndarray, n_episodes: int, seed: int, alpha_max: float, clip_eps: float
) -> StepSizeStudy:
    alphas = np.linspace(0.0, alpha_max, int(round(alpha_max / 0.5)) + 1)
    sampled = mdp.mc_gradients(theta, mdp.sample(theta, n_episodes, seed=seed)).mean(0)
    directions = {"exact": mdp.exact_gradient(theta), "sampled": sampled}
    curves = {k: step_curves(mdp, theta, u, alphas, clip_eps) for k, u in directions.items()}
    return StepSizeStudy(mdp, theta, directions, curves, n_episodes, seed, clip_eps)


def step_size_study(
    n_episodes: int = 4,
    seed: int = 1,
    alpha_max: float = 60.0,
    clip_eps: float = 0.2,
    mdp: TabularMDP | None = None,
    theta: np.ndarray | None = None,
) -> StepSizeStudy:
    """Exact curves along the exact gradient and along an ``n_episodes`` estimate, α ∈ [0, ``alpha_max``] by 0.5."""
    n_episodes = int(check_range(n_episodes, "n_episodes", 1, 100_000))
    alpha_max = check_range(alpha_max, "alpha_max", 0.5, 1000.0)
    clip_eps = check_range(clip_eps, "clip_eps", 0.01, 1.0)
    if mdp is None and theta is None:
        return _default_study(n_episodes, int(seed), alpha_max, clip_eps)
    mdp = course_mdp() if mdp is None else mdp
    theta = DEFAULT_THETA.copy() if theta is None else np.asarray(theta, dtype=np.float64)
    return _build_study(mdp, theta, n_episodes, int(seed), alpha_max, clip_eps)


def step_size_point(alpha: float, direction: str = "exact", study: StepSizeStudy | None = None) -> StepSizeResult:
    """The true improvement, surrogate, clipped objective and mean KL at step size ``alpha`` along ``direction``."""
    study = study or step_size_study()
    alpha = check_range(alpha, "alpha", 0.0, float(study.alphas[-1]))
    if direction not in study.curves:
        raise ValueError(f"direction={direction!r} is not one of {sorted(study.curves)}")
    c = study.curves[direction]
    v = c.at(alpha)
    return StepSizeResult(v["alpha"], direction, v["true_improvement"], v["surrogate"], v["clipped"], v["mean_kl"], c)


def _draw_objectives(ax: Axes, c: StepCurves, title: str) -> dict[str, Any]:
    markers = {}
    for j, (key, label) in enumerate(_CURVES):
        st = style_cycle(j)
        ax.plot(c.alphas, getattr(c, key), label=label, **st)
        (markers[key],) = ax.plot([], [], "o", color=st["color"], markersize=7, zorder=3)
    ax.axhline(0.0, color="0.5", linewidth=0.8)
    ax.set_xlabel(r"step size $\alpha$  ($\theta = \theta_{old} + \alpha u$)")
    ax.set_ylabel("change in return")
    ax.set_title(title)
    ax.legend(fontsize=9, loc="best")
    markers["vline"] = ax.axvline(0.0, color="0.3", linestyle=":", linewidth=1.2)
    return markers


def _draw_kl(ax: Axes, curves: dict[str, StepCurves], delta: float = 0.01) -> dict[str, Any]:
    markers = {}
    for j, (label, key) in enumerate(STEP_DIRECTIONS.items()):
        st = style_cycle(j + 3)
        ax.plot(curves[key].alphas, curves[key].mean_kl, label=f"along the {label}", **st)
        (markers[key],) = ax.plot([], [], "o", color=st["color"], markersize=7, zorder=3)
    ax.axhline(delta, color="0.3", linestyle="--", linewidth=1.0, label=rf"TRPO's radius $\delta$ = {delta:g}")
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_ylim(0.0, 2 * max(float(c.mean_kl.max()) for c in curves.values()))
    ax.set_xlabel(r"step size $\alpha$")
    ax.set_ylabel(r"mean KL$(\pi_{old} \| \pi_\theta)$")
    ax.set_title("how far the policy moved")
    ax.legend(fontsize=9, loc="upper left")
    return markers


def static_step_size(alphas: Sequence[float] = (2.0, 10.0, 40.0), study: StepSizeStudy | None = None) -> Figure:
    """Three panels: objectives along the exact gradient, along the estimate (marks at ``alphas``), the mean KL."""
    study = study or step_size_study()
    fig, (ax1, ax2, ax3) = static_figure(3, (15, 4.4))
    with course_style():
        for ax, (label, key) in zip((ax1, ax2), STEP_DIRECTIONS.items(), strict=True):
            c = study.curves[key]
            _draw_objectives(ax, c, f"along the {label}")["vline"].set_visible(False)
            for j, (name, _) in enumerate(_CURVES):
                vals = [c.at(a)[name] for a in alphas]
                ax.plot(alphas, vals, "o", color=style_cycle(j)["color"], markersize=6)
        _draw_kl(ax3, study.curves)
        for a in alphas:
            for ax in (ax1, ax2, ax3):
                ax.axvline(a, color="0.7", linestyle=":", linewidth=1.0)
    return fig


class _StepSizeDemo(SliderDemo):
    """A :class:`SliderDemo` that renders each direction's figure once and then only redraws its markers (blitting).

    The curves, axes and text are drawn once into a background image; a slider move restores it,
    draws the few animated markers on top and encodes the PNG, so a redraw costs milliseconds.
    ``last_timing`` is set as by :class:`SliderDemo` (``total``: compute, draw and encode).
    """

    def __init__(self, study: StepSizeStudy, *args: Any, **kwargs: Any) -> None:
        self._study = study
        self._figures: dict[str, tuple[FigureCanvasAgg, Any, dict[str, Any]]] = {}
        super().__init__(*args, **kwargs)

    def _direction_figure(self, r: StepSizeResult) -> tuple[FigureCanvasAgg, Any, dict[str, Any]]:
        if r.direction not in self._figures:
            with course_style():
                fig = Figure(figsize=self.figsize)
                canvas = FigureCanvasAgg(fig)
                ax1, ax2 = fig.subplots(1, 2)
                label = next(k for k, v in STEP_DIRECTIONS.items() if v == r.direction)
                marks = _draw_objectives(ax1, r.curves, f"along the {label}")
                kl = _draw_kl(ax2, self._study.curves)
                marks.update({f"kl_{k}": m for k, m in kl.items()})
                for m in marks.values():
                    m.set_animated(True)
                canvas.draw()
                self._figures[r.direction] = (canvas, canvas.copy_from_bbox(fig.bbox), marks)
        return self._figures[r.direction]

    def update(self) -> None:
        t0 = time.perf_counter()
        values = {name: w.value for name, w in self.controls.items()}
        r = self.last_result = self._compute(**values)
        self.n_updates += 1
        canvas, background, marks = self._direction_figure(r)
        for key, _ in _CURVES:
            marks[key].set_data([r.alpha], [getattr(r, key)])
        marks["vline"].set_xdata([r.alpha, r.alpha])
        for key in STEP_DIRECTIONS.values():
            marks[f"kl_{key}"].set_data(([r.alpha], [r.mean_kl]) if key == r.direction else ([], []))
        canvas.restore_region(background)
        for m in marks.values():
            m.axes.draw_artist(m)
        self._show(canvas_png(canvas))
        self.last_timing = {"total": time.perf_counter() - t0}


def step_size_demo(study: StepSizeStudy | None = None) -> SliderDemo:
    """Slider α and a direction toggle → the exact true improvement, surrogate, clipped objective and mean KL."""
    study = study or step_size_study()
    alpha_slider = make_slider(
        widgets.FloatSlider, "step size α", min=0.0, max=float(study.alphas[-1]), step=0.5, value=0.0
    )
    direction = widgets.ToggleButtons(options=list(STEP_DIRECTIONS.items()), value="exact", description="along")

    def compute(alpha_slider: float, direction: str) -> StepSizeResult:
        return step_size_point(alpha_slider, direction, study)

    def readout(r: StepSizeResult) -> str:
        verdict = "the step <b>hurts</b>" if r.true_improvement < 0 else "the step helps"
        gap = r.surrogate - r.true_improvement
        return readout_table(
            [
                ("α", f"{r.alpha:.1f}"),
                ("true J − J_old", f"{r.true_improvement:+.4f}"),
                ("surrogate L", f"{r.surrogate:+.4f}"),
                ("clipped L^CLIP", f"{r.clipped:+.4f}"),
                ("surrogate − true", f"{gap:+.4f}"),
                ("mean KL", f"{r.mean_kl:.4f}"),
            ],
            f"At this α {verdict}. The surrogate is exact to first order only: the states still come from π_old.",
        )

    controls = {"alpha_slider": alpha_slider, "direction": direction}
    return _StepSizeDemo(study, controls, compute, lambda fig, r: None, readout, figsize=(10.0, 4.0))
