r"""One plot style for the whole course: learning curves, diagnostics panels, a live plot.

* :func:`use_course_style` — large fonts (readable on a projector), a grid, the
  colour-blind-safe Okabe–Ito palette, and a *line style* for every colour, so
  curves stay distinguishable in greyscale and for colour-blind readers.
* :func:`learning_curve` — the mean over seeds and its spread (min–max, IQR or
  ±1 std band), on a common x grid (env steps or episodes).
* :func:`diagnostics_panel` — small multiples of the training diagnostics
  (approx KL, clip fraction, entropy, explained variance, gradient norm, mean return).
* :class:`LivePlot` — a trainer callback that redraws the learning curve in the
  notebook at most about once per second, and once more at the end.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

__all__ = [
    "OKABE_ITO",
    "LINESTYLES",
    "COURSE_RC",
    "use_course_style",
    "course_style",
    "pretty",
    "summarize_runs",
    "style_cycle",
    "learning_curve",
    "diagnostics_panel",
    "DIAGNOSTIC_KEYS",
    "LivePlot",
    "figure_png",
]

#: Okabe & Ito (2008) colour-blind-safe palette, ordered for contrast on white (yellow last).
OKABE_ITO = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#E69F00",  # orange
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#000000",  # black
    "#F0E442",  # yellow
)

#: One line style per colour: a curve is identified by colour *and* dash pattern.
LINESTYLES = (
    "-",
    "--",
    "-.",
    ":",
    (0, (5, 1)),
    (0, (3, 1, 1, 1)),
    (0, (1, 1)),
    (0, (5, 2, 1, 2, 1, 2)),
)

#: The course's rcParams (applied by :func:`use_course_style`, or temporarily by :func:`course_style`).
COURSE_RC: dict[str, Any] = {
    "figure.figsize": (8.0, 4.5),
    "figure.dpi": 100,
    "figure.constrained_layout.use": True,
    "font.size": 13,
    "axes.titlesize": 14,
    "axes.labelsize": 13,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "legend.frameon": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linestyle": "-",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=list(OKABE_ITO)) + cycler(linestyle=list(LINESTYLES)),
    "lines.linewidth": 2.0,
    "lines.markersize": 6,
    "image.cmap": "cividis",
}

#: The per-update quantities shown by :func:`diagnostics_panel` (keys of ``HISTORY_KEYS``).
DIAGNOSTIC_KEYS = ("approx_kl", "clip_fraction", "entropy", "explained_variance", "grad_norm", "mean_return")

#: Drawn (dotted, same colour) in the panel of another key: the clip fraction is counted against ε in force.
COMPANIONS = {"clip_fraction": "clip_eps"}

_PRETTY = {
    "approx_kl": r"approx. KL($\pi_{old}\,\|\,\pi_\theta$)",
    "clip_fraction": "clip fraction",
    "entropy": "policy entropy",
    "explained_variance": "explained variance",
    "grad_norm": "gradient norm",
    "actor_step_norm": r"actor step $\|\Delta\theta\|$",
    "critic_step_norm": r"critic step $\|\Delta\phi\|$",
    "mean_return": "mean return",
    "policy_loss": "policy loss",
    "value_loss": "value loss",
    "lr": "learning rate",
    "clip_eps": "clip range ε in force",
    "env_steps": "environment steps",
    "episodes": "episodes",
    "update": "update",
    "time": "wall-clock time (s)",
}

BANDS = ("minmax", "iqr", "std", "none")


def pretty(key: str) -> str:
    """Axis label of a history key (``"env_steps"`` → ``"environment steps"``)."""
    return _PRETTY.get(key, key.replace("_", " "))


def use_course_style() -> None:
    """Apply :data:`COURSE_RC` globally (call once at the top of a notebook)."""
    matplotlib.rcParams.update(COURSE_RC)


@contextmanager
def course_style() -> Iterator[None]:
    """Apply the course style inside a ``with`` block only.

    Unlike ``matplotlib.rc_context`` this restores *only* the keys it set: a pyplot
    backend initialised inside the block (which switches interactive mode on in a
    notebook) stays initialised, and later figures keep showing up inline.
    """
    old = {key: matplotlib.rcParams[key] for key in COURSE_RC}
    matplotlib.rcParams.update(COURSE_RC)
    try:
        yield
    finally:
        matplotlib.rcParams.update(old)


def style_cycle(i: int) -> dict[str, Any]:
    """The ``i``-th (colour, line style) pair of the course cycle, as keyword arguments for ``ax.plot``."""
    return {"color": OKABE_ITO[i % len(OKABE_ITO)], "linestyle": LINESTYLES[i % len(LINESTYLES)]}


# ---------------------------------------------------------------- learning curves
def _history_of(run: Any) -> list[Mapping[str, float]] | None:
    """The history list of a TrainResult-like object or of a list of record dicts, else None."""
    hist = getattr(run, "history", None)
    if hist is not None:
        return list(hist)
    if isinstance(run, Sequence) and len(run) > 0 and isinstance(run[0], Mapping):
        return list(run)
    return None


def _xy_of(run: Any, x: str, y: str) -> tuple[np.ndarray, np.ndarray]:
    """One run as finite (x, y) arrays, x increasing."""
    hist = _history_of(run)
    if hist is not None:
        xs = np.array([h.get(x, math.nan) for h in hist], dtype=float)
        ys = np.array([h.get(y, math.nan) for h in hist], dtype=float)
    elif isinstance(run, tuple) and len(run) == 2:
        xs, ys = (np.asarray(a, dtype=float).ravel() for a in run)
    else:
        raise ValueError(
            f"cannot read a run of type {type(run).__name__}: pass TrainResults, histories (lists of record "
            "dicts), (x, y) pairs, or a 2-D array of shape (n_runs, n_points)"
        )
    if xs.shape != ys.shape:
        raise ValueError(f"x and y of a run must have the same length, got {xs.shape} and {ys.shape}")
    keep = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    order = np.argsort(xs, kind="stable")
    return xs[order], ys[order]


def _as_runs(results_or_arrays: Any, x: str, y: str, xs: Sequence[float] | None) -> list[tuple[np.ndarray, np.ndarray]]:
    data = results_or_arrays
    if isinstance(data, np.ndarray) or (hasattr(data, "dim") and hasattr(data, "numpy")):
        arr = np.asarray(data, dtype=float)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2:
            raise ValueError(f"an array of runs must have shape (n_runs, n_points), got {arr.shape}")
        grid = np.arange(arr.shape[1], dtype=float) if xs is None else np.asarray(xs, dtype=float)
        if grid.shape != (arr.shape[1],):
            raise ValueError(f"xs has shape {grid.shape} but the runs have {arr.shape[1]} points each")
        return [_xy_of((grid, row), x, y) for row in arr]
    if hasattr(data, "history") or (isinstance(data, Sequence) and data and isinstance(data[0], Mapping)):
        data = [data]  # a single run
    if not isinstance(data, Sequence) or len(data) == 0:
        raise ValueError("results_or_arrays is empty; pass at least one run")
    return [_xy_of(run, x, y) for run in data]


def summarize_runs(
    results_or_arrays: Any,
    x: str = "env_steps",
    y: str = "mean_return",
    band: str = "minmax",
    n_points: int = 200,
    xs: Sequence[float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Runs interpolated onto a common grid: ``(grid, mean, low, high)``.

    The grid spans the x range *all* runs cover (no extrapolation); the band is
    ``"minmax"`` (min–max over runs), ``"iqr"`` (25th–75th percentile), ``"std"``
    (mean ± 1 standard deviation) or ``"none"`` (low = high = mean).
    """
    if band not in BANDS:
        raise ValueError(f"band={band!r} is not supported; use one of {BANDS}")
    if n_points < 2:
        raise ValueError(f"n_points={n_points} is outside the allowed range [2, inf)")
    runs = [r for r in _as_runs(results_or_arrays, x, y, xs) if r[0].size > 0]
    if not runs:
        raise ValueError(f"no run has finite values of x={x!r} and y={y!r} yet")
    lo_x = max(r[0][0] for r in runs)
    hi_x = min(r[0][-1] for r in runs)
    if hi_x < lo_x:
        raise ValueError(f"the runs do not overlap in {x!r}: [{lo_x:g}, {hi_x:g}] is empty")
    grid = np.linspace(lo_x, hi_x, n_points) if hi_x > lo_x else np.array([lo_x])
    Y = np.stack([np.interp(grid, rx, ry) for rx, ry in runs])
    mean = Y.mean(0)
    if band == "minmax":
        low, high = Y.min(0), Y.max(0)
    elif band == "iqr":
        low, high = np.percentile(Y, 25, axis=0), np.percentile(Y, 75, axis=0)
    elif band == "std":
        sd = Y.std(0)
        low, high = mean - sd, mean + sd
    else:
        low = high = mean
    return grid, mean, low, high


def learning_curve(
    ax: Axes,
    results_or_arrays: Any,
    x: str = "env_steps",
    y: str = "mean_return",
    band: str = "minmax",
    label: str | None = None,
    color: str | None = None,
    linestyle: Any = None,
    n_points: int = 200,
    xs: Sequence[float] | None = None,
    target: float | None = None,
) -> Line2D:
    r"""Draw the mean over runs (seeds) of ``y`` against ``x``, with a shaded spread band.

    ``results_or_arrays`` is one or several ``TrainResult`` objects, histories
    (lists of record dicts with the keys of ``HISTORY_KEYS``), ``(x, y)`` array
    pairs, or a 2-D array ``(n_runs, n_points)`` (x = ``xs`` or the index). Runs
    are interpolated onto the x range they all cover; the band is the min–max
    over runs by default (``band="iqr"`` for the interquartile range, ``"std"``
    for ±1 std). With ``n`` runs the legend says so: ``label (n seeds)``.
    Returns the mean line.
    """
    grid, mean, low, high = summarize_runs(results_or_arrays, x, y, band, n_points, xs)
    n_runs = len(_as_runs(results_or_arrays, x, y, xs))
    style: dict[str, Any] = {}
    if color is not None:
        style["color"] = color
    if linestyle is not None:
        style["linestyle"] = linestyle
    text = label if label is None or n_runs == 1 else f"{label} ({n_runs} seeds)"
    (line,) = ax.plot(grid, mean, label=text, **style)
    if n_runs > 1 and band != "none":
        ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    if target is not None:
        ax.axhline(target, color="0.4", linestyle=":", linewidth=1.5)
    ax.set_xlabel(pretty(x))
    ax.set_ylabel(pretty(y))
    return line


# ---------------------------------------------------------------- diagnostics
def diagnostics_panel(
    history_or_result: Any,
    keys: Sequence[str] = DIAGNOSTIC_KEYS,
    x: str = "env_steps",
    ranges: Mapping[str, tuple[float, float]] | None = None,
    labels: Sequence[str] | None = None,
) -> Figure:
    r"""Small multiples of training diagnostics against ``x`` (env steps by default).

    ``history_or_result`` is a ``TrainResult``, a history (list of record dicts),
    or a list of either (one line per run, e.g. per seed). Quantities that are NaN
    throughout (e.g. clip fraction for REINFORCE) get an empty panel saying so.
    A key of :data:`COMPANIONS` is drawn dotted in its partner's panel where a run tracks
    it: the clip range ε in force (``clip_eps``, annealed with ``anneal_clip``) in the
    clip-fraction panel, since the fraction counts the samples with :math:`|r - 1| > \epsilon`.
    ``ranges`` optionally shades a healthy interval per key, e.g.
    ``{"approx_kl": (0.0, 0.02)}``.
    """
    if not keys:
        raise ValueError("keys is empty; name at least one history key")
    single = hasattr(history_or_result, "history") or (
        isinstance(history_or_result, Sequence) and history_or_result and isinstance(history_or_result[0], Mapping)
    )
    runs = [history_or_result] if single else list(history_or_result)
    if not runs:
        raise ValueError("history_or_result is empty; pass a TrainResult, a history or a list of them")
    if labels is not None and len(labels) != len(runs):
        raise ValueError(f"labels has {len(labels)} entries but there are {len(runs)} runs")
    ncols = min(3, len(keys))
    nrows = math.ceil(len(keys) / ncols)
    with course_style():
        fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.0 * nrows), squeeze=False, sharex=True)
        for ax, key in zip(axes.flat, keys, strict=False):
            drawn = False
            for i, run in enumerate(runs):
                rx, ry = _xy_of(run, x, key)
                if ry.size:
                    lab = labels[i] if labels is not None else (f"run {i}" if len(runs) > 1 else None)
                    ax.plot(rx, ry, label=lab, **style_cycle(i), linewidth=1.6)
                    drawn = True
                cx, cy = _xy_of(run, x, COMPANIONS[key]) if key in COMPANIONS else ((), ())
                if len(cy):
                    first = not any(line.get_label() == pretty(COMPANIONS[key]) for line in ax.get_lines())
                    ax.plot(cx, cy, color=style_cycle(i)["color"], linestyle=":", linewidth=1.4,
                            label=pretty(COMPANIONS[key]) if first else "_nolegend_")
            if ranges and key in ranges:
                lo, hi = ranges[key]
                ax.axhspan(lo, hi, color=OKABE_ITO[2], alpha=0.12, linewidth=0)
            if not drawn:
                ax.text(0.5, 0.5, "not tracked\nby this algorithm", ha="center", va="center", transform=ax.transAxes)
            ax.set_title(pretty(key))
        for ax in axes[-1]:
            ax.set_xlabel(pretty(x))
        for ax in list(axes.flat)[len(keys) :]:
            ax.set_visible(False)
        if len(runs) > 1:
            axes.flat[0].legend(fontsize=9)
        for ax, key in zip(axes.flat, keys, strict=False):
            if key in COMPANIONS and any(line.get_label() == pretty(COMPANIONS[key]) for line in ax.get_lines()):
                ax.legend(handles=[h for h in ax.get_lines() if h.get_label() == pretty(COMPANIONS[key])],
                          fontsize=9, loc="upper right")
    return fig


# ---------------------------------------------------------------- live plot
def figure_png(fig: Figure, dpi: int | None = None) -> bytes:
    """Render a figure to PNG bytes (works for pyplot and stand-alone ``Figure`` objects)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _ipython_display(obj: Any, handle: Any) -> Any:
    """Show ``obj`` in a notebook output, updating ``handle`` if there is one; returns the handle."""
    from IPython.display import display

    if handle is None:
        return display(obj, display_id=True)
    handle.update(obj)
    return handle


class LivePlot:
    r"""Trainer callback: a learning curve redrawn in the notebook while training runs.

    Call it with each history record (``callbacks=[live]``). A redraw costs a few
    hundred milliseconds, so it happens at most once every ``min_interval``
    seconds (the first record draws at once), and less often if drawing is slow
    (at most ~20% of the time goes into drawing); :meth:`finish` (alias :meth:`close`)
    always draws the final state, and using the plot as a context manager calls
    it for you::

        with LivePlot(target=475) as live:
            result = train_ppo("CartPole-v1", callbacks=[live])

    When ``update`` restarts at 1 (a new training run, e.g. the next seed), a new
    line is started, so one LivePlot can follow several runs; ``labels`` names them
    in order (default "run 1", "run 2", ...).
    """

    def __init__(
        self,
        x: str = "env_steps",
        y: str = "mean_return",
        target: float | None = None,
        title: str | None = None,
        min_interval: float = 1.0,
        figsize: tuple[float, float] = (8.5, 4.0),
        labels: Sequence[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        display: Callable[[Any, Any], Any] | None = _ipython_display,
    ) -> None:
        if not (isinstance(min_interval, (int, float)) and math.isfinite(min_interval) and min_interval >= 0):
            raise ValueError(f"min_interval={min_interval!r} is outside the allowed range [0, inf)")
        self.x, self.y, self.target, self.title = x, y, target, title
        self.min_interval = float(min_interval)
        self.figsize = figsize
        self.labels = list(labels) if labels is not None else None
        self.clock = clock
        self._display = display
        self._handle: Any = None
        self.runs: list[list[dict[str, float]]] = []
        self.n_draws = 0
        self._last_draw = -math.inf
        self._draw_cost = 0.0
        self._drawn_records = 0
        self._n_records = 0

    def __call__(self, record: Mapping[str, float]) -> None:
        if self.runs and record.get("update", math.inf) > self.runs[-1][-1].get("update", -math.inf):
            self.runs[-1].append(dict(record))
        else:
            self.runs.append([dict(record)])
        self._n_records += 1
        # at most once per min_interval, and never more than ~20% of the time (a busy machine draws slowly)
        if self.clock() - self._last_draw >= max(self.min_interval, 4.0 * self._draw_cost):
            self.draw()

    def finish(self) -> None:
        """Draw the final state (unless the last record is already on screen)."""
        if self._n_records and self._drawn_records != self._n_records:
            self.draw()

    close = finish

    def __enter__(self) -> LivePlot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    def render(self) -> Figure:
        """The current figure (a stand-alone ``Figure``, not registered with pyplot)."""
        with course_style():
            fig = Figure(figsize=self.figsize)
            ax = fig.add_subplot()
            for i, run in enumerate(self.runs):
                rx, ry = _xy_of(run, self.x, self.y)
                label = self._label(i)
                ax.plot(rx, ry, label=label, **style_cycle(i))
            if self.target is not None:
                ax.axhline(self.target, color="0.4", linestyle=":", linewidth=1.5, label=f"target {self.target:g}")
            ax.set_xlabel(pretty(self.x))
            ax.set_ylabel(pretty(self.y))
            last = self.runs[-1][-1] if self.runs else {}
            status = f"update {int(last.get('update', 0))}: {pretty(self.y)} {last.get(self.y, math.nan):.1f}"
            if self.title:
                ax.set_title(self.title, loc="left")
            ax.set_title(status, loc="right", fontsize=11)
            if len(self.runs) > 1 or self.target is not None or self.labels:
                ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
        return fig

    def _label(self, i: int) -> str | None:
        if self.labels is not None and i < len(self.labels):
            return self.labels[i]
        return f"run {i + 1}" if len(self.runs) > 1 else None

    def draw(self) -> None:
        """Redraw now (ignores the throttle)."""
        from IPython.display import Image

        self._last_draw = self.clock()
        png = figure_png(self.render())
        self._draw_cost = self.clock() - self._last_draw
        self.n_draws += 1
        self._drawn_records = self._n_records
        if self._display is not None:
            self._handle = self._display(Image(data=png, format="png"), self._handle)
