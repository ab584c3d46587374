r"""Comparing runs honestly: many seeds in parallel, and confidence intervals over them.

* :func:`run_seeds` trains one run per seed with joblib (processes here; a Dask cluster
  under ``joblib.parallel_config(backend="dask")``), results in seed order and identical
  to a sequential run; :func:`run_variants` does it for several variants in one pool;
  :func:`start_workers` starts the worker processes early, in the background.
* :func:`final_returns` — one score per run: the mean of its last training episodes.
* :func:`bootstrap_ci` — a confidence interval for the mean, median or IQM of the scores.
* :func:`difference_ci` and :func:`probability_of_improvement` — "is A better than B?"

Which interval, and how often it covers the truth at a nominal 95% (measured over
2000 data sets per cell, standard error about 0.5 points; normal data / an exponential,
i.e. skewed, data; ``tests/test_experiments.py`` asserts these within a tolerance):

=========  ==========================================  =======  =======  =======
statistic  interval                                     n = 5    n = 10   n = 30
=========  ==========================================  =======  =======  =======
mean       Student t (n < 20), BCa bootstrap (n >= 20)  94/88    96/89    93/93
iqm        Tukey–McLaughlin trimmed t, then BCa         95/94    97/95    94/94
median     order statistics (n < 20), then BCa          —        98/98    95/94
=========  ==========================================  =======  =======  =======

The t intervals are exact for normal data and under-cover on skewed data (the
mean's 88% at n = 5); the median's order-statistic interval is distribution-free and
conservative, and does not exist at 95% below 6 values. A percentile bootstrap
under-covers badly with few values (measured the same way: 75% at n = 3, 83% at
n = 5, 95% at n = 30, normal data), which is why no bootstrap is used below 20.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats
from tqdm.auto import tqdm

from pgcourse._threads import torch_threads
from pgcourse.algorithms.common import RETURN_WINDOW, TrainResult

STATISTICS = ("mean", "median", "iqm")
SMALL_N = 20  # below this many values: t (or order-statistic) intervals; from it on: BCa bootstrap
IQM_TRIM = 0.25  # the interquartile mean drops the lowest and the highest 25% (Agarwal et al. 2021)


class SeedRuns(list):
    """The list of :class:`TrainResult` that :func:`run_seeds` returns, in seed order.

    ``interrupted`` says whether the call was stopped early (then only the finished
    seeds are in the list) and ``note`` says which seeds are missing.
    """

    interrupted: bool = False
    note: str = ""

    @property
    def seeds(self) -> list[int]:
        return [r.seed for r in self]


def _run_one(index: int, train: Callable[..., Any], seed: int, kwargs: dict[str, Any]) -> tuple[int, Any]:
    """One seed, on one torch thread (in a worker process, or here when ``n_jobs=1``)."""
    with torch_threads(1):
        return index, train(seed=seed, progress=False, **kwargs)


def _checked_seeds(seeds: Iterable[int]) -> list[int]:
    out = []
    for s in seeds:
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)):
            raise ValueError(f"seeds must be integers, got {s!r}")
        out.append(int(s))
    if not out:
        raise ValueError("seeds is empty: give at least one seed, e.g. range(5)")
    if len(set(out)) != len(out):
        raise ValueError(f"seeds must be distinct (a repeated seed repeats the same run), got {out}")
    return out


def _warm(hold: float) -> int:
    import pgcourse.algorithms  # noqa: F401  (torch, gymnasium and the trainers: what every run imports first)

    time.sleep(hold)  # keep this worker busy a moment, so that each worker gets one of these tasks
    return os.getpid()


def start_workers(n_jobs: int = -1) -> threading.Thread:
    """Start the worker processes of :func:`run_seeds` now, in the background; the first call finds them warm.

    Starting a worker and importing torch and gymnasium in it takes seconds (measured in
    ``benchmarks/bench_seeds.py``). Called at the top of a notebook, that happens while the first
    cells run, instead of at the first ``run_seeds(..., n_jobs=n_jobs)``, which then reuses these
    workers (loky, joblib's default backend, keeps idle workers for 5 minutes). Nothing is
    computed and no result changes. Returns the thread: ``join()`` it to wait for the workers;
    then its ``pids`` are their process ids.
    """
    from joblib import Parallel, cpu_count, delayed

    n_jobs = _checked_n_jobs(n_jobs)
    n = cpu_count() if n_jobs == -1 else n_jobs

    def warm() -> None:
        thread.pids = set(Parallel(n_jobs=n_jobs, prefer="processes")(delayed(_warm)(0.2) for _ in range(n)))

    global _STARTING
    _join_starting()
    thread = threading.Thread(target=warm, name="pgcourse-start-workers", daemon=True)
    thread.pids = set()
    thread.start()
    _STARTING = thread
    return thread


_STARTING: threading.Thread | None = None  # the last start_workers thread; a run waits for it (one pool at a time)


def _join_starting() -> None:
    if _STARTING is not None and _STARTING.is_alive():
        _STARTING.join()


def _interrupted_note(n_done: int, seeds: Sequence[int], missing: Sequence[int], cut: str = "") -> str:
    return f"Interrupted: {n_done} of {len(seeds)} seeds finished and are kept; missing: {list(missing)}.{cut}"


def _checked_n_jobs(n_jobs: int) -> int:
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive integer or -1 (every core), got {n_jobs!r}")
    return int(n_jobs)


def _run_tasks(tasks: list[tuple[Callable[..., Any], int, dict[str, Any]]], n_jobs: int, desc: str, unit: str):
    """Run ``(train, seed, kwargs)`` tasks in one joblib pool; ``(results by task index, interrupted, note)``.

    All tasks share one pool, so a worker that finishes takes the next task at once: no
    core waits for the slowest run of a group while work is left.
    """
    from joblib import Parallel, delayed  # imported here: joblib's start-up is only paid by who uses it

    _join_starting()  # workers still starting: wait for them rather than open a second pool beside them
    done: dict[int, Any] = {}
    bar = tqdm(total=len(tasks), unit=unit, desc=desc)
    parallel = Parallel(n_jobs=n_jobs, prefer="processes", return_as="generator_unordered", batch_size=1)
    outputs = parallel(delayed(_run_one)(i, train, s, kw) for i, (train, s, kw) in enumerate(tasks))
    cut, interrupted = "", False
    try:
        for index, result in outputs:
            if getattr(result, "interrupted", False):  # the run caught the interrupt itself (n_jobs=1)
                cut = f" Seed {tasks[index][1]} was cut short and is left out."
                raise KeyboardInterrupt
            done[index] = result
            bar.update(1)
    except KeyboardInterrupt:
        outputs.close()  # joblib cancels what has not run yet
        interrupted = True
    finally:
        bar.close()
    return done, interrupted, cut


def run_seeds(train: Callable[..., Any], seeds: Iterable[int], n_jobs: int = 1, **kwargs: Any) -> SeedRuns:
    """Run ``train(seed=s, progress=False, **kwargs)`` for every seed ``s``; the results in seed order.

    ``train`` is ``train_reinforce``, ``train_a2c``, ``train_ppo`` or any picklable
    callable of that shape. ``n_jobs`` workers run the seeds at once (``-1``: one per
    core; ``1``: one after another in this process). Each run seeds itself and uses one
    torch thread, so a result does not depend on where or next to what it ran: the same
    seed gives the same history with any ``n_jobs``.

    joblib picks the backend: worker processes (loky) by default, reused warm from one
    call to the next; under ``joblib.parallel_config(backend="dask")`` with a
    ``dask.distributed`` client the seeds run on the cluster's workers.

    A ``KeyboardInterrupt`` stops the call and keeps the seeds already finished (the
    returned :class:`SeedRuns` has ``interrupted=True`` and a ``note``); a run cut
    short in the middle is left out, so every result in the list is complete.
    """
    seeds = _checked_seeds(seeds)
    n_jobs = _checked_n_jobs(n_jobs)
    name = getattr(train, "__name__", type(train).__name__)
    tasks = [(train, s, kwargs) for s in seeds]
    done, interrupted, cut = _run_tasks(tasks, n_jobs, f"{name} × {len(seeds)} seeds", "seed")
    runs = SeedRuns(done[i] for i in sorted(done))
    if interrupted:
        missing = [s for i, s in enumerate(seeds) if i not in done]
        runs.interrupted = True
        runs.note = _interrupted_note(len(done), seeds, missing, cut)
        print(runs.note)
    return runs


def run_variants(
    train: Callable[..., Any] | Mapping[Hashable, Callable[..., Any]],
    variants: Mapping[Hashable, Mapping[str, Any]],
    seeds: Iterable[int],
    n_jobs: int = 1,
    **common: Any,
) -> dict[Hashable, SeedRuns]:
    """Every variant on every seed, in one pool: ``{name: run_seeds(train, seeds, **common, **variants[name])}``.

    ``variants`` maps a name to the keyword arguments that make it (e.g. ``{"config": ...}``);
    ``train`` is one trainer, or a mapping with the same names (e.g. REINFORCE, A2C and
    PPO side by side). The results are those of one :func:`run_seeds` call per variant,
    run for run, but all ``len(variants) × len(seeds)`` runs share the workers: separate
    calls would each wait for their slowest seed with a core idle, this one keeps every
    core busy until the last run. A ``KeyboardInterrupt`` keeps every finished run; each
    variant's :class:`SeedRuns` then says which seeds it misses.
    """
    seeds = _checked_seeds(seeds)
    n_jobs = _checked_n_jobs(n_jobs)
    if not variants:
        raise ValueError("variants is empty: give at least one, e.g. {'default': {}}")
    trains = dict(train) if isinstance(train, Mapping) else dict.fromkeys(variants, train)
    if set(trains) != set(variants):
        names, wanted = sorted(map(str, trains)), sorted(map(str, variants))
        raise ValueError(f"train's names {names} differ from the variants' {wanted}")
    for name, kw in variants.items():
        clash = sorted(set(kw) & set(common))
        if clash:
            raise ValueError(f"variant {name!r} sets {clash}, which are already given for every variant")
    keys = [(name, s) for name in variants for s in seeds]
    tasks = [(trains[name], s, {**common, **variants[name]}) for name, s in keys]
    desc = f"{len(variants)} variants × {len(seeds)} seeds"
    done, interrupted, cut = _run_tasks(tasks, n_jobs, desc, "run")
    out: dict[Hashable, SeedRuns] = {name: SeedRuns() for name in variants}
    for i in sorted(done):
        out[keys[i][0]].append(done[i])
    if interrupted:
        print(f"Interrupted: {len(done)} of {len(tasks)} runs finished and are kept.{cut}")
        for runs in out.values():
            missing = [s for s in seeds if s not in runs.seeds]
            if missing:
                runs.interrupted = True
                runs.note = _interrupted_note(len(runs), seeds, missing)
    return out


def final_returns(results: Sequence[TrainResult], window: int = RETURN_WINDOW) -> np.ndarray:
    """One score per run: the mean return of its last ``window`` training episodes."""
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window!r}")
    scores = []
    for r in results:
        returns = r.episode_returns()
        if len(returns) == 0:
            raise ValueError(f"the run with seed {r.seed} finished no episode; train it for longer")
        scores.append(float(np.mean(returns[-window:])))
    return np.array(scores)


def _values(values: Any, what: str = "values", at_least: int = 2) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional (one number per seed), got shape {x.shape}")
    if len(x) < at_least:
        raise ValueError(f"{what} needs at least {at_least} values for an interval, got {len(x)}")
    if not np.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or inf: {x.tolist()}")
    return x


def _check(statistic: str, confidence: float, n_resamples: int) -> None:
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be in the open interval (0, 1), e.g. 0.95; got {confidence!r}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 100:
        raise ValueError(f"n_resamples must be an integer of at least 100, got {n_resamples!r}")


def iqm(x: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""Interquartile mean, the mean of the middle half: :math:`\mathrm{mean}(x_{(g+1)},\dots,x_{(n-g)})`, g = ⌊n/4⌋."""
    return stats.trim_mean(x, IQM_TRIM, axis=axis)


def _stat_fn(statistic: str) -> Callable[..., np.ndarray]:
    return {"mean": np.mean, "median": np.median, "iqm": iqm}[statistic]


def _trimmed_t(x: np.ndarray, confidence: float) -> tuple[float, float]:
    r"""Tukey–McLaughlin interval for the trimmed mean: :math:`\bar x_t \pm t_{n-2g-1}\, s_w / ((1-2\gamma)\sqrt n)`.

    ``s_w`` is the standard deviation of the winsorised sample (the g smallest values
    set to the (g+1)-th, the g largest to the (n-g)-th).
    """
    n = len(x)
    g = int(math.floor(IQM_TRIM * n))
    xs = np.sort(x)
    w = np.clip(xs, xs[g], xs[n - g - 1])
    se = np.std(w, ddof=1) / ((1 - 2 * IQM_TRIM) * math.sqrt(n))
    half = stats.t.ppf(0.5 + confidence / 2, n - 2 * g - 1) * se
    centre = float(iqm(x))
    return centre - half, centre + half


def _bca(
    samples: tuple[np.ndarray, ...], fn: Callable[..., np.ndarray], confidence: float, n_resamples: int, seed: int
) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    kw = {"confidence_level": confidence, "n_resamples": n_resamples, "method": "BCa", "vectorized": True}
    res = stats.bootstrap(samples, fn, axis=-1, rng=rng, **kw)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def bootstrap_ci(
    values: Any, statistic: str = "mean", confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """``(point, low, high)``: the statistic of ``values`` (one number per seed) and its confidence interval.

    ``statistic`` is ``"mean"``, ``"median"`` or ``"iqm"`` (the 25% trimmed mean).
    From 20 values on, a BCa bootstrap (``scipy.stats.bootstrap``, ``n_resamples``
    resamples drawn from ``seed``); below, where every bootstrap under-covers, the
    Student t interval (mean), the Tukey–McLaughlin trimmed t (iqm) or the
    distribution-free order-statistic interval (median; it needs at least 6 values at
    95%). The coverage each one reaches is in the module docstring.
    """
    _check(statistic, confidence, n_resamples)
    x = _values(values)
    fn = _stat_fn(statistic)
    point = float(fn(x))
    if np.ptp(x) == 0:  # every seed gave the same number: nothing to resample
        return point, point, point
    n = len(x)
    if n >= SMALL_N:
        low, high = _bca((x,), fn, confidence, n_resamples, seed)
    elif statistic == "mean":
        low, high = stats.t.interval(confidence, n - 1, loc=point, scale=stats.sem(x))
    elif statistic == "iqm":
        low, high = _trimmed_t(x, confidence)
    else:
        ci = stats.quantile_test(x, q=point, p=0.5).confidence_interval(confidence)
        if not (np.isfinite(ci.low) and np.isfinite(ci.high)):
            raise ValueError(
                f"a {confidence:.0%} interval for the median of {n} values does not exist without assumptions "
                "(even [min, max] covers less often); give more seeds or use statistic='mean' or 'iqm'"
            )
        low, high = ci.low, ci.high
    return point, float(low), float(high)


def difference_ci(
    a: Any, b: Any, statistic: str = "mean", confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """``(point, low, high)`` for statistic(a) − statistic(b): A beats B when ``low > 0``.

    ``a`` and ``b`` are independent runs (unpaired), e.g. the final returns of two
    methods over their seeds. Below 20 values in either group: Welch's t interval
    (mean) or Yuen's trimmed Welch interval (iqm); otherwise, and for the median, an
    unpaired BCa bootstrap. One interval of the difference, not two overlapping ones.
    """
    _check(statistic, confidence, n_resamples)
    x, y = _values(a, "a"), _values(b, "b")
    fn = _stat_fn(statistic)
    point = float(fn(x) - fn(y))
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return point, point, point
    if min(len(x), len(y)) < SMALL_N and statistic != "median":
        trim = IQM_TRIM if statistic == "iqm" else 0.0
        ci = stats.ttest_ind(x, y, equal_var=False, trim=trim).confidence_interval(confidence)
        return point, float(ci.low), float(ci.high)

    def diff(u: np.ndarray, v: np.ndarray, axis: int = -1) -> np.ndarray:
        return fn(u, axis=axis) - fn(v, axis=axis)

    low, high = _bca((x, y), diff, confidence, n_resamples, seed)
    return point, low, high


def probability_of_improvement(a: Any, b: Any) -> float:
    r"""P(A > B): the chance that a run of A scores higher than a run of B (ties count half).

    :math:`P(A>B) = \frac{1}{n_a n_b}\sum_{i,j}\big(\mathbb 1[a_i>b_j] + \tfrac12\mathbb 1[a_i=b_j]\big)`,
    the Mann–Whitney U statistic over :math:`n_a n_b` (Agarwal et al. 2021). 0.5 means no difference.
    """
    x, y = _values(a, "a", 1), _values(b, "b", 1)
    greater = (x[:, None] > y[None, :]).mean()
    ties = (x[:, None] == y[None, :]).mean()
    return float(greater + 0.5 * ties)
