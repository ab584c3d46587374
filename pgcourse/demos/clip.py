r"""Notebook 07 (PPO): the clip range ε, on the objective and on real updates."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from pgcourse._threads import torch_threads
from pgcourse.algorithms.common import make_adam
from pgcourse.algorithms.on_policy import Batch, prepare_batch
from pgcourse.algorithms.ppo import PPOConfig, clipped_surrogate_loss, ppo_update, train_ppo
from pgcourse.demos.widget import SliderDemo, check_range, make_slider, readout_table, set_box, static_figure
from pgcourse.networks import build_actor_critic
from pgcourse.plots import OKABE_ITO, course_style, style_cycle
from pgcourse.rollout import RolloutCollector, make_vec_env

__all__ = [
    "ClipObjective",
    "clip_objective",
    "static_clip_objective",
    "clip_objective_demo",
    "ClipUpdateStudy",
    "ClipUpdateResult",
    "CLIP_UPDATE_EPS",
    "CLIP_LEVER_BASE",
    "ClipLevers",
    "clip_fraction_levers",
    "clip_update_study",
    "clip_update_stats",
    "static_clip_updates",
    "clip_update_demo",
]


@dataclass(frozen=True)
class ClipObjective:
    r"""The per-sample clipped surrogate :math:`L^{CLIP}(r)` and its slope, for :math:`A = +|A|` and :math:`A = -|A|`.

    ``objective_pos[i]`` :math:`= \min(r_i A, \mathrm{clip}(r_i, 1-\epsilon, 1+\epsilon) A)` with
    :math:`A = +` ``advantage``; ``grad_pos[i]`` :math:`= \partial L^{CLIP} / \partial r` there (by autograd
    through :func:`pgcourse.algorithms.ppo.clipped_surrogate_loss`); ``*_neg`` the same for
    :math:`A = -` ``advantage``. ``unclipped_*`` :math:`= r A`, the importance-sampled surrogate
    without the clip. ``flat_pos`` / ``flat_neg`` mark where the slope is zero: :math:`r > 1+\epsilon`
    for :math:`A > 0` and :math:`r < 1-\epsilon` for :math:`A < 0`.
    """

    clip_eps: float
    advantage: float
    ratios: np.ndarray
    objective_pos: np.ndarray
    objective_neg: np.ndarray
    grad_pos: np.ndarray
    grad_neg: np.ndarray
    unclipped_pos: np.ndarray
    unclipped_neg: np.ndarray

    @property
    def flat_pos(self) -> np.ndarray:
        return self.grad_pos == 0

    @property
    def flat_neg(self) -> np.ndarray:
        return self.grad_neg == 0

    @property
    def window(self) -> tuple[float, float]:
        """The trust window :math:`[1-\\epsilon, 1+\\epsilon]`."""
        return 1.0 - self.clip_eps, 1.0 + self.clip_eps


def clip_objective(
    clip_eps: float, advantage: float = 1.0, ratios: Sequence[float] | np.ndarray | None = None
) -> ClipObjective:
    r"""Evaluate the package's :math:`L^{CLIP}` one sample at a time on a grid of ratios.

    .. math:: L^{CLIP}(r) = \min\big(r A,\ \mathrm{clip}(r, 1-\epsilon, 1+\epsilon)\, A\big)

    (the negative of :func:`~pgcourse.algorithms.ppo.clipped_surrogate_loss` for a batch of one).
    For :math:`A > 0` it stops rising at :math:`r = 1+\epsilon`; for :math:`A < 0` it stops rising
    (as :math:`r` falls) at :math:`r = 1-\epsilon`. In those flat regions the gradient is zero: the
    sample no longer pushes the policy. Everywhere else the slope is :math:`A`, as for :math:`r A`.
    """
    clip_eps = check_range(clip_eps, "clip_eps", 1e-6, 1.0)
    advantage = check_range(advantage, "advantage", 1e-6, 1e6)
    grid = np.linspace(0.0, 2.0, 401) if ratios is None else np.asarray(ratios, dtype=np.float64).ravel()
    if grid.size == 0 or not np.all(np.isfinite(grid)) or (grid < 0).any():
        raise ValueError("ratios must be a non-empty array of finite values >= 0 (probability ratios)")

    def per_sample(ri: torch.Tensor, ai: torch.Tensor) -> torch.Tensor:
        return -clipped_surrogate_loss(ri.reshape(1), ai.reshape(1), clip_eps)

    value = torch.func.vmap(per_sample, in_dims=(0, None))  # a batch of one per ratio
    out = {}
    with torch_threads(1):
        for name, a in (("pos", advantage), ("neg", -advantage)):
            r = torch.tensor(grid, dtype=torch.float64, requires_grad=True)
            adv = torch.full_like(r, a)
            out[f"objective_{name}"] = value(r.detach(), adv[0]).numpy()
            # the loss is -mean_i L_i and sample i only enters L_i, so dL_i/dr_i = -n * d(loss)/dr_i
            (g,) = torch.autograd.grad(clipped_surrogate_loss(r, adv, clip_eps), r)
            out[f"grad_{name}"] = (-grid.size * g).numpy() + 0.0  # + 0.0 turns -0.0 into 0.0
            out[f"unclipped_{name}"] = grid * a
    return ClipObjective(clip_eps=clip_eps, advantage=advantage, ratios=grid, **out)


def _draw_clip_panel(ax: Axes, res: ClipObjective, sign: str, style: Mapping[str, Any], label: str | None,
                     shade: bool = True, unclipped: bool = True) -> None:
    r = res.ratios
    obj = res.objective_pos if sign == "pos" else res.objective_neg
    flat = res.flat_pos if sign == "pos" else res.flat_neg
    if unclipped:
        raw = res.unclipped_pos if sign == "pos" else res.unclipped_neg
        ax.plot(r, raw, color="0.55", linestyle=(0, (2, 2)), linewidth=1.5, label=r"$r\,A$ (no clip)")
    ax.plot(r, obj, label=label, **style)
    if shade and flat.any():
        lo, hi = r[flat].min(), r[flat].max()
        ax.axvspan(lo, hi, color=style["color"], alpha=0.12, linewidth=0, label="flat: gradient 0")
    ax.axvline(1.0, color="0.3", linewidth=0.8)
    ax.set_xlabel(r"ratio $r = \pi_\theta(a|s)\,/\,\pi_{old}(a|s)$")


def _clip_titles(ax_pos: Axes, ax_neg: Axes) -> None:
    ax_pos.set_title(r"$A > 0$: a good action")
    ax_neg.set_title(r"$A < 0$: a bad action")
    ax_pos.set_ylabel(r"$L^{CLIP}$ of one sample")


def _draw_clip_objective(fig: Figure, res: ClipObjective) -> dict[str, Any]:
    """The demo's figure; returns, per panel, the artists a move of ε changes (see :func:`_refresh_clip_objective`)."""
    ax_pos, ax_neg = fig.subplots(1, 2, sharex=True)
    lo, hi = res.window
    artists = {}
    for ax, sign, where in ((ax_pos, "pos", "upper left"), (ax_neg, "neg", "lower left")):
        _draw_clip_panel(ax, res, sign, {"color": OKABE_ITO[0], "linestyle": "-"}, r"$L^{CLIP}$")
        shade = next(p for p in ax.patches if p.get_label() == "flat: gradient 0")
        window = [ax.axvline(x, color=OKABE_ITO[1], linestyle="--", linewidth=1.2, label=label)
                  for x, label in ((lo, r"$1 \pm \epsilon$"), (hi, None))]
        ax.legend(fontsize=9, loc=where)
        artists[sign] = {"objective": ax.lines[1], "shade": shade, "window": window, "title": ax.title}
    _clip_titles(ax_pos, ax_neg)
    return artists


def _refresh_clip_objective(artists: dict[str, Any], res: ClipObjective) -> None:
    lo, hi = res.window
    for sign, title in (("pos", rf"$A > 0$: flat for $r > {hi:.2f}$"), ("neg", rf"$A < 0$: flat for $r < {lo:.2f}$")):
        a = artists[sign]
        a["objective"].set_ydata(res.objective_pos if sign == "pos" else res.objective_neg)
        flat = res.ratios[res.flat_pos if sign == "pos" else res.flat_neg]
        a["shade"].set_visible(flat.size > 0)
        if flat.size:
            a["shade"].set_x(flat.min())
            a["shade"].set_width(flat.max() - flat.min())
        for line, x in zip(a["window"], (lo, hi), strict=True):
            line.set_xdata([x, x])
        a["title"].set_text(title)


def static_clip_objective(clip_eps_values: Sequence[float] = (0.1, 0.2, 0.3)) -> Figure:
    """:math:`L^{CLIP}(r)` for :math:`A = +1` and :math:`A = -1` at a few ε, with :math:`rA` for reference."""
    fig, (ax_pos, ax_neg) = static_figure(2, (13, 4.6))
    with course_style():
        for j, eps in enumerate(clip_eps_values):
            res = clip_objective(eps)
            for ax, sign in ((ax_pos, "pos"), (ax_neg, "neg")):
                _draw_clip_panel(ax, res, sign, style_cycle(j), rf"$\epsilon$ = {eps:g}", shade=False,
                                 unclipped=(j == 0))
        _clip_titles(ax_pos, ax_neg)
        ax_pos.legend(fontsize=9, loc="upper left")
        ax_neg.legend(fontsize=9, loc="lower left")
    return fig


def clip_objective_demo(advantage: float = 1.0) -> SliderDemo:
    """Slider ε → :math:`L^{CLIP}(r)` for a good and a bad action, the flat (zero-gradient) regions shaded."""
    eps_slider = make_slider(widgets.FloatSlider, "clip ε (epsilon)", min=0.05, max=0.5, step=0.05,
                         value=0.2, readout_format=".2f")

    def compute(eps_slider: float) -> ClipObjective:
        return clip_objective(eps_slider, advantage)

    def readout(res: ClipObjective) -> str:
        lo, hi = res.window
        return readout_table(
            [
                ("ε", f"{res.clip_eps:.2f}"),
                ("trust window", f"[{lo:.2f}, {hi:.2f}]"),
                ("A > 0: flat for", f"r > {hi:.2f}"),
                ("A < 0: flat for", f"r < {lo:.2f}"),
                ("largest L^CLIP (A > 0)", f"(1 + ε)·A = {hi * res.advantage:.2f}"),
            ],
            "In the shaded region the slope is 0: that sample stops pulling the policy. "
            "Small ε: a tight leash. Large ε: closer to the unclipped r·A.",
        )

    return SliderDemo({"eps_slider": eps_slider}, compute, _draw_clip_objective, readout,
                      refresh=_refresh_clip_objective)


@dataclass(frozen=True)
class ClipUpdateStudy:
    r"""One fixed rollout and the policy :math:`\pi_{old}` that collected it, shared by every ε.

    ``batch`` comes from :func:`~pgcourse.algorithms.on_policy.prepare_batch` (GAE advantages);
    ``policy`` is never modified: each ε trains its own copy with its own Adam, on the same
    minibatch shuffles (common random numbers), so differences between two ε are due to ε.
    ``pretrain_mean_return``: the running mean return at the end of the short PPO run that
    produced ``policy`` (NaN for a fresh policy).
    """

    env_id: str
    seed: int
    config: PPOConfig
    policy: torch.nn.Module  # π_old, in eval mode; never trained by the demo
    batch: Batch
    pretrain_mean_return: float = math.nan
    cache: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ClipUpdateResult:
    r"""How far PPO's epochs on one rollout move the policy, for one clip range ε.

    Per epoch ``k = 1..n_epochs`` (measured on the whole rollout after that epoch):
    ``approx_kl[k-1]`` — the k3 estimate of :math:`\mathrm{KL}(\pi_{old}\|\pi_\theta)`;
    ``clip_fraction[k-1]`` — the fraction of samples with :math:`|r - 1| > \epsilon` (as PPO logs it).
    ``ratios``: every sample's :math:`r` after the last epoch.
    """

    clip_eps: float
    epochs: np.ndarray
    approx_kl: np.ndarray
    clip_fraction: np.ndarray
    ratios: np.ndarray

    @property
    def mean_ratio_change(self) -> float:
        """:math:`\\mathrm{mean}|r - 1|` after the last epoch: how far the average sample's probability moved."""
        return float(np.mean(np.abs(self.ratios - 1.0)))

    def fraction_outside(self, window: float) -> float:
        """Fraction of samples with :math:`|r - 1| >` ``window`` after the last epoch (a fixed yardstick)."""
        return float(np.mean(np.abs(self.ratios - 1.0) > window))


@lru_cache(maxsize=4)
def _cached_clip_update_study(env_id: str, seed: int, config: PPOConfig, pretrain_steps: int) -> ClipUpdateStudy:
    policy, pretrain_return = None, math.nan
    if pretrain_steps > 0:
        with torch.random.fork_rng(devices=[]):
            run = train_ppo(env_id, config, seed=seed, total_steps=pretrain_steps, progress=False)
        policy, pretrain_return = run.policy, run.history[-1]["mean_return"]
    envs = make_vec_env(env_id, config.n_envs, seed, config.normalize_reward, config.gamma)
    try:
        with torch.random.fork_rng(devices=[]), torch_threads(1):
            torch.manual_seed(seed)
            if policy is None:
                policy = build_actor_critic(envs.single_observation_space, envs.single_action_space, config.hidden,
                                            config.shared, config.normalize_obs, config.log_std_init)
            policy.eval()
            buf, _ = RolloutCollector(envs, policy, seed).collect(config.n_steps)
            batch = prepare_batch(policy, buf, config.gamma, config.gae_lambda)
    finally:
        envs.close()
    return ClipUpdateStudy(env_id, seed, config, policy, batch, pretrain_return)


def clip_update_study(
    env_id: str = "CartPole-v1", seed: int = 0, config: PPOConfig | None = None, pretrain_steps: int = 4000
) -> ClipUpdateStudy:
    """The policy of a short PPO run (``pretrain_steps`` env steps; 0: a fresh one) and one rollout of it.

    The rollout has ``config.n_envs`` × ``config.n_steps`` steps (the course defaults when
    ``config`` is ``None``): exactly what one PPO update sees, at a point where the agent
    has learned something (on CartPole after 4000 steps: mean return about 100) but not
    everything. Cached: the static figure and the slider share one study.
    """
    config = config or PPOConfig()
    pretrain_steps = int(check_range(pretrain_steps, "pretrain_steps", 0, 1_000_000))
    return _cached_clip_update_study(env_id, int(seed), config, pretrain_steps)


def clip_update_stats(
    clip_eps: float,
    study: ClipUpdateStudy | None = None,
    lr: float | None = None,
    n_epochs: int | None = None,
    n_minibatches: int | None = None,
) -> ClipUpdateResult:
    r"""Run PPO's update (:func:`~pgcourse.algorithms.ppo.ppo_update`, one epoch at a time) with clip range ε.

    ``lr``, ``n_epochs`` and ``n_minibatches`` replace the study's settings when given (the
    same start, rollout and per-epoch shuffle seeds otherwise).

    Starting from :math:`\pi_{old}` each time, the epochs of shuffled minibatch steps on the
    clipped surrogate move the policy; after each epoch we measure the k3 approx KL and the
    clip fraction on the whole rollout. A larger ε lets the ratios drift further from 1
    before their samples stop pulling: the KL grows with ε, and the ratios end up spread
    over roughly :math:`[1-\epsilon, 1+\epsilon]` (a little beyond: the other samples'
    gradients and Adam's momentum still move a clipped sample).
    """
    study = study or clip_update_study()
    clip_eps = check_range(clip_eps, "clip_eps", 1e-6, 1.0)
    epochs = study.config.n_epochs if n_epochs is None else int(check_range(n_epochs, "n_epochs", 1, 1000))
    changes = {"lr": lr, "n_minibatches": n_minibatches}
    cfg = replace(study.config, clip_eps=clip_eps, n_epochs=1, target_kl=None,
                  **{k: v for k, v in changes.items() if v is not None})
    key = (round(clip_eps, 12), epochs, cfg.lr, cfg.n_minibatches)
    if key in study.cache:
        return study.cache[key]
    policy = copy.deepcopy(study.policy)
    policy.train()
    optimizer = make_adam(policy.parameters(), cfg.lr)
    kl, cf = [], []
    with torch.random.fork_rng(devices=[]), torch_threads(1):
        torch.manual_seed(study.seed)
        for _ in range(epochs):
            out = ppo_update(policy, optimizer, study.batch, cfg, 1)
            kl.append(out["approx_kl"])
            cf.append(out["clip_fraction"])
        with torch.no_grad():
            new_lp = policy.distribution(study.batch.obs).log_prob(study.batch.actions)
    ratios = torch.exp(new_lp - study.batch.log_probs).double().numpy()
    result = ClipUpdateResult(
        clip_eps=clip_eps,
        epochs=np.arange(1, len(kl) + 1),
        approx_kl=np.array(kl),
        clip_fraction=np.array(cf),
        ratios=ratios,
    )
    study.cache[key] = result
    return result


#: The ε values of the static figure (and the grey context lines of the slider).
CLIP_UPDATE_EPS = (0.05, 0.1, 0.2, 0.4)

#: An update too aggressive for one rollout of the course's PPO (8 × 32 steps): 20 epochs of 16 minibatches
#: at lr 0.03, 320 Adam steps. It drives the clip fraction far above the health report's thresholds.
CLIP_LEVER_BASE = {"clip_eps": 0.2, "lr": 3e-2, "n_epochs": 20, "n_minibatches": 16}


@dataclass(frozen=True)
class ClipLevers:
    r"""The clip fraction and approx KL after one PPO update, per setting and per rollout.

    ``settings[i]`` is ``CLIP_LEVER_BASE`` with one value changed (``settings[0]`` the base
    itself); ``clip_fraction[i, j]`` / ``approx_kl[i, j]`` are measured after the update on
    rollout ``j`` (one :class:`ClipUpdateStudy` per seed): :math:`\mathrm{mean}(|r - 1| > \epsilon)`
    against the ε of that setting, and the k3 KL.
    """

    settings: list[dict[str, float]]
    changed: list[str]
    seeds: tuple[int, ...]
    clip_fraction: np.ndarray
    approx_kl: np.ndarray

    def row(self, name: str | None = None, value: float | None = None) -> int:
        """Index of the setting that changes ``name`` to ``value`` (no argument: the base)."""
        for i, s in enumerate(self.settings):
            if (name is None and i == 0) or (name is not None and self.changed[i] == name and s[name] == value):
                return i
        raise KeyError(f"no setting with {name}={value!r}")

    def mean_clip_fraction(self, name: str | None = None, value: float | None = None) -> float:
        return float(self.clip_fraction[self.row(name, value)].mean())


def _lever_column(seed: int, progress: bool, settings: Sequence[Mapping[str, float]]) -> tuple[list, list]:
    """One rollout's column of :class:`ClipLevers`: the clip fraction and KL after each setting's update."""
    study = clip_update_study(seed=seed)
    out = [clip_update_stats(s["clip_eps"], study, s["lr"], s["n_epochs"], s["n_minibatches"]) for s in settings]
    return [r.clip_fraction[-1] for r in out], [r.approx_kl[-1] for r in out]


def clip_fraction_levers(
    changes: Sequence[tuple[str, float]],
    seeds: Sequence[int] = (0, 1, 2),
    base: Mapping[str, float] | None = None,
    n_jobs: int = 1,
) -> ClipLevers:
    """What lowers a high clip fraction: PPO's update from ``base`` and from ``base`` with one change each.

    Each change is ``(field, value)`` with field one of ``clip_eps``, ``lr``, ``n_epochs``,
    ``n_minibatches``; every setting runs on the same rollouts (one study per seed, see
    :func:`clip_update_study`), from the same π_old with the same shuffles. The seeds run
    through :func:`pgcourse.experiments.run_seeds` (``n_jobs=-1``: one worker per core), the
    same numbers either way.
    """
    from pgcourse.experiments import run_seeds  # joblib is imported by who uses it

    base = dict(CLIP_LEVER_BASE if base is None else base)
    for name, _ in changes:
        if name not in CLIP_LEVER_BASE:
            raise ValueError(f"cannot change {name!r}; use one of {tuple(CLIP_LEVER_BASE)}")
    settings, changed = [base], [""]
    for name, value in changes:
        settings.append({**base, name: value})
        changed.append(name)
    columns = run_seeds(_lever_column, seeds, n_jobs=n_jobs, settings=settings)
    if columns.interrupted:
        raise KeyboardInterrupt(columns.note)
    cf = np.array([c[0] for c in columns]).T  # (setting, seed)
    kl = np.array([c[1] for c in columns]).T
    return ClipLevers(settings, changed, tuple(int(s) for s in seeds), cf, kl)


def _draw_update_curves(ax_kl: Axes, ax_cf: Axes, results: Sequence[ClipUpdateResult],
                        styles: Sequence[Mapping[str, Any]]) -> None:
    for res, st in zip(results, styles, strict=True):
        label = rf"$\epsilon$ = {res.clip_eps:g}"
        ax_kl.plot(res.epochs, res.approx_kl, marker="o", markersize=4, label=label, **st)
        ax_cf.plot(res.epochs, res.clip_fraction, marker="o", markersize=4, label=label, **st)
    ax_kl.set_xlabel("epoch on the same rollout")
    ax_kl.set_ylabel(r"approx. KL($\pi_{old}\,\|\,\pi_\theta$), k3")
    ax_kl.set_ylim(bottom=0)
    ax_cf.set_xlabel("epoch on the same rollout")
    ax_cf.set_ylabel(r"clip fraction: $|r - 1| > \epsilon$")
    ax_cf.set_ylim(bottom=0)


def _draw_ratio_boxes(ax: Axes, results: Sequence[ClipUpdateResult], styles: Sequence[Mapping[str, Any]],
                      labels: Sequence[str] | None = None) -> tuple[dict[str, list], list]:
    """Box plots of the ratios after the update, one per result, with the window 1 ± ε as bars.

    Returns the boxes (``ax.boxplot``'s dict) and the bars (one collection per result); ``labels``: the tick labels.
    """
    data = [res.ratios for res in results]
    pos = np.arange(1, len(data) + 1)
    box = ax.boxplot(data, positions=pos, whis=(5, 95), showfliers=False, patch_artist=True, widths=0.5)
    for patch, st in zip(box["boxes"], styles, strict=True):
        patch.set(facecolor=st["color"], alpha=0.35)
    bars = [ax.hlines([1 - res.clip_eps, 1 + res.clip_eps], p - 0.38, p + 0.38, color=st["color"], linewidth=2.5)
            for p, res, st in zip(pos, results, styles, strict=True)]
    ax.axhline(1.0, color="0.4", linewidth=0.8)
    ax.set_xticks(pos, labels or [rf"$\epsilon$ = {r.clip_eps:g}" for r in results])
    ax.set_ylabel(r"ratio $r$ after the update")
    ax.set_title("ratios after the update\n(5–95 %), bars: 1 ± ε", fontsize=10)
    return box, bars


def static_clip_updates(clip_eps_values: Sequence[float] = CLIP_UPDATE_EPS,
                        study: ClipUpdateStudy | None = None) -> Figure:
    """KL and clip fraction per epoch on one rollout, one line per ε; the ratios after the last epoch."""
    study = study or clip_update_study()
    results = [clip_update_stats(eps, study) for eps in clip_eps_values]
    styles = [style_cycle(j) for j in range(len(results))]
    fig, (ax_kl, ax_cf, ax_r) = static_figure(3, (15, 4.6))
    with course_style():
        _draw_update_curves(ax_kl, ax_cf, results, styles)
        ax_kl.set_title("how far the policy moved", fontsize=12)
        ax_cf.set_title("share of samples at the clip", fontsize=12)
        ax_kl.legend(fontsize=9, loc="upper left")
        _draw_ratio_boxes(ax_r, results, styles)
    return fig


def clip_update_demo(study: ClipUpdateStudy | None = None) -> SliderDemo:
    """Slider ε → KL and clip fraction per epoch of PPO's update on one fixed rollout, and the final ratios."""
    study = study or clip_update_study()
    eps_slider = make_slider(widgets.FloatSlider, "clip ε (epsilon), real update", min=0.05, max=0.5,
                         step=0.05, value=0.2, readout_format=".2f")
    grey = {"color": "0.75", "linestyle": "-", "linewidth": 1.2}

    def compute(eps_slider: float) -> ClipUpdateResult:
        return clip_update_stats(eps_slider, study)

    # every ε of the slider's grid, once, at build time (each is a real PPO update, about 0.1 s): the axes then
    # hold every ε and a move only redraws the current lines
    grid = np.round(np.arange(eps_slider.min, eps_slider.max + eps_slider.step / 2, eps_slider.step), 10)
    every = [clip_update_stats(float(eps), study) for eps in grid]
    context = [clip_update_stats(eps, study) for eps in CLIP_UPDATE_EPS]
    ratio_range = (min(np.percentile(r.ratios, 5) for r in every), max(np.percentile(r.ratios, 95) for r in every))

    def draw(fig: Figure, res: ClipUpdateResult) -> dict[str, Any]:
        ax_kl, ax_cf, ax_r = fig.subplots(1, 3, width_ratios=(1, 1, 0.7))
        _draw_update_curves(ax_kl, ax_cf, context, [grey] * len(context))
        _draw_update_curves(ax_kl, ax_cf, [res], [{"color": OKABE_ITO[0], "linestyle": "-", "linewidth": 2.5}])
        ax_kl.set_ylim(0, 1.1 * max(r.approx_kl.max() for r in every))
        ax_cf.set_ylim(0, 1.1 * max(max(r.clip_fraction.max() for r in every), 0.05))
        ax_cf.set_title("grey: ε = " + ", ".join(f"{e:g}" for e in CLIP_UPDATE_EPS), fontsize=10)
        box, bars = _draw_ratio_boxes(ax_r, [res], [{"color": OKABE_ITO[0], "linestyle": "-"}], labels=["this ε"])
        low, high = min(ratio_range[0], 1 - grid[-1]), max(ratio_range[1], 1 + grid[-1])
        ax_r.set_ylim(low - 0.05 * (high - low), high + 0.05 * (high - low))
        return {"kl": ax_kl.lines[-1], "cf": ax_cf.lines[-1], "title": ax_kl.title, "box": box, "bars": bars}

    def refresh(artists: dict[str, Any], res: ClipUpdateResult) -> None:
        artists["kl"].set_ydata(res.approx_kl)
        artists["cf"].set_ydata(res.clip_fraction)
        artists["title"].set_text(rf"$\epsilon$ = {res.clip_eps:.2f}: KL {res.approx_kl[-1]:.4f}")
        artists["title"].set_fontsize(11)
        set_box(artists["box"], 0, res.ratios)
        (bars,) = artists["bars"]
        bars.set_segments([[(0.62, y), (1.38, y)] for y in (1 - res.clip_eps, 1 + res.clip_eps)])

    def readout(res: ClipUpdateResult) -> str:
        return readout_table(
            [
                ("ε", f"{res.clip_eps:.2f}"),
                ("KL, last epoch", f"{res.approx_kl[-1]:.4f}"),
                ("KL, largest", f"{res.approx_kl.max():.4f}"),
                ("clip fraction", f"{res.clip_fraction[-1]:.1%}"),
                ("mean |r − 1|", f"{res.mean_ratio_change:.3f}"),
            ],
            f"{study.config.n_epochs} epochs on one rollout of {len(study.batch)} transitions. "
            "A wider window lets the policy move further (higher KL) before its samples stop pulling.",
        )

    return SliderDemo({"eps_slider": eps_slider}, compute, draw, readout, figsize=(10.5, 3.8), refresh=refresh)
