r"""Notebook 09 (diagnostics): the k1 and k3 estimators of the KL divergence."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from pgcourse._threads import torch_threads
from pgcourse.demos.widget import (
    SliderDemo,
    check_range,
    make_slider,
    readout_table,
    static_figure,
    step_outline,
)
from pgcourse.diagnostics import approx_kl
from pgcourse.plots import OKABE_ITO, course_style, style_cycle

__all__ = [
    "KLEstimates",
    "KL_CROSSOVER_SHIFT",
    "kl_estimates",
    "static_kl_estimators",
    "kl_estimator_demo",
]


@dataclass(frozen=True)
class KLEstimates:
    r"""k1 and k3 estimates of :math:`\mathrm{KL}(\pi_{old}\|\pi_\theta)`, one per small batch, and their exact laws.

    The two "policies" are Gaussians of unit standard deviation, :math:`\pi_{old} = N(0, 1)`
    and :math:`\pi_\theta = N(\delta, 1)`: the new policy's mean moved by ``shift`` δ
    standard deviations, and :math:`\mathrm{KL} = \delta^2/2` exactly. Actions are
    sampled from :math:`\pi_{old}`, so :math:`\log r = \delta a - \delta^2/2`, and for a
    batch of ``batch_size`` B actions:

    * k1 :math:`= \mathrm{mean}(-\log r)` is Gaussian, with mean :math:`\delta^2/2`,
      standard deviation :math:`\delta/\sqrt B` (``k1_std_theory``) and probability
      :math:`\Phi(-\delta\sqrt B/2)` of being negative (``k1_negative_theory``);
    * k3 :math:`= \mathrm{mean}((r - 1) - \log r) \ge 0`, with mean :math:`\delta^2/2` and
      standard deviation :math:`\sqrt{(e^{\delta^2} - 1 - \delta^2)/B}` (``k3_std_theory``).

    k3 is less noisy while :math:`e^{\delta^2} - 1 - \delta^2 < \delta^2`, i.e. for
    :math:`\delta <` :data:`KL_CROSSOVER_SHIFT` ≈ 1.12 (KL < 0.63): everywhere PPO operates.
    ``k1``, ``k3``: the ``n_batches`` estimates, computed with :func:`pgcourse.approx_kl`.
    """

    shift: float
    batch_size: int
    exact: float
    k1: np.ndarray
    k3: np.ndarray
    k1_std_theory: float
    k3_std_theory: float
    k1_negative_theory: float

    @property
    def k1_mean(self) -> float:
        return float(self.k1.mean())

    @property
    def k3_mean(self) -> float:
        return float(self.k3.mean())

    @property
    def k1_std(self) -> float:
        return float(self.k1.std(ddof=1))

    @property
    def k3_std(self) -> float:
        return float(self.k3.std(ddof=1))

    @property
    def k1_negative(self) -> float:
        """Fraction of k1 estimates below 0 (a KL never is)."""
        return float((self.k1 < 0).mean())

    @property
    def k3_negative(self) -> float:
        return float((self.k3 < 0).mean())


def _crossover_shift() -> float:
    """δ at which :math:`e^{\\delta^2} - 1 - \\delta^2 = \\delta^2`: k1 and k3 are equally noisy."""
    lo, hi = 0.5, 2.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if math.expm1(mid**2) - 2 * mid**2 < 0 else (lo, mid)
    return 0.5 * (lo + hi)


#: Below this shift δ (in standard deviations of the policy) k3 has the smaller variance; above it, k1.
KL_CROSSOVER_SHIFT = _crossover_shift()


@lru_cache(maxsize=8)
def _standard_normal(n_batches: int, batch_size: int, seed: int) -> torch.Tensor:
    """The same actions (in units of σ) for every shift: common random numbers, so the slider moves smoothly."""
    return torch.randn(n_batches, batch_size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def kl_estimates(shift: float, batch_size: int = 16, n_batches: int = 2000, seed: int = 0) -> KLEstimates:
    r"""``n_batches`` k1 and k3 estimates of :math:`\mathrm{KL}(N(0,1) \| N(\delta,1)) = \delta^2/2`, B actions each.

    Each batch's log-probabilities go through :func:`pgcourse.approx_kl`, exactly as in
    training; the exact KL and the exact spread of both estimators come with them
    (see :class:`KLEstimates`). Results are cached: the static figure, the checks and
    the slider share them.
    """
    shift = check_range(shift, "shift", 0.0, 3.0)
    batch_size = int(check_range(batch_size, "batch_size", 1, 4096))
    n_batches = int(check_range(n_batches, "n_batches", 2, 100_000))
    return _kl_estimates(shift, batch_size, n_batches, int(seed))


@lru_cache(maxsize=64)
def _kl_estimates(shift: float, batch_size: int, n_batches: int, seed: int) -> KLEstimates:
    a = _standard_normal(n_batches, batch_size, seed)
    old = torch.distributions.Normal(0.0, 1.0)
    new = torch.distributions.Normal(shift, 1.0)
    # one thread: small tensors, and no start of torch's thread pool (about 0.1 s) in the middle of a slider drag
    with torch_threads(1):  # one estimate per batch (row), exactly as training computes one per update
        old_lp, new_lp = old.log_prob(a), new.log_prob(a)
        k1 = approx_kl(old_lp, new_lp, "k1", dim=1).double().numpy()
        k3 = approx_kl(old_lp, new_lp, "k3", dim=1).double().numpy()
    k1.flags.writeable = k3.flags.writeable = False  # shared through the cache
    d2 = shift**2
    return KLEstimates(
        shift=shift,
        batch_size=batch_size,
        exact=d2 / 2,
        k1=k1,
        k3=k3,
        k1_std_theory=shift / math.sqrt(batch_size),
        k3_std_theory=math.sqrt(max(math.expm1(d2) - d2, 0.0) / batch_size),
        k1_negative_theory=0.5 * math.erfc(shift * math.sqrt(batch_size) / 2 / math.sqrt(2)) if shift > 0 else 0.0,
    )


def _kl_bins(r: KLEstimates) -> np.ndarray:
    lo = min(np.percentile(r.k1, 0.5), 0.0)
    hi = max(np.percentile(r.k1, 99.5), np.percentile(r.k3, 99.5), 2 * r.exact, 1e-3)
    return np.linspace(lo, hi, 50)


def _draw_kl_hist(ax: Axes, r: KLEstimates, title: str | None = None) -> dict[str, Any]:
    """Histograms of the k1 and k3 estimates with the exact KL; returns the histograms' outlines and fills."""
    bins = _kl_bins(r)
    hists = []
    for j, (name, est) in enumerate((("k1", r.k1), ("k3", r.k3))):
        st = style_cycle(j)
        *_, fill = ax.hist(est, bins=bins, density=True, histtype="stepfilled", alpha=0.25, color=st["color"])
        label = f"{name} (std {est.std():.3g})"
        *_, line = ax.hist(est, bins=bins, density=True, histtype="step", linewidth=1.8, label=label, **st)
        hists.append((fill[0], line[0]))
    exact = ax.axvline(r.exact, color="black", linewidth=2, label=f"exact KL {r.exact:.3g}")
    ax.axvline(0, color="0.5", linewidth=0.8)
    ax.set_xlabel(f"estimate from a batch of {r.batch_size} actions")
    ax.set_yticks([])
    ax.set_title(title or rf"shift $\delta$ = {r.shift:.2f}")
    legend = ax.legend(fontsize=9)
    return {"hists": hists, "exact": exact, "legend": legend, "title": ax.title}


def _refresh_kl_hist(artists: dict[str, Any], r: KLEstimates) -> None:
    """Move the histograms, the exact KL, the legend, the title and the limits of :func:`_draw_kl_hist` to ``r``."""
    bins = _kl_bins(r)
    top = 0.0
    for (fill, line), est in zip(artists["hists"], (r.k1, r.k3), strict=True):
        counts, _ = np.histogram(est, bins=bins, density=True)
        fill.set_xy(step_outline(counts, bins, filled=True))
        line.set_xy(step_outline(counts, bins, filled=False))
        top = max(top, float(counts.max()))
    artists["exact"].set_xdata([r.exact, r.exact])
    texts = artists["legend"].get_texts()
    for text, (name, est) in zip(texts, (("k1", r.k1), ("k3", r.k3)), strict=False):
        text.set_text(f"{name} (std {est.std():.3g})")
    texts[-1].set_text(f"exact KL {r.exact:.3g}")
    artists["title"].set_text(rf"shift $\delta$ = {r.shift:.2f}")
    ax = artists["title"].axes
    ax.set_xlabel(f"estimate from a batch of {r.batch_size} actions")
    ax.set_xlim(bins[0] - 0.02 * (bins[-1] - bins[0]), bins[-1] + 0.02 * (bins[-1] - bins[0]))
    ax.set_ylim(0.0, 1.05 * top)


def _spread_theory(shifts: np.ndarray, b: int) -> tuple[np.ndarray, np.ndarray]:
    return shifts / np.sqrt(b), np.sqrt(np.maximum(np.expm1(shifts**2) - shifts**2, 0.0) / b)


def _draw_kl_spread(ax: Axes, r: KLEstimates) -> dict[str, Any]:
    """The std of k1 and k3 against the shift (theory) and the measured std at ``r``; returns what a move changes."""
    shifts = np.linspace(0.0, 2.0, 81)
    k1, k3 = _spread_theory(shifts, r.batch_size)
    theory = [ax.plot(shifts, k1, label="k1 (theory)", **style_cycle(0))[0],
              ax.plot(shifts, k3, label="k3 (theory)", **style_cycle(1))[0]]
    measured = [ax.plot([r.shift], [r.k1_std], "o", color=OKABE_ITO[0], markersize=8, label="measured")[0],
                ax.plot([r.shift], [r.k3_std], "o", color=OKABE_ITO[1], markersize=8)[0]]
    ax.set_ylim(0, float(k1.max()) * 1.6)
    ax.axvline(KL_CROSSOVER_SHIFT, color="0.4", linestyle=":", linewidth=1.5)
    at = ax.get_xaxis_transform()  # x in data, y in axes units: the labels stay put when the y limits change
    ax.text(KL_CROSSOVER_SHIFT, 0.55, "k3 less noisy ←  ", fontsize=9, color="0.3", ha="right", transform=at)
    ax.text(KL_CROSSOVER_SHIFT, 0.08, "  → k1 less noisy", fontsize=9, color="0.3", ha="left", transform=at)
    ax.set_xlabel(r"shift $\delta$ of the new policy (in $\sigma$)")
    ax.set_ylabel("std of the estimate")
    ax.legend(fontsize=9, loc="upper left")
    return {"theory": theory, "measured": measured}


def static_kl_estimators(
    shifts: Sequence[float] = (0.1, 0.3, 0.6, 1.5), batch_size: int = 16, n_batches: int = 2000
) -> Figure:
    """Histograms of k1 and k3 estimates at a few shifts, each with the exact KL (one panel per shift)."""
    fig, axes = static_figure(len(shifts), (3.7 * len(shifts), 3.8))
    with course_style():
        for ax, s in zip(axes, shifts, strict=True):
            r = kl_estimates(s, batch_size, n_batches)
            _draw_kl_hist(ax, r, rf"$\delta$ = {s:g}: KL = {r.exact:.3g}")
    return fig


def kl_estimator_demo(batch_size: int = 16, n_batches: int = 2000) -> SliderDemo:
    """Sliders: shift δ of the new policy and batch size → the spread of k1 and k3 against the exact KL."""
    shift_slider = make_slider(widgets.FloatSlider, "shift δ (in σ)", min=0.0, max=2.0, step=0.05, value=0.3)
    options = [2**k for k in range(1, 9)]
    batch_slider = make_slider(
        widgets.SelectionSlider, "batch size B", options=options, value=batch_size if batch_size in options else 16
    )

    def compute(shift_slider: float, batch_slider: int) -> KLEstimates:
        return kl_estimates(shift_slider, batch_slider, n_batches)

    def draw(fig: Figure, r: KLEstimates) -> dict[str, Any]:
        ax1, ax2 = fig.subplots(1, 2)
        spread = _draw_kl_spread(ax2, r)
        # the histograms' axes is redrawn with its ticks on every move (its limits follow δ), the other one is not
        return {"axes": ax1, "hist": _draw_kl_hist(ax1, r), "theory": spread["theory"],
                "measured": spread["measured"], "title": ax2.title}

    shifts = np.linspace(0.0, 2.0, 81)

    def refresh(artists: dict[str, Any], r: KLEstimates) -> int:
        _refresh_kl_hist(artists["hist"], r)
        for line, y in zip(artists["theory"], _spread_theory(shifts, r.batch_size), strict=True):
            line.set_ydata(y)
        for dot, std in zip(artists["measured"], (r.k1_std, r.k3_std), strict=True):
            dot.set_data([r.shift], [std])
        artists["title"].set_text(f"spread of the estimates, B = {r.batch_size}")
        artists["title"].axes.set_ylim(0, float(shifts[-1] / np.sqrt(r.batch_size)) * 1.6)
        return r.batch_size

    def readout(r: KLEstimates) -> str:
        return readout_table(
            [
                ("exact KL δ²/2", f"{r.exact:.4f}"),
                ("mean of k1 / k3", f"{r.k1_mean:.4f} / {r.k3_mean:.4f}"),
                ("std of k1 / k3", f"{r.k1_std:.4f} / {r.k3_std:.4f}"),
                ("k1 < 0", f"{r.k1_negative:.0%} of batches"),
                ("k3 < 0", f"{r.k3_negative:.0%} of batches"),
            ],
            "Both are unbiased (their means match the exact KL). k3 is never negative and, for "
            f"δ < {KL_CROSSOVER_SHIFT:.2f}, less noisy; past that its heavy tail makes it the noisier one.",
        )

    demo = SliderDemo({"shift_slider": shift_slider, "batch_slider": batch_slider}, compute, draw, readout,
                      refresh=refresh)
    demo.prerender([compute(shift_slider.value, b) for b in options])  # one background per batch size
    return demo
