r"""Notebook 03 (baselines): the variance of the gradient against the baseline strength β."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from pgcourse.demos.widget import (
    ACTION_NAMES,
    SliderDemo,
    check_range,
    keep_limits,
    make_slider,
    policy_theta,
    readout_table,
    set_box,
    static_figure,
)
from pgcourse.plots import OKABE_ITO, course_style, style_cycle
from pgcourse.toy import DEFAULT_THETA, TabularMDP, Trajectories, course_mdp

__all__ = [
    "BaselineStudy",
    "BaselineResult",
    "baseline_study",
    "baseline_variance",
    "exact_baseline_term",
    "optimal_baseline_scale",
    "static_baseline_variance",
    "baseline_demo",
]


@dataclass(frozen=True)
class BaselineStudy:
    r"""Sampled episodes shared by every β (common random numbers).

    With :math:`b(s) = \beta V(s)` the per-trajectory estimate is linear in β:
    :math:`\hat g_i(\beta) = g0_i - \beta\, h_i`, where ``g0`` is the estimate without
    baseline and ``h`` :math:`= \sum_t \gamma^t \nabla\log\pi(a_t|s_t) V(s_t)`.
    """

    mdp: TabularMDP
    theta: np.ndarray
    traj: Trajectories
    values: np.ndarray
    g0: np.ndarray
    h: np.ndarray
    exact: np.ndarray
    betas: np.ndarray = field(default_factory=lambda: np.linspace(0.0, 1.5, 61))


@dataclass(frozen=True)
class BaselineResult:
    r"""Variance and mean of the gradient estimate with baseline :math:`b = \beta V`.

    * ``variance``: measured :math:`\mathrm{tr}\,\mathrm{Cov}[\hat g_i(\beta)]` on the
      study's episodes (from ``mc_gradients(theta, traj, baseline=beta*V)``);
    * ``variance_curve``: the same at every β of ``betas``, the quadratic
      :math:`\mathrm{tr\,Var}(g0) - 2\beta\, \mathrm{tr\,Cov}(g0,h) + \beta^2\, \mathrm{tr\,Var}(h)`;
    * ``beta_star``: its minimiser :math:`\beta^* = \sum \mathrm{Cov}(g0,h) / \sum \mathrm{Var}(h)`;
    * ``exact_mean``: :math:`E[\hat g(\beta)]` by enumeration, the exact gradient for every β,
      because ``exact_baseline_term`` :math:`= \sum_s d(s)\sum_a \pi(a|s)\nabla\log\pi(a|s)\,V(s) = 0`;
    * ``mean``: the sample mean at β (it moves a little: sampling noise, not bias).
    """

    beta: float
    variance: float
    mean: np.ndarray
    exact_mean: np.ndarray
    exact_gradient: np.ndarray
    exact_baseline_term: np.ndarray
    betas: np.ndarray
    variance_curve: np.ndarray
    beta_star: float
    variance_star: float
    variance_zero: float
    variance_one: float
    samples: np.ndarray


@lru_cache(maxsize=4)
def _default_baseline_study(n: int, seed: int) -> BaselineStudy:
    return baseline_study(n, seed, mdp=course_mdp(), theta=DEFAULT_THETA)


def baseline_study(
    n: int = 4000, seed: int = 0, mdp: TabularMDP | None = None, theta: np.ndarray | None = None
) -> BaselineStudy:
    """Sample ``n`` episodes once; every β is measured on these same episodes."""
    n = int(check_range(n, "n", 10, 1_000_000))
    if mdp is None and theta is None:
        return _default_baseline_study(n, seed)
    mdp = course_mdp() if mdp is None else mdp
    theta = policy_theta(theta)
    traj = mdp.sample(theta, n, seed=seed)
    V = mdp.values(theta)
    g0 = mdp.mc_gradients(theta, traj)
    h = g0 - mdp.mc_gradients(theta, traj, baseline=V)
    return BaselineStudy(mdp, theta, traj, V, g0, h, mdp.exact_gradient(theta))


def exact_baseline_term(mdp: TabularMDP, theta: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""What a baseline adds to the expected gradient, by enumeration over states and actions.

    .. math:: E\Big[\sum_t \gamma^t \nabla_\theta \log\pi(a_t|s_t)\, b(s_t)\Big]
              = \sum_s d(s)\, b(s) \sum_a \pi(a|s)\, \nabla_\theta \log\pi(a|s) = 0,

    since :math:`\sum_a \pi \nabla\log\pi = \nabla \sum_a \pi = \nabla 1 = 0`. For the
    softmax table :math:`\nabla_{\theta_{s,\cdot}}\log\pi(a|s) = e_a - \pi(\cdot|s)`. Shape ``(S, A)``.
    """
    pi = mdp.policy(theta)
    d = mdp.visitation(theta)
    b = np.asarray(b, dtype=np.float64)
    if b.shape != (mdp.n_states,):
        raise ValueError(f"b must have shape (S,) = ({mdp.n_states},), got {b.shape}")
    score = np.eye(mdp.n_actions)[None, :, :] - pi[:, None, :]  # [s, a, a'] = ∂ log π(a|s) / ∂θ_{s,a'}
    return d[:, None] * b[:, None] * np.einsum("sa,sab->sb", pi, score)


def _trace_moments(g0: np.ndarray, h: np.ndarray) -> tuple[float, float, float]:
    """Σ Var(g0), Σ Cov(g0, h), Σ Var(h) over components (sample moments, ddof = 1)."""
    a = g0.reshape(g0.shape[0], -1)
    c = h.reshape(h.shape[0], -1)
    a = a - a.mean(0)
    c = c - c.mean(0)
    k = a.shape[0] - 1
    return float((a * a).sum() / k), float((a * c).sum() / k), float((c * c).sum() / k)


def optimal_baseline_scale(g0: np.ndarray, h: np.ndarray) -> float:
    r"""The β minimising :math:`\mathrm{tr\,Var}[g0 - \beta h]`.

    .. math:: \beta^* = \sum \mathrm{Cov}(g0, h) / \sum \mathrm{Var}(h)   (sums over components).
    """
    _, cov, var_h = _trace_moments(g0, h)
    if var_h == 0:
        raise ValueError("h has zero variance; the optimal baseline scale is undefined")
    return cov / var_h


def _total_variance(g: np.ndarray) -> float:
    flat = g.reshape(g.shape[0], -1)
    return float(flat.var(0, ddof=1).sum())


def baseline_variance(beta: float, study: BaselineStudy | None = None) -> BaselineResult:
    r"""Measured variance of :math:`\hat g(\beta)` with :math:`b(s) = \beta V(s)`, and its exact mean.

    .. math:: \hat g_i(\beta) = \sum_t \gamma^t \nabla_\theta\log\pi_\theta(a_t|s_t)\,(G_t - \beta V(s_t)),
              \qquad \mathrm{Var}(\beta) = \mathrm{tr}\,\mathrm{Cov}_i[\hat g_i(\beta)].

    The variance is quadratic in β with minimum at β* (close to, but not exactly, 1);
    the exact mean :math:`E[\hat g(\beta)] = \nabla J - \beta \cdot 0` does not move.
    """
    study = study or baseline_study()
    beta = check_range(beta, "beta", 0.0, 3.0)
    mdp, theta = study.mdp, study.theta
    g = mdp.mc_gradients(theta, study.traj, baseline=beta * study.values)
    var_g0, cov, var_h = _trace_moments(study.g0, study.h)
    curve = var_g0 - 2 * study.betas * cov + study.betas**2 * var_h
    beta_star = optimal_baseline_scale(study.g0, study.h)
    term = exact_baseline_term(mdp, theta, study.values)
    return BaselineResult(
        beta=beta,
        variance=_total_variance(g),
        mean=g.mean(0),
        exact_mean=study.exact - beta * term,
        exact_gradient=study.exact,
        exact_baseline_term=term,
        betas=study.betas,
        variance_curve=curve,
        beta_star=float(beta_star),
        variance_star=float(var_g0 - cov**2 / var_h),
        variance_zero=var_g0,
        variance_one=float(var_g0 - 2 * cov + var_h),
        samples=g,
    )


def _component(result: BaselineResult) -> tuple[int, int]:
    """The gradient component whose per-trajectory estimates spread most at ``result.beta`` (the one worth showing)."""
    spread = result.samples.std(0)
    s, a = np.unravel_index(int(np.argmax(spread)), spread.shape)
    return int(s), int(a)


def _draw_variance_curve(ax: Axes, r: BaselineResult, marks: Sequence[tuple[float, float]] = ()) -> list[Line2D]:
    """The variance against β, the β* and β = 1 lines, and the measured points ``marks`` (returned)."""
    ax.plot(r.betas, r.variance_curve, color=OKABE_ITO[0], label=r"tr Var $\hat g(\beta)$")
    ax.axvline(r.beta_star, color=OKABE_ITO[2], linestyle="--", label=rf"$\beta^*$ = {r.beta_star:.2f}")
    ax.axvline(1.0, color=OKABE_ITO[1], linestyle=":", label=r"$\beta$ = 1 (b = V)")
    dots = [
        ax.plot([b], [v], "o", color="black", markersize=8, zorder=3, label="measured" if j == 0 else None)[0]
        for j, (b, v) in enumerate(marks or ((r.beta, r.variance),))
    ]
    ax.set_xlabel(r"baseline strength $\beta$  ($b = \beta V$)")
    ax.set_ylabel("variance per trajectory")
    ax.set_ylim(0, 1.7 * r.variance_curve.max())
    ax.legend(fontsize=9, loc="upper left")
    return dots


def _draw_spread(
    ax: Axes, results: Sequence[BaselineResult], comp: tuple[int, int], labels: Sequence[str] | None = None
) -> tuple[dict[str, list], Line2D]:
    """Box plots (whiskers 5–95 %) of one gradient component at each β, sample means, and the exact mean.

    Returns the boxes (``ax.boxplot``'s dict) and the line of sample means. ``labels``: the boxes' tick labels
    (default: their β).
    """
    s, a = comp
    data = [r.samples[:, s, a] for r in results]
    box = ax.boxplot(data, whis=(5, 95), showfliers=False, patch_artist=True, widths=0.5)
    for j, patch in enumerate(box["boxes"]):
        patch.set(facecolor=style_cycle(j)["color"], alpha=0.35, linestyle=style_cycle(j)["linestyle"])
    (means,) = ax.plot(range(1, len(data) + 1), [d.mean() for d in data], "o", color="black", label="sample mean")
    ax.axhline(results[0].exact_gradient[s, a], color="black", linewidth=1.5, linestyle="--",
               label="exact mean (every β)")
    ax.set_xticks(range(1, len(data) + 1), labels or [rf"$\beta$ = {r.beta:.2f}" for r in results])
    ax.set_ylabel(rf"per-trajectory $\hat g$ for $\theta_{{{s},{ACTION_NAMES[a]}}}$")
    ax.legend(fontsize=9, loc="upper right")
    return box, means


def static_baseline_variance(
    betas: Sequence[float] = (0.0, 0.5, 1.0, 1.5), study: BaselineStudy | None = None
) -> Figure:
    """Variance against β (marks at ``betas``), and the spread of one gradient component at those β."""
    study = study or baseline_study()
    results = [baseline_variance(b, study) for b in betas]
    fig, (ax1, ax2) = static_figure(2, (13, 4.6))
    with course_style():
        _draw_variance_curve(ax1, results[0], marks=[(r.beta, r.variance) for r in results])
        ax1.set_title("same episodes, different baselines")
        _draw_spread(ax2, results, _component(results[0]))
        ax2.set_title("the spread shrinks, the mean stays")
    return fig


def baseline_demo(study: BaselineStudy | None = None) -> SliderDemo:
    """Slider β ∈ [0, 1.5] → measured variance of the gradient estimate with b = β·V."""
    study = study or baseline_study()
    beta_slider = make_slider(
        widgets.FloatSlider, "baseline strength β", min=0.0, max=1.5, step=0.05, value=0.0
    )
    zero = baseline_variance(0.0, study)
    comp = _component(zero)

    def compute(beta_slider: float) -> BaselineResult:
        return baseline_variance(beta_slider, study)

    def draw(fig: Figure, r: BaselineResult) -> dict[str, Any]:
        ax1, ax2 = fig.subplots(1, 2)
        (dot,) = _draw_variance_curve(ax1, r)
        box, means = _draw_spread(ax2, [zero, r], comp, labels=[r"$\beta$ = 0", r"$\beta$ of the slider"])
        ax2.set_title("spread of one gradient component")
        return {"dot": dot, "title": ax1.title, "box": box, "means": means}

    def refresh(artists: dict[str, Any], r: BaselineResult) -> None:
        artists["dot"].set_data([r.beta], [r.variance])
        artists["title"].set_text(rf"$\beta$ = {r.beta:.2f}: variance {r.variance:.3f}")
        samples = r.samples[:, comp[0], comp[1]]
        set_box(artists["box"], 1, samples)
        artists["means"].set_ydata([zero.samples[:, comp[0], comp[1]].mean(), samples.mean()])
        ends = np.percentile([zero.samples[:, comp[0], comp[1]], samples], [5, 95], axis=1)
        exact = r.exact_gradient[comp]
        keep_limits(artists["means"].axes, min(ends.min(), exact), max(ends.max(), exact), margin=0.1)

    def readout(r: BaselineResult) -> str:
        shift = np.abs(r.exact_mean - r.exact_gradient).max()
        return readout_table(
            [
                ("β", f"{r.beta:.2f}"),
                ("variance", f"{r.variance:.4f}"),
                ("vs no baseline", f"{r.variance / r.variance_zero:.0%}"),
                ("β* (minimum)", f"{r.beta_star:.3f}"),
                ("exact mean shift", f"{shift:.1e}"),
            ],
            "The exact mean never moves (shift ~ 1e-17, rounding). The best β is close to 1, not exactly 1.",
        )

    return SliderDemo({"beta_slider": beta_slider}, compute, draw, readout, refresh=refresh)
