r"""Notebook 01 (policy gradient theorem): the Monte Carlo gradient against the exact one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.axes import Axes
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from pgcourse.demos.widget import (
    SliderDemo,
    check_range,
    keep_limits,
    make_slider,
    pair_labels,
    policy_theta,
    readout_table,
    set_errorbar,
    static_figure,
)
from pgcourse.plots import course_style, style_cycle
from pgcourse.toy import DEFAULT_THETA, TabularMDP, course_mdp

__all__ = [
    "GradientSamples",
    "MCGradientResult",
    "gradient_samples",
    "mc_gradient_estimate",
    "static_mc_gradient",
    "mc_gradient_demo",
]


@dataclass(frozen=True)
class GradientSamples:
    r"""A pool of per-trajectory score-function estimates :math:`\hat g_i` and the exact gradient.

    ``grads[i]`` :math:`= \sum_t \gamma^t \nabla_\theta \log\pi_\theta(a_t|s_t)\, G_t` for
    trajectory ``i`` (shape ``(n_pool, S, A)``); ``exact`` :math:`= \nabla_\theta J(\theta)`.
    """

    mdp: TabularMDP
    theta: np.ndarray
    grads: np.ndarray
    exact: np.ndarray

    @property
    def n_pool(self) -> int:
        return self.grads.shape[0]


@dataclass(frozen=True)
class MCGradientResult:
    r"""The Monte Carlo estimate from ``n`` trajectories against the exact gradient.

    ``estimate`` :math:`= \frac1N \sum_{i=1}^N \hat g_i`, ``stderr`` its standard error
    :math:`\sigma/\sqrt N` per component (σ measured on the whole pool),
    ``rel_error`` :math:`= \|\hat g - \nabla J\| / \|\nabla J\|`. The trend: for each
    ``ns[k]`` the relative root-mean-square error ``rmse[k]`` over disjoint batches of
    the pool, the prediction ``theory[k]`` :math:`= \sqrt{\mathrm{tr}\,\Sigma / N} / \|\nabla J\|`,
    and ``slope``, the least-squares slope of log rmse against log N (≈ −1/2).
    """

    n: int
    estimate: np.ndarray
    stderr: np.ndarray
    exact: np.ndarray
    rel_error: float
    ns: np.ndarray
    rmse: np.ndarray
    theory: np.ndarray
    slope: float


@lru_cache(maxsize=4)
def _default_gradient_samples(n_pool: int, seed: int) -> GradientSamples:
    return gradient_samples(n_pool, seed, mdp=course_mdp(), theta=DEFAULT_THETA)


def gradient_samples(
    n_pool: int = 16384, seed: int = 0, mdp: TabularMDP | None = None, theta: np.ndarray | None = None
) -> GradientSamples:
    """Sample ``n_pool`` episodes once and keep their per-trajectory gradient estimates.

    With ``mdp`` and ``theta`` left out, the course corridor and policy are used and
    the pool is cached (the static figure and the slider share it).
    """
    n_pool = int(check_range(n_pool, "n_pool", 16, 1_000_000))
    if mdp is None and theta is None:
        return _default_gradient_samples(n_pool, seed)
    mdp = course_mdp() if mdp is None else mdp
    theta = policy_theta(theta)
    traj = mdp.sample(theta, n_pool, seed=seed)
    return GradientSamples(mdp, theta, mdp.mc_gradients(theta, traj), mdp.exact_gradient(theta))


def mc_gradient_estimate(n: int, samples: GradientSamples | None = None) -> MCGradientResult:
    r"""The score-function estimate of :math:`\nabla_\theta J` from the first ``n`` trajectories.

    .. math:: \hat g = \frac1N \sum_{i=1}^N \sum_t \gamma^t \nabla_\theta\log\pi_\theta(a_t|s_t)\, G_t
              \;\xrightarrow{N\to\infty}\; \nabla_\theta J(\theta),
              \qquad \mathrm{error} \propto 1/\sqrt N.
    """
    samples = samples or gradient_samples()
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= samples.n_pool:
        raise ValueError(f"n={n!r} is outside the allowed range [1, {samples.n_pool}] (an integer)")
    n = int(n)
    g, exact = samples.grads, samples.exact
    norm = np.linalg.norm(exact)
    estimate = g[:n].mean(0)
    sigma = g.std(0, ddof=1)
    ns = 2 ** np.arange(0, int(np.log2(samples.n_pool // 8)) + 1)
    rmse = np.array([_batch_rmse(g, exact, int(k)) for k in ns]) / norm
    theory = np.sqrt((sigma**2).sum() / ns) / norm
    slope = float(np.polyfit(np.log(ns), np.log(rmse), 1)[0])
    return MCGradientResult(
        n=n,
        estimate=estimate,
        stderr=sigma / np.sqrt(n),
        exact=exact,
        rel_error=float(np.linalg.norm(estimate - exact) / norm),
        ns=ns,
        rmse=rmse,
        theory=theory,
        slope=slope,
    )


def _batch_rmse(g: np.ndarray, exact: np.ndarray, n: int) -> float:
    """Root-mean-square error of the mean of ``n`` samples, over the disjoint batches of the pool."""
    k = g.shape[0] // n
    means = g[: k * n].reshape(k, n, -1).mean(1)
    return float(np.sqrt(((means - exact.ravel()) ** 2).sum(1).mean()))


def _draw_components(
    ax: Axes, exact: np.ndarray, estimates: Sequence[tuple[str, np.ndarray, np.ndarray]]
) -> list[ErrorbarContainer]:
    """Each estimate (±2 s.e.) beside the exact gradient, component by component; returns the error bars."""
    labels = pair_labels(exact.shape[0])
    x = np.arange(exact.size)
    width = 0.7 / max(len(estimates), 1)
    bars = []
    for j, (label, est, se) in enumerate(estimates):
        offset = (j - (len(estimates) - 1) / 2) * width
        st = style_cycle(j)
        bars.append(ax.errorbar(
            x + offset, est.ravel(), yerr=2 * se.ravel(), fmt="o", color=st["color"], markersize=5, capsize=2,
            label=label,
        ))
    ax.scatter(x, exact.ravel(), marker="_", s=500, color="black", linewidths=2.5, label="exact", zorder=3)
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.set_xticks(x, labels)
    ax.set_xlabel(r"component $\theta_{s,a}$")
    ax.set_ylabel(r"$\partial J / \partial\theta_{s,a}$")
    return bars


def _draw_trend(
    ax: Axes, r: MCGradientResult, marks: Sequence[MCGradientResult] = (), n_max: int = 1
) -> list[Line2D]:
    """The measured and predicted error against N (the line up to at least ``n_max``); returns the marks."""
    ax.loglog(r.ns, r.rmse, "o", color="0.35", label="measured (batches of the pool)")
    n_max = max([n_max, int(r.ns[-1]), *(m.n for m in marks)])
    grid = np.geomspace(1, n_max, 50)
    ax.loglog(grid, r.theory[0] / np.sqrt(grid), "--", color="black", linewidth=1.5,
              label=r"$\sqrt{\mathrm{tr}\,\Sigma/N}$ (slope −1/2)")
    dots = [ax.plot([m.n], [m.rel_error], "D", color=style_cycle(j)["color"], markersize=8, label=f"N = {m.n}")[0]
            for j, m in enumerate(marks)]
    ax.set_xlabel("trajectories N")
    ax.set_ylabel(r"relative error $\|\hat g - \nabla J\| / \|\nabla J\|$")
    ax.set_title(f"measured slope {r.slope:.2f} (theory −0.5)")
    ax.legend(loc="lower left", fontsize=10)
    return dots


def _draw_mc(fig: Figure, r: MCGradientResult, results: Sequence[MCGradientResult]) -> dict[str, Any]:
    """The demo's figure, with axes that hold every result of the slider (``results``); returns what a move changes."""
    ax1, ax2 = fig.subplots(1, 2, width_ratios=(1.3, 1))
    (bars,) = _draw_components(ax1, r.exact, [("estimate (±2 s.e.)", r.estimate, r.stderr)])
    ax1.legend(loc="lower left", fontsize=10)
    (dot,) = _draw_trend(ax2, r, marks=[r], n_max=max(m.n for m in results))
    errors = [m.rel_error for m in results] + list(r.rmse)
    ax2.set_ylim(0.7 * min(errors), 1.5 * max(errors))
    return {"bars": bars, "title": ax1.title, "dot": dot, "legend": ax2.get_legend()}


def _refresh_mc(artists: dict[str, Any], r: MCGradientResult) -> None:
    x = np.arange(r.exact.size)
    set_errorbar(artists["bars"], x, r.estimate.ravel(), 2 * r.stderr.ravel())
    artists["title"].set_text(f"N = {r.n}: relative error {r.rel_error:.1%}")
    artists["dot"].set_data([r.n], [r.rel_error])
    artists["legend"].get_texts()[-1].set_text(f"N = {r.n}")
    low, high = (r.estimate - 2 * r.stderr).min(), (r.estimate + 2 * r.stderr).max()
    keep_limits(artists["title"].axes, min(low, r.exact.min()), max(high, r.exact.max()))


def static_mc_gradient(ns: Sequence[int] = (4, 64, 1024, 16384), samples: GradientSamples | None = None) -> Figure:
    """Estimates at a few N side by side with the exact gradient, and the 1/√N trend."""
    samples = samples or gradient_samples()
    results = [mc_gradient_estimate(n, samples) for n in ns]
    fig, (ax1, ax2) = static_figure(2, (13, 4.6))
    with course_style():
        _draw_components(ax1, samples.exact, [(f"N = {r.n}", r.estimate, r.stderr) for r in results])
        ax1.set_title("Monte Carlo estimates (±2 s.e.) vs the exact gradient")
        ax1.legend(loc="lower left", fontsize=9, ncol=2)
        _draw_trend(ax2, results[-1], marks=results)
    return fig


def mc_gradient_demo(samples: GradientSamples | None = None) -> SliderDemo:
    """Slider: number of sampled trajectories N → the estimate against the exact gradient."""
    samples = samples or gradient_samples()
    options = [int(2**k) for k in range(int(np.log2(samples.n_pool)) + 1)]
    n_slider = make_slider(widgets.SelectionSlider, "trajectories N", options=options, value=16)

    def readout(r: MCGradientResult) -> str:
        return readout_table(
            [("N", f"{r.n}"), ("relative error", f"{r.rel_error:.1%}"), ("error slope", f"{r.slope:.2f}")],
            "Each step right doubles N; the error shrinks by about √2 per step: 1/√N.",
        )

    results = {n: mc_gradient_estimate(n, samples) for n in options}  # every N once, at build time (a few ms each)
    demo = SliderDemo({"n_slider": n_slider}, lambda n_slider: results[n_slider],
                      lambda fig, r: _draw_mc(fig, r, list(results.values())), readout, refresh=_refresh_mc)
    demo.prerender(list(results.values()))  # the y limits of the estimates change with N: render them now
    return demo
