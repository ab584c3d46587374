r"""Proximal Policy Optimization (PPO-Clip).

With the probability ratio :math:`r_t(\theta) = \pi_\theta(a_t|s_t) / \pi_{old}(a_t|s_t)`
and advantages :math:`\hat A_t` (GAE), PPO maximises the clipped surrogate

.. math:: L^{CLIP}(\theta) = \mathbb{E}_t\left[\min\left(r_t \hat A_t,\;
          \mathrm{clip}(r_t, 1-\epsilon, 1+\epsilon)\, \hat A_t\right)\right]

for several epochs of shuffled minibatches on one rollout, plus a value loss and an
entropy bonus: :math:`L = -L^{CLIP} + c_v L^V - c_e H[\pi_\theta]`.
At :math:`\theta = \theta_{old}`, :math:`r = 1` and :math:`\nabla L^{CLIP}` is the
vanilla policy gradient; the clip only removes the incentive to move :math:`r` past
:math:`1 \pm \epsilon`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from pgcourse.algorithms.common import Callback, TrainResult, check_finite
from pgcourse.algorithms.on_policy import Batch, OnPolicyConfig, linear_schedule, policy_shift, run_on_policy
from pgcourse.diagnostics import explained_variance
from pgcourse.returns import normalize

__all__ = ["PPOConfig", "PRESETS", "clipped_surrogate_loss", "value_loss", "ppo_update", "train_ppo"]

ADV_NORM = ("minibatch", "batch", "none")


@dataclass(frozen=True)
class PPOConfig(OnPolicyConfig):
    r"""PPO hyperparameters: the shared ones of :class:`OnPolicyConfig` plus epochs, minibatches and clipping.

    ``anneal_clip`` anneals the clip range like ``anneal_lr`` the learning rate: with a
    fraction :math:`f` of the budget left, :math:`\epsilon_f = \epsilon_{final} + (\epsilon -
    \epsilon_{final})\, f`, linear from ``clip_eps`` towards ``clip_eps_final`` (0 by default, as
    rl-zoo's linear schedules; a floor in ``[0, clip_eps]`` otherwise). Every quantity that uses
    ε uses the one in force: the clipped surrogate, the value clip (``clip_vloss``) and the
    logged clip fraction; the history logs it as ``clip_eps``.

    Defaults solve CartPole-v1 quickly (see ``benchmarks/``).
    """

    n_steps: int = 32
    gae_lambda: float = 0.9
    lr: float = 3e-3
    n_epochs: int = 10
    n_minibatches: int = 2
    clip_eps: float = 0.2
    anneal_clip: bool = False
    clip_eps_final: float = 0.0
    adv_norm: str = "minibatch"
    clip_vloss: bool = False
    target_kl: float | None = None
    total_steps: int = 50_000

    def rules(self) -> dict[str, tuple[float, float, str]]:
        return {
            **super().rules(),
            "n_epochs": (1, 1000, "[]"),
            "n_minibatches": (1, self.n_envs * self.n_steps, "[]"),
            "clip_eps": (0, 1, "(]"),
            "clip_eps_final": (0, self.clip_eps, "[]"),
        }

    def in_force(self, frac: float) -> dict[str, float]:
        """The learning rate and the clip range in force with a fraction ``frac`` of the budget left."""
        eps = linear_schedule(self.clip_eps, self.clip_eps_final, frac) if self.anneal_clip else self.clip_eps
        return {**super().in_force(frac), "clip_eps": eps}

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.anneal_clip, bool):
            raise ValueError(f"PPOConfig.anneal_clip={self.anneal_clip!r} must be True or False")
        if self.clip_eps_final != 0 and not self.anneal_clip:
            raise ValueError(
                f"PPOConfig.clip_eps_final={self.clip_eps_final!r} has no effect with anneal_clip=False; "
                "set anneal_clip=True to anneal clip_eps towards it, or leave clip_eps_final at 0"
            )
        if self.adv_norm not in ADV_NORM:
            raise ValueError(f"PPOConfig.adv_norm={self.adv_norm!r} is not allowed; use one of {ADV_NORM}")
        if self.target_kl is not None and not self.target_kl > 0:
            raise ValueError(f"PPOConfig.target_kl={self.target_kl!r} is outside the allowed range (0, inf) or None")


def clipped_surrogate_loss(ratio: torch.Tensor, advantages: torch.Tensor, clip_eps: float) -> torch.Tensor:
    r"""Policy loss :math:`-\mathrm{mean}[\min(r \hat A,\ \mathrm{clip}(r, 1-\epsilon, 1+\epsilon) \hat A)]`.

    Gradients flow through ``ratio`` only; ``advantages`` are treated as constants.
    """
    clipped = torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    advantages = advantages.detach()
    return -torch.min(ratio * advantages, clipped * advantages).mean()


def value_loss(values: torch.Tensor, returns: torch.Tensor, old_values: torch.Tensor | None, clip: float | None):
    r""":math:`\tfrac12 \mathrm{mean}(V - R)^2`; with ``clip``, the pessimistic max with the clipped
    :math:`V_{old} + \mathrm{clip}(V - V_{old}, -\epsilon, \epsilon)` (PPO2's value clipping)."""
    loss = (values - returns) ** 2
    if clip is not None and old_values is not None:
        v_clipped = old_values + torch.clamp(values - old_values, -clip, clip)
        loss = torch.max(loss, (v_clipped - returns) ** 2)
    return 0.5 * loss.mean()


def ppo_update(
    policy: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: Batch, cfg: PPOConfig, update: int
) -> dict[str, float]:
    """``n_epochs`` passes of shuffled minibatches over one rollout; returns the update's diagnostics.

    ``cfg`` is the config in force (``train_ppo`` puts the annealed ``lr`` and ``clip_eps`` in).
    """
    adv_all = normalize(batch.advantages) if cfg.adv_norm == "batch" and len(batch) > 1 else batch.advantages
    mb_size = max(len(batch) // cfg.n_minibatches, 1)
    params = list(policy.parameters())
    stats: dict[str, list[float]] = {k: [] for k in ("policy_loss", "value_loss", "entropy", "grad_norm")}
    for _epoch in range(cfg.n_epochs):
        perm = torch.randperm(len(batch))
        for start in range(0, len(batch) - mb_size + 1, mb_size):
            idx = perm[start : start + mb_size]
            mb = batch[idx]
            adv = adv_all[idx]
            if cfg.adv_norm == "minibatch" and len(idx) > 1:
                adv = normalize(adv)
            new_lp, values, entropy = policy.evaluate(mb.obs, mb.actions)
            ratio = torch.exp(new_lp - mb.log_probs)
            pg_loss = clipped_surrogate_loss(ratio, adv, cfg.clip_eps)
            v_loss = value_loss(values, mb.returns, mb.values, cfg.clip_eps if cfg.clip_vloss else None)
            ent = entropy.mean()
            loss = pg_loss + cfg.vf_coef * v_loss - cfg.ent_coef * ent
            check_finite(loss, "PPO loss (policy + value - entropy)", update)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            stats["grad_norm"].append(float(torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)))
            optimizer.step()
            for k, v in (("policy_loss", pg_loss), ("value_loss", v_loss), ("entropy", ent)):
                stats[k].append(v.item())
        shift = policy_shift(policy, batch, cfg.clip_eps) if cfg.target_kl is not None else None
        if shift is not None and shift[0] > cfg.target_kl:
            break
    kl, cf = shift if shift is not None else policy_shift(policy, batch, cfg.clip_eps)
    out = {k: float(np.mean(v)) for k, v in stats.items()}
    out.update(
        approx_kl=kl,
        clip_fraction=cf,
        explained_variance=float(explained_variance(batch.values, batch.returns)),
        epochs=_epoch + 1,
    )
    return out


# rl-zoo's LunarLander settings scaled to a laptop: half the rollout (16 envs x 512 steps),
# 8 epochs of 16 minibatches, a larger annealed lr, and reward normalisation; measured in
# benchmarks/bench_lunar.py (10 seeds, each judged by 20 deterministic episodes).
_LUNAR = PPOConfig(
    n_envs=16,
    n_steps=512,
    n_epochs=8,
    n_minibatches=16,
    lr=7e-4,
    gamma=0.999,
    gae_lambda=0.98,
    ent_coef=0.01,
    normalize_reward=True,
    total_steps=500_000,
)

#: Tuned settings per environment; ``train_ppo(env_id)`` without a config uses these (else ``PPOConfig()``).
PRESETS: dict[str, PPOConfig] = {
    "CartPole-v1": PPOConfig(),
    "Pendulum-v1": PPOConfig(
        n_envs=16,
        n_steps=128,
        n_epochs=10,
        n_minibatches=4,
        gamma=0.95,
        gae_lambda=0.95,
        lr=3e-3,
        normalize_obs=True,
        normalize_reward=True,
        total_steps=100_000,
    ),
    "LunarLander-v3": _LUNAR,
    # the same settings with a Gaussian policy, for twice the budget; observation normalisation stays off
    # (with it, 2 seeds reached an evaluation of 200 later: README, "LunarLander")
    "LunarLanderContinuous-v3": replace(_LUNAR, total_steps=1_000_000),
}

def train_ppo(
    env_id: str = "CartPole-v1",
    config: PPOConfig | None = None,
    seed: int = 0,
    total_steps: int | None = None,
    progress: bool = True,
    callbacks: Sequence[Callback] = (),
    init_policy: torch.nn.Module | None = None,
) -> TrainResult:
    """Train PPO on ``env_id`` (``Discrete`` or 1-D ``Box`` actions) and return a :class:`TrainResult`.

    Without ``config``, the tuned preset for ``env_id`` in :data:`PRESETS` is used
    (``PPOConfig()`` for other environments).

    ``total_steps`` (default ``config.total_steps``) counts environment transitions.
    Ctrl-C (KeyboardInterrupt) stops early and keeps what was learned. ``init_policy``
    continues from a copy of that policy's weights (e.g. a previous run's ``result.policy``).
    """
    config = config or PRESETS.get(env_id, PPOConfig())
    return run_on_policy(
        "PPO", env_id, config, seed, total_steps or config.total_steps, progress, callbacks, ppo_update, init_policy
    )
