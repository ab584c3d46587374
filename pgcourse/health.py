r"""The health report: the healthy ranges of the training diagnostics, the rules that apply them, and the report.

:data:`HEALTHY_RANGES` is the practitioners' table of notebook 09 as data: for each metric of
:mod:`pgcourse.diagnostics` (approx KL, clip fraction, entropy, explained variance, gradient
norm) its healthy range and the rule that checks it. :func:`health_report` applies every rule to
a training history over a rolling window, after a warm-up and in context (is the return still
far from its best?), and returns a :class:`HealthReport` of :class:`Finding`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pgcourse.health_signals import (
    _entropy_ratio,
    _grad_spike,
    _initial,
    _rolling,
    _rolling_mean,
    _rolling_median_ev,
    _Run,
)

__all__ = [
    "health_report",
    "HealthReport",
    "Finding",
    "HealthyRange",
    "HealthyRanges",
    "HEALTHY_RANGES",
    "checklist",
]

#: A history record: the keys of ``pgcourse.algorithms.HISTORY_KEYS`` (NaN where not tracked).
Record = Mapping[str, float]

#: Severity levels of a finding, mildest first.
SEVERITIES = ("warning", "problem")

#: "Early in training": the first half of the run's updates.
EARLY = 0.5

#: A critic "has not learned" while its value loss is at least this fraction of its initial level.
VALUE_LOSS_STUCK = 0.5

#: Settings the table's fixes recommend; the pre-flight checklist (:mod:`pgcourse.checklist`) checks a
#: config against these same values, so the two cannot disagree.
ENT_COEF_TYPICAL = (0.001, 0.01)
TARGET_KL_SUGGESTED = 0.03
MAX_GRAD_NORM_TYPICAL = 0.5


@dataclass(frozen=True)
class Finding:
    """One thing the health report noticed.

    ``update`` and ``env_steps`` say when it began (the first update of a stretch in
    which the rule fired), ``until_update`` when the stretch ended; ``value`` is the
    worst windowed value of the metric in the stretch (e.g. the highest rolling-mean
    KL); ``severity`` is ``"warning"`` or ``"problem"``; ``cause`` and ``fix`` come
    from the rule's row of :data:`HEALTHY_RANGES`; ``observed`` says what was measured.
    """

    metric: str
    update: int
    env_steps: int | None
    value: float
    severity: str
    cause: str
    fix: str
    until_update: int | None = None
    observed: str = ""

    @property
    def when(self) -> str:
        """``"updates 37–52 (from 9,472 env steps)"``: when the stretch began and ended."""
        span = f"update {self.update}"
        if self.until_update is not None and self.until_update != self.update:
            span = f"updates {self.update}–{self.until_update}"
        steps = f" (from {self.env_steps:,} env steps)" if self.env_steps is not None else ""
        return span + steps

    def __str__(self) -> str:
        return (
            f"[{self.severity}] {self.metric}, {self.when}: {self.observed} "
            f"Likely cause: {self.cause} Fix: {self.fix}"
        )




# ---- gates: where a rule is judged (the most severe level it may report: 0 none, 2 any)
def _after_warmup(run: _Run) -> np.ndarray:
    return np.where(run.judged(), 2, 0)


def _critic_stuck(run: _Run) -> np.ndarray:
    """After the warm-up, while the return is far from its best and the value loss has not come down.

    A value loss still at :data:`VALUE_LOSS_STUCK` or more of its initial level (rolling
    median against the mean of the first ``window`` updates) tells a critic that has
    not learned from an accurate critic whose EV is near 0 only because the returns of
    a rollout barely vary (e.g. CartPole episodes that outlast the rollout). Without a
    tracked value loss, that condition is dropped.
    """
    ok = run.judged() & run.far_from_best()
    v0 = _initial(run, "value_loss")
    if v0 > 0:
        vl = _rolling(run.col("value_loss"), run.window, np.median)
        with np.errstate(invalid="ignore"):
            ok &= vl >= VALUE_LOSS_STUCK * v0
    return np.where(ok, 2, 0)


def _early_or_learning(run: _Run) -> np.ndarray:
    """After the warm-up, in the first half of the run or while the return is still far from its best."""
    early = np.arange(run.n) < EARLY * run.n
    return np.where(run.judged() & (early | run.far_from_best()), 2, 0)


@dataclass(frozen=True)
class HealthyRange:
    """One row of the diagnostics table: the healthy range of a metric and the rule that checks it.

    The rule is one-sided: ``score`` (from ``signal``) is flagged when it is above
    (``above=True``) or below the ``warning`` / ``problem`` thresholds, at updates the
    ``gate`` allows, for at least ``persist`` windows in a row (0: any stretch).
    ``looks_like`` is a template filled with the thresholds, so the table a notebook
    shows is always the rule the code applies.
    """

    metric: str
    name: str
    healthy: str
    looks_like: str
    cause: str
    fix: str
    above: bool
    warning: float
    problem: float
    signal: Callable[[_Run], tuple[np.ndarray, np.ndarray]] = field(repr=False)
    gate: Callable[[_Run], np.ndarray] = field(repr=False)
    band: tuple[float, float] | None = None
    persist: int = 0

    @property
    def problem_text(self) -> str:
        """What a problem looks like, with the thresholds filled in."""
        return self.looks_like.format(warning=self.warning, problem=self.problem, persist=self.persist)

    def levels(self, score: np.ndarray) -> np.ndarray:
        """0 (fine), 1 (warning) or 2 (problem) per update, before the gate."""
        with np.errstate(invalid="ignore"):
            if self.above:
                warn, prob = score > self.warning, score > self.problem
            else:
                warn, prob = score < self.warning, score < self.problem
        return np.where(prob, 2, np.where(warn, 1, 0))


class HealthyRanges(Mapping[str, HealthyRange]):
    """The diagnostics table (read-only mapping metric → :class:`HealthyRange`); displays as a table."""

    COLUMNS = ("metric", "healthy range", "what a problem looks like", "likely cause", "fix")

    def __init__(self, rows: Sequence[HealthyRange]) -> None:
        self._rows = {r.metric: r for r in rows}

    def __getitem__(self, key: str) -> HealthyRange:
        try:
            return self._rows[key]
        except KeyError:
            raise KeyError(f"no healthy range for {key!r}; the table covers {', '.join(self._rows)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def bands(self) -> dict[str, tuple[float, float]]:
        """Healthy intervals to shade in ``pgcourse.plots.diagnostics_panel(..., ranges=...)``."""
        return {k: r.band for k, r in self._rows.items() if r.band is not None}

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        return [(r.name, r.healthy, r.problem_text, r.cause, r.fix) for r in self._rows.values()]

    def __repr__(self) -> str:
        return "\n\n".join("\n".join(f"{c + ':':<27} {v}" for c, v in zip(self.COLUMNS, row)) for row in self.rows())

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in self.COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{html.escape(v)}</td>" for v in row) + "</tr>"
            for row in self.rows()
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


HEALTHY_RANGES = HealthyRanges(
    [
        HealthyRange(
            metric="approx_kl",
            name="approx KL(π_old ‖ π_θ)",
            healthy="0.01–0.05 per update; falling towards 0 as the learning rate anneals is fine",
            looks_like="mean over the window above {warning:g} (warning) or {problem:g} (problem)",
            cause="the updates are too large: learning rate too high, or too many epochs / minibatches per rollout",
            fix="lower lr (and anneal it), use fewer epochs, or stop the epochs early with "
            f"PPOConfig(target_kl={TARGET_KL_SUGGESTED:g})",
            above=True,
            warning=0.05,
            problem=0.1,
            signal=_rolling_mean("approx_kl"),
            gate=_after_warmup,
            band=(0.01, 0.05),
        ),
        HealthyRange(
            metric="clip_fraction",
            name="clip fraction",
            healthy="0.1–0.3; falling towards 0 as the learning rate anneals is fine",
            looks_like="mean over the window above {warning:g} (warning) or {problem:g} (problem)",
            cause="the steps on one rollout are too large: many ratios overshoot [1 − ε, 1 + ε] (lr too high, "
            "or too many small minibatch steps); ε itself barely changes it, the fraction is counted against ε",
            fix="lower lr (the reliable lever); or take fewer gradient steps per rollout (n_minibatches=1 brought it "
            "below the warning on every rollout; n_epochs=1 lowered it on average only: notebook 07); "
            "raising clip_eps does not lower it (measured in notebook 07)",
            above=True,
            warning=0.3,
            problem=0.5,
            signal=_rolling_mean("clip_fraction"),
            gate=_after_warmup,
            band=(0.1, 0.3),
        ),
        HealthyRange(
            metric="entropy",
            name="policy entropy",
            healthy="decreasing slowly as the policy becomes sure of itself",
            looks_like=(
                "mean over the window below {warning:.0%} (warning) or {problem:.0%} (problem) of the reference: "
                "log|A| for a categorical policy, σ = 10% of the action range for a Gaussian one (the initial "
                "entropy if neither is known), in the first half of the run or while the return is far from its best"
            ),
            cause="premature convergence: the policy became (nearly) deterministic before it found a good behaviour",
            fix=f"lower lr or use fewer epochs (the step size caused the collapse in notebook 10; an entropy bonus "
            f"of ent_coef {ENT_COEF_TYPICAL[0]:g}–{ENT_COEF_TYPICAL[1]:g} helps only while entropy is left: it did "
            "not revive a saturated policy)",
            above=False,
            warning=0.2,
            problem=0.1,
            signal=_entropy_ratio,
            gate=_early_or_learning,
        ),
        HealthyRange(
            metric="explained_variance",
            name="explained variance",
            healthy="0.5–1; near 0 is harmless once the value loss is small (returns that barely vary)",
            looks_like=(
                "median over the window below {warning:g} (warning) or {problem:g} (problem) for {persist}+ windows "
                "in a row, while the value loss stays near its initial level and the return is far from its best"
            ),
            cause="value-function lag: the critic predicts the returns no better than their mean, "
            "so the advantages are mostly noise",
            fix="vf_coef > 0 (with separate networks its size hardly changes the critic's step under Adam, "
            "notebook 05), more critic steps per rollout (n_epochs, n_minibatches), normalise rewards, "
            "check the value targets",
            above=False,
            warning=0.1,
            problem=0.0,
            signal=_rolling_median_ev,
            gate=_critic_stuck,
            band=(0.5, 1.0),
            persist=2,
        ),
        HealthyRange(
            metric="grad_norm",
            name="gradient norm",
            healthy="stable, or shrinking slowly as the policy converges",
            looks_like=(
                "median over the window above {warning:g}× (warning) or {problem:g}× (problem) "
                "the median of all earlier updates (a spike), or 3 single updates that far above it "
                "within 4 windows (repeated spikes)"
            ),
            cause="instability: a sudden large gradient (an outlier batch, an exploding value loss, lr too high)",
            fix=f"keep gradient clipping (max_grad_norm ≈ {MAX_GRAD_NORM_TYPICAL:g}), lower lr, "
            "normalise observations and rewards",
            above=True,
            warning=10.0,
            problem=30.0,
            signal=_grad_spike,
            gate=_after_warmup,
        ),
    ]
)

#: What each rule says it saw, filled with the worst windowed ``value``, its ``score`` and the ``threshold``.
_OBSERVED = {
    "approx_kl": "mean {value:.3g} over {window} updates (threshold {threshold:g}).",
    "clip_fraction": "mean {value:.3f} over {window} updates (threshold {threshold:g}).",
    "entropy": "mean {value:.3g} over {window} updates, {score:.0%} of the reference spread.",
    "explained_variance": "median {value:.2f} over {window} updates, with the value loss near its initial level.",
    "grad_norm": "{value:.3g} (median over {window} updates, or the largest of repeated spikes), "
    "{score:.0f}× the median of all earlier updates.",
}


def _rule_findings(rule: HealthyRange, run: _Run, score: np.ndarray, value: np.ndarray) -> list[Finding]:
    """Contiguous stretches of updates where ``rule`` fires on ``score``, one :class:`Finding` each."""
    level = np.minimum(rule.levels(score), rule.gate(run))
    updates, steps = run.col("update"), run.col("env_steps")
    out = []
    i = 0
    while i < run.n:
        if level[i] == 0:
            i += 1
            continue
        j = i
        while j + 1 < run.n and level[j + 1] > 0:
            j += 1
        if j - i + 1 < rule.persist * run.window:
            i = j + 1
            continue
        seg = score[i : j + 1]
        k = i + int(np.nanargmax(seg) if rule.above else np.nanargmin(seg))
        worst = int(level[i : j + 1].max())
        severity = SEVERITIES[worst - 1]
        threshold = rule.problem if worst == 2 else rule.warning
        text = _OBSERVED.get(rule.metric, "windowed value {value:.3g}.")
        observed = text.format(value=value[k], score=score[k], threshold=threshold, window=run.window)
        out.append(
            Finding(
                metric=rule.metric,
                update=int(updates[i]),
                env_steps=int(steps[i]) if math.isfinite(steps[i]) else None,
                value=float(value[k]),
                severity=severity,
                cause=rule.cause,
                fix=rule.fix,
                until_update=int(updates[j]),
                observed=observed,
            )
        )
        i = j + 1
    return out


@dataclass
class HealthReport:
    """What :func:`health_report` found: a list of :class:`Finding`, displayed as a table in Jupyter.

    ``ok`` is True when there is no finding; ``checked`` names the metrics the run
    tracked, ``not_tracked`` those that were NaN throughout (e.g. the clip fraction
    of A2C); ``notes`` says when a rule could not be applied.
    """

    findings: list[Finding]
    n_updates: int
    warmup_updates: int
    window: int
    checked: tuple[str, ...] = ()
    not_tracked: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "problem"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def for_metric(self, metric: str) -> list[Finding]:
        """The findings about one metric (a key of :data:`HEALTHY_RANGES`, e.g. ``"entropy"``)."""
        if metric not in HEALTHY_RANGES:
            raise KeyError(f"no rule checks {metric!r}; the report covers {', '.join(HEALTHY_RANGES)}")
        return [f for f in self.findings if f.metric == metric]

    def __len__(self) -> int:
        return len(self.findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def _settings(self) -> str:
        text = (
            f"{self.n_updates} updates, judged after a warm-up of {self.warmup_updates}, "
            f"over windows of {self.window} updates"
        )
        if self.not_tracked:
            text += "; not tracked by this run: " + ", ".join(HEALTHY_RANGES[m].name for m in self.not_tracked)
        return text

    def summary(self) -> str:
        """One line: healthy, or how many problems and warnings."""
        if self.ok:
            return f"Healthy: no metric left its healthy range ({self._settings()})."
        p, w = len(self.problems), len(self.warnings)
        return f"{p} problem{'s' * (p != 1)} and {w} warning{'s' * (w != 1)} ({self._settings()})."

    def __str__(self) -> str:
        lines = [self.summary()]
        for f in self.findings:
            lines += [
                f"- [{f.severity}] {HEALTHY_RANGES[f.metric].name}, {f.when}: {f.observed}",
                f"    likely cause: {f.cause}",
                f"    fix: {f.fix}",
            ]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape
        colour = {"problem": "#D55E00", "warning": "#E69F00"}
        notes = "".join(f"<p style='margin:2px 0;opacity:0.8'>note: {esc(n)}</p>" for n in self.notes)
        if self.ok:
            return f"<div><p style='color:#009E73'><b>✓ {esc(self.summary())}</b></p>{notes}</div>"
        cols = ("severity", "metric", "when", "value", "what was seen", "likely cause", "suggested fix")
        head = "".join(f"<th style='text-align:left'>{c}</th>" for c in cols)
        rows = "".join(
            "<tr>"
            f"<td style='text-align:left;color:{colour[f.severity]}'><b>{f.severity}</b></td>"
            f"<td style='text-align:left'>{esc(HEALTHY_RANGES[f.metric].name)}</td>"
            f"<td style='text-align:left'>{esc(f.when)}</td>"
            f"<td style='text-align:left'>{f.value:.3g}</td>"
            f"<td style='text-align:left'>{esc(f.observed)}</td>"
            f"<td style='text-align:left'>{esc(f.cause)}</td>"
            f"<td style='text-align:left'>{esc(f.fix)}</td>"
            "</tr>"
            for f in self.findings
        )
        return (
            f"<div><p><b>{esc(self.summary())}</b></p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{notes}</div>"
        )


def _history_records(history_or_result: Any) -> list[Record]:
    history = getattr(history_or_result, "history", history_or_result)
    if isinstance(history, Mapping) or not isinstance(history, Sequence):
        raise TypeError(
            "health_report needs a TrainResult or a history (a list of record dicts), "
            f"got {type(history_or_result).__name__}"
        )
    records = list(history)
    if not records:
        raise ValueError("the history is empty: there is nothing to judge yet (train for at least one update)")
    if not all(isinstance(r, Mapping) for r in records):
        raise TypeError("every history record must be a dict of metric values (see HISTORY_KEYS)")
    return records


def health_report(history_or_result: Any, warmup: float = 0.1, window: int = 5) -> HealthReport:
    r"""Check a training history against :data:`HEALTHY_RANGES`; return a :class:`HealthReport`.

    ``history_or_result`` is a ``TrainResult`` or its history (a list of record dicts
    with the keys of ``HISTORY_KEYS``). Every rule is judged on a rolling statistic
    over ``window`` updates (one noisy update is not a trend) and only after the first
    ``warmup`` fraction of the updates (while the critic is untrained and the policy
    random, the metrics mean little). The rules are one-sided, checking only the
    dangerous side:

    * approx KL: rolling mean > 0.05 warning, > 0.1 problem (updates too large);
    * clip fraction: rolling mean > 0.3 warning, > 0.5 problem (steps too large: lr first, not ε);
    * entropy: rolling mean < 20% (warning) or < 10% (problem) of a reference that fits the
      policy: log|A| (categorical), σ = 10% of the action range (Gaussian, judged on σ since its
      entropy can be negative), else the initial entropy; judged in the first half of the
      run or while the return is still far from its best — below 90% of the way from
      the run's worst to its best running-mean return (premature convergence);
    * explained variance: rolling median < 0.1 (warning) or < 0 (problem) for at least
      2 windows in a row, while the value loss (rolling median) is still >= 50% of its
      initial level and the return is far from its best (value-function lag: the critic
      predicts no better than the mean return). EV near 0 with a small value loss is
      not lag: the returns of the rollouts barely vary (CartPole at the time limit);
    * gradient norm: rolling median > 10× (warning) or 30× (problem) the median of all
      earlier updates (a spike: instability), or 3 single updates that far above the median
      of the updates before them within 4 windows (repeated isolated spikes; one outlier is not flagged).

    A KL or clip fraction falling towards 0 as the learning rate anneals is not
    flagged; metrics a run does not track (NaN, e.g. the clip fraction of A2C) are
    skipped. Consecutive flagged updates make one finding, dated by its first update.
    """
    records = _history_records(history_or_result)
    if isinstance(warmup, bool) or not isinstance(warmup, (int, float)) or not 0 <= warmup < 1:
        raise ValueError(f"warmup={warmup!r} is outside the allowed range [0, 1) (a fraction of the updates)")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window={window!r} is outside the allowed range [1, inf) (a number of updates)")
    keys = {k for r in records for k in r}
    columns = {k: np.array([float(r.get(k, math.nan)) for r in records], dtype=float) for k in keys}
    n = len(records)
    if "update" not in columns or not np.isfinite(columns["update"]).all():
        columns["update"] = np.arange(1, n + 1, dtype=float)
    run = _Run(columns, int(window), min(math.ceil(warmup * n), n))
    findings: list[Finding] = []
    checked, not_tracked, notes = [], [], []
    for rule in HEALTHY_RANGES.values():
        if not np.isfinite(run.col(rule.metric)).any():
            not_tracked.append(rule.metric)
            continue
        checked.append(rule.metric)
        score, value = rule.signal(run)
        if not np.isfinite(score[run.start :]).any():
            notes.append(f"{rule.name}: not judged (too few updates, or no positive initial value to compare with)")
            continue
        findings += _rule_findings(rule, run, score, value)
    findings.sort(key=lambda f: (f.update, SEVERITIES.index(f.severity) * -1))
    return HealthReport(findings, n, run.start, int(window), tuple(checked), tuple(not_tracked), tuple(notes))


def checklist(config: Any, env_id: str | None = None) -> Any:
    """The checklist before training of a config (see :func:`pgcourse.checklist.checklist`; same table)."""
    from pgcourse.checklist import checklist as _checklist  # lazy: checklist.py imports this module's table

    return _checklist(config, env_id)
