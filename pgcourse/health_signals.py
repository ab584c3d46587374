r"""The signals of the health report's rules: a history as arrays (:class:`_Run`) and, per rule, the score
compared with its thresholds and the value reported, update by update (see :mod:`pgcourse.health`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: The return counts as "far from its best" while it is below this fraction of the way from
#: the run's worst running-mean return to its best one.
NEAR_BEST = 0.9


@dataclass
class _Run:
    """A history as arrays, with the report's settings: what every rule looks at."""

    columns: dict[str, np.ndarray]
    window: int
    start: int  # first judged index (after the warm-up)

    @property
    def n(self) -> int:
        return len(self.columns["update"])

    def col(self, key: str) -> np.ndarray:
        return self.columns.get(key, np.full(self.n, np.nan))

    def judged(self) -> np.ndarray:
        """True for the updates after the warm-up."""
        return np.arange(self.n) >= self.start

    def far_from_best(self) -> np.ndarray:
        """True where the running-mean return is below :data:`NEAR_BEST` of the way from the run's worst to its best.

        Unknown returns (no episode finished yet) count as far; a return that never
        changed is never far from its best.
        """
        ret = self.col("mean_return")
        finite = ret[np.isfinite(ret)]
        if finite.size == 0:
            return np.ones(self.n, dtype=bool)
        lo, hi = finite.min(), finite.max()
        if hi <= lo:
            return ~np.isfinite(ret)
        progress = (ret - lo) / (hi - lo)
        return ~(progress >= NEAR_BEST)


def _rolling(x: np.ndarray, window: int, stat: Callable[[np.ndarray], float]) -> np.ndarray:
    """``stat`` of the finite values among the last ``window`` entries at every index (NaN if none)."""
    out = np.full(x.shape, np.nan)
    for i in range(x.size):
        w = x[max(0, i - window + 1) : i + 1]
        w = w[np.isfinite(w)]
        if w.size:
            out[i] = stat(w)
    return out


# ---- signals: (score compared with the thresholds, value reported) per update
def _rolling_mean(metric: str) -> Callable[[_Run], tuple[np.ndarray, np.ndarray]]:
    def signal(run: _Run) -> tuple[np.ndarray, np.ndarray]:
        m = _rolling(run.col(metric), run.window, np.mean)
        return m, m

    return signal


def _initial(run: _Run, metric: str) -> float:
    """Mean of the finite values among the first ``window`` updates (NaN if none)."""
    head = run.col(metric)[: run.window]
    head = head[np.isfinite(head)]
    return float(head.mean()) if head.size else math.nan


#: The reference spread of a Gaussian policy: σ = this fraction of the action range (σ = 0.4 on Pendulum's [-2, 2]).
GAUSSIAN_SIGMA_REF = 0.1


def _first_finite(run: _Run, key: str) -> float:
    x = run.col(key)
    x = x[np.isfinite(x)]
    return float(x[0]) if x.size else math.nan


def _entropy_ratio(run: _Run) -> tuple[np.ndarray, np.ndarray]:
    r"""Rolling-mean entropy against a reference that fits the policy (1 = the reference spread).

    * categorical (``n_actions`` logged): :math:`H / \log|A|`, the fraction of the uniform policy's entropy;
    * Gaussian (``act_dim`` and ``action_range`` logged): its entropy per dimension,
      :math:`h = \tfrac12\log(2\pi e\sigma^2)`, gives the spread :math:`\sigma = e^{h - \frac12\log 2\pi e}`
      (geometric mean over dimensions), compared with :data:`GAUSSIAN_SIGMA_REF` × the action range. A
      Gaussian's entropy can be 0 or negative (σ < 0.24), so a fraction of it would mean nothing;
    * neither logged: the fraction of the initial entropy (the largest among the first ``window`` updates).
    """
    m = _rolling(run.col("entropy"), run.window, np.mean)
    n_actions = _first_finite(run, "n_actions")
    act_dim, width = _first_finite(run, "act_dim"), _first_finite(run, "action_range")
    if n_actions >= 2:
        return m / math.log(n_actions), m
    if act_dim >= 1 and width > 0:
        sigma = np.exp(m / act_dim - 0.5 * math.log(2 * math.pi * math.e))
        return sigma / (GAUSSIAN_SIGMA_REF * width), m
    head = run.col("entropy")[: run.window]
    h0 = float(np.nanmax(head)) if np.isfinite(head).any() else math.nan
    if not h0 > 0:
        return np.full(run.n, np.nan), m  # no positive reference: rule n/a
    return m / h0, m


def _rolling_median_ev(run: _Run) -> tuple[np.ndarray, np.ndarray]:
    """Rolling median of the explained variance (one batch without variance in its returns can give EV = -9)."""
    m = _rolling(run.col("explained_variance"), run.window, np.median)
    return m, m


#: Repeated spikes: this many single updates, within :data:`SPIKE_SPAN` windows, far above the running median.
SPIKE_COUNT = 3
SPIKE_SPAN = 4


def _grad_spike(run: _Run) -> tuple[np.ndarray, np.ndarray]:
    """How far the gradient norm rose above the median of all earlier updates; the larger of two ratios.

    * sustained: rolling median over the window / median of all updates before the window;
    * repeated isolated spikes: single update / median of all updates before it, taking the
      :data:`SPIKE_COUNT`-th largest over the last :data:`SPIKE_SPAN` windows, so that a single
      outlier never counts but three spikes of that size do (a rolling median hides them).

    The value reported is the rolling median, or the largest single norm when the spikes score higher.
    """
    g = run.col("grad_norm")
    m = _rolling(g, run.window, np.median)
    sustained, single = np.full(run.n, np.nan), np.full(run.n, np.nan)
    for i in range(run.n):
        before = g[: max(i - run.window + 1, 0)]
        before = before[np.isfinite(before)]
        if before.size >= run.window and np.median(before) > 0:
            sustained[i] = m[i] / np.median(before)
        earlier = g[:i][np.isfinite(g[:i])]
        if earlier.size >= run.window and np.median(earlier) > 0 and np.isfinite(g[i]):
            single[i] = g[i] / np.median(earlier)
    span = SPIKE_SPAN * run.window
    repeated = _rolling(single, span, lambda w: np.sort(w)[-SPIKE_COUNT] if w.size >= SPIKE_COUNT else np.nan)
    with np.errstate(invalid="ignore"):
        spikes_win = np.nan_to_num(repeated, nan=-np.inf) > np.nan_to_num(sustained, nan=-np.inf)
    score = np.where(spikes_win, repeated, sustained)
    value = np.where(spikes_win, _rolling(g, span, np.max), m)
    return score, value
