r"""The checklist before training, as a pre-flight check of a config.

The seed's four items (normalise the advantages; an entropy bonus, watching for collapse;
monitor the KL and anneal ε or stop early when it spikes; several epochs of minibatch
updates on one rollout with π_old fixed) and four the course has shown to matter
(observation/reward normalisation for continuous control, a learning-rate schedule,
gradient clipping, bootstrapping at truncation). Each item is *met*, *not met* (with a
one-line reason and the field to change) or *not applicable*; nothing here blocks training.

The thresholds and the wording of the fixes are those of :data:`pgcourse.health.HEALTHY_RANGES`
(one table): an item names the row of the health report that watches it during training.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pgcourse.health import (
    ENT_COEF_TYPICAL,
    HEALTHY_RANGES,
    MAX_GRAD_NORM_TYPICAL,
    TARGET_KL_SUGGESTED,
)

__all__ = ["checklist", "Checklist", "ChecklistItem", "ITEMS", "STATUSES"]

STATUSES = ("met", "not met", "not applicable")

#: Epochs per rollout the course calls several (the hyperparameter table's typical 3–10).
N_EPOCHS_TYPICAL = (3, 10)


@dataclass(frozen=True)
class ChecklistItem:
    """One line of the checklist: ``status`` is one of :data:`STATUSES`; ``field`` the config field to change."""

    key: str
    title: str
    status: str
    reason: str
    field: str | None
    notebook: str
    section: str
    watch: str | None = None  # the HEALTHY_RANGES row that watches it during training
    source: str = "course"  # "seed": from the seed's checklist; "course": shown in the course

    @property
    def link(self) -> str:
        """A Markdown link to the notebook section where the course shows it (JupyterLab heading anchor)."""
        return f"[{self.notebook[:2]} § {self.section}]({self.notebook}#{self.section.replace(' ', '-')})"


def _kind(config: Any) -> str:
    name = type(config).__name__
    if name not in ("PPOConfig", "A2CConfig", "ReinforceConfig"):
        raise TypeError(f"checklist needs a PPOConfig, A2CConfig or ReinforceConfig, got {name}")
    return name[: -len("Config")]


def _env_info(env_id: str | None) -> dict[str, Any]:
    if env_id is None:
        return {}
    import gymnasium as gym

    env = gym.make(env_id)
    try:
        return {"continuous": isinstance(env.action_space, gym.spaces.Box),
                "time_limit": env.spec.max_episode_steps if env.spec else None}
    finally:
        env.close()


Rule = Callable[[Any, str, dict[str, Any]], tuple[str, str, str | None]]


def _advantages(c: Any, kind: str, env: dict) -> tuple[str, str, str | None]:
    if kind == "PPO":
        ok = c.adv_norm != "none"
        return ("met", f"adv_norm={c.adv_norm!r}: zero mean, unit std", None) if ok else (
            "not met", "adv_norm='none': the loss scales with the rewards; Adam removes a constant scale, the shared "
            "gradient clip does not (nb 05); use 'minibatch'", "adv_norm")
    if kind == "A2C":
        return ("met", "normalize_advantages=True", None) if c.normalize_advantages else (
            "not met", "normalize_advantages=False: the loss scales with the rewards; Adam removes a constant scale, "
            "the shared gradient clip does not (nb 05)", "normalize_advantages")
    ok = c.normalize != "none"
    return ("met", f"normalize={c.normalize!r}", None) if ok else (
        "not met", "normalize='none': the weights G (or G − V) keep the rewards' scale, which changes from batch "
            "to batch; use 'advantages' with baseline='value'", "normalize")


def _entropy(c: Any, kind: str, env: dict) -> tuple[str, str, str | None]:
    lo, hi = ENT_COEF_TYPICAL
    row = HEALTHY_RANGES["entropy"]
    if kind == "Reinforce":
        return "not applicable", f"ReinforceConfig has no entropy bonus; the health report watches the {row.name}", None
    if c.ent_coef == 0:
        return ("not met", f"ent_coef=0: no entropy bonus; if the health report's entropy rule fires, "
                f"{row.fix.split(',')[0]}", "ent_coef")
    if c.ent_coef > 10 * hi:
        return "not met", f"ent_coef={c.ent_coef:g} is far above {lo:g}–{hi:g}: the policy may stay random", "ent_coef"
    return "met", f"ent_coef={c.ent_coef:g} (typical {lo:g}–{hi:g}); watch the {row.name}", None


def _kl(c: Any, kind: str, env: dict) -> tuple[str, str, str | None]:
    if kind != "PPO":
        return "not applicable", f"{kind} takes one step per batch: no ε to anneal, no epochs to stop", None
    if c.target_kl is not None or c.anneal_clip:
        what = [f"target_kl={c.target_kl:g}"] if c.target_kl is not None else []
        what += ["anneal_clip=True"] if c.anneal_clip else []
        return "met", " and ".join(what) + "; the KL is logged every update", None
    return ("not met", f"neither target_kl nor anneal_clip: nothing stops the epochs when the KL spikes (the clip "
            f"bounds no KL, nb 06); target_kl={TARGET_KL_SUGGESTED:g} stops them early, anneal_clip=True only "
            f"narrows ε over the run", "target_kl")


def _epochs(c: Any, kind: str, env: dict) -> tuple[str, str, str | None]:
    if kind != "PPO":
        return "not applicable", f"{kind} takes one gradient step per batch by design (that is PPO's item)", None
    lo, hi = N_EPOCHS_TYPICAL
    if c.n_epochs * c.n_minibatches == 1:
        return "not met", "one gradient step per rollout: A2C-like, the data are wasted", "n_epochs"
    if c.n_epochs > 3 * hi:
        return "not met", f"n_epochs={c.n_epochs}: far above {lo}–{hi}, the policy drifts from π_old", "n_epochs"
    return ("met", f"{c.n_epochs} epochs × {c.n_minibatches} minibatches; π_old's log-probs are those stored "
            "at collection, fixed for the whole update", None)


def _normalisation(c: Any, kind: str, env: dict) -> tuple[str, str, str | None]:
    if not env:
        return "not applicable", "pass env_id: this item applies to continuous-action environments", None
    if not env["continuous"]:
        return "not applicable", "discrete actions: this item is about continuous control", None
    if kind == "Reinforce":
        return "not applicable", "REINFORCE here trains discrete actions only", None
    missing = [f for f in ("normalize_obs", "normalize_reward") if not getattr(c, f)]
    if missing:
        off = " and ".join(missing)
        return ("not met", f"{off} off for continuous control (PRESETS['Pendulum-v1'] has both; the "
                f"LunarLanderContinuous preset keeps normalize_obs off, measured in the README)", missing[0])
    return "met", "observations and rewards normalised", None


def _lr_schedule(c: Any, kind: str, env: dict) -> tuple[str, str, str | None]:
    if c.anneal_lr:
        return "met", "anneal_lr=True: the lr falls linearly to 0 over the budget", None
    return ("not met", "anneal_lr=False: the lr stays constant to the end, unlike the course's presets "
            "(notebook 02 §8 measures what annealing does for REINFORCE at a fixed budget)", "anneal_lr")


def _grad_clip(c: Any, kind: str, env: dict) -> tuple[str, str, str | None]:
    limit = 2 * MAX_GRAD_NORM_TYPICAL
    if c.max_grad_norm is None or c.max_grad_norm == float("inf"):
        return "not met", "max_grad_norm is off: no clip guards against a rare huge gradient", "max_grad_norm"
    if c.max_grad_norm <= limit:
        why = f"max_grad_norm={c.max_grad_norm:g} (≤ {limit:g}; the course's A2C and PPO use {MAX_GRAD_NORM_TYPICAL:g})"
        return "met", why, None
    return ("not met", f"max_grad_norm={c.max_grad_norm:g} > {limit:g}: above the course's "
            f"{MAX_GRAD_NORM_TYPICAL:g}, compare it with the logged grad_norm to see how often it acts; "
            f"{HEALTHY_RANGES['grad_norm'].fix.split(',')[0]}", "max_grad_norm")


def _truncation(c: Any, kind: str, env: dict) -> tuple[str, str, str | None]:
    if env and env.get("time_limit") is None:
        return "not applicable", "the environment has no time limit: nothing is truncated", None
    if kind == "Reinforce" and c.baseline == "none":
        why = "no critic to bootstrap from: returns are cut at the time limit; use baseline='value'"
        return "not met", why, "baseline"
    return "met", "truncated episodes bootstrap from V(s_final) (GAE with terminated and truncated apart)", None


#: (key, title, rule, notebook, section, HEALTHY_RANGES row, source) — in the order of the checklist.
ITEMS: tuple[tuple[str, str, Rule, str, str, str | None, str], ...] = (
    ("advantages", "normalise the advantages", _advantages, "09_diagnostics.ipynb",
     "4. Normalise advantages per minibatch, per batch, or not at all?", None, "seed"),
    ("entropy", "an entropy bonus, and watch for collapse", _entropy, "10_failure_modes.ipynb",
     "1. Entropy collapse", "entropy", "seed"),
    ("kl", "monitor the KL; anneal ε or stop early when it spikes", _kl, "07_ppo.ipynb",
     "5. What ε does to a real update", "approx_kl", "seed"),
    ("epochs", "several epochs of minibatch updates on one rollout, π_old fixed", _epochs, "07_ppo.ipynb",
     "7. PPO on CartPole-v1", "clip_fraction", "seed"),
    ("normalisation", "normalise observations and rewards (continuous control)", _normalisation,
     "08_continuous_control.ipynb", "4. Observation normalisation, inside the policy", None, "course"),
    ("lr_schedule", "a learning-rate schedule", _lr_schedule, "02_reinforce.ipynb",
     "8. What each addition buys: an ablation over seeds",
     "approx_kl", "course"),
    ("grad_clip", "gradient clipping", _grad_clip, "05_a2c.ipynb", "3. Gradient clipping", "grad_norm", "course"),
    ("truncation", "bootstrap at truncation", _truncation, "04_gae.ipynb", "6. Terminated vs truncated", None,
     "course"),
)


@dataclass(frozen=True)
class Checklist:
    """The checklist of one config: a sequence of :class:`ChecklistItem`, an HTML table in Jupyter."""

    config_name: str
    env_id: str | None
    items: tuple[ChecklistItem, ...]

    def __iter__(self) -> Iterator[ChecklistItem]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: str) -> ChecklistItem:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(f"no checklist item {key!r}; the items are {', '.join(i.key for i in self.items)}")

    def status(self) -> dict[str, str]:
        """Plain data: item key → status."""
        return {i.key: i.status for i in self.items}

    @property
    def not_met(self) -> list[ChecklistItem]:
        return [i for i in self.items if i.status == "not met"]

    def summary(self) -> str:
        n = {s: sum(i.status == s for i in self.items) for s in STATUSES}
        env = f" on {self.env_id}" if self.env_id else ""
        return f"{self.config_name}{env}: {n['met']} met, {n['not met']} not met, {n['not applicable']} not applicable"

    def __str__(self) -> str:
        lines = [self.summary()]
        for i in self.items:
            change = f" (change {i.field})" if i.field else ""
            lines.append(f"- [{i.status}] {i.title}: {i.reason}{change}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        esc = html.escape
        colour = {"met": "#009E73", "not met": "#D55E00", "not applicable": "#777777"}
        head = "".join(f"<th style='text-align:left'>{c}</th>" for c in ("item", "status", "why", "field"))
        rows = "".join(
            f"<tr><td style='text-align:left'>{esc(i.title)}</td>"
            f"<td style='text-align:left;color:{colour[i.status]}'><b>{i.status}</b></td>"
            f"<td style='text-align:left'>{esc(i.reason)}</td>"
            f"<td style='text-align:left'><code>{esc(i.field or '')}</code></td></tr>"
            for i in self.items
        )
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
        return f"<div><p><b>{esc(self.summary())}</b></p>{table}</div>"


def checklist(config: Any, env_id: str | None = None) -> Checklist:
    """Check ``config`` (a PPOConfig, A2CConfig or ReinforceConfig) against the checklist before training.

    ``env_id`` (optional) lets the environment-dependent items (normalisation for
    continuous actions, truncation) be judged; without it they are judged for any
    environment or marked not applicable. Never raises for a valid config: it says.
    """
    kind = _kind(config)
    env = _env_info(env_id)
    items = []
    for key, title, rule, notebook, section, watch, source in ITEMS:
        status, reason, field = rule(config, kind, env)
        items.append(ChecklistItem(key, title, status, reason, field, notebook, section, watch, source))
    return Checklist(type(config).__name__, env_id, tuple(items))
