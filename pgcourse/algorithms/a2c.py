r"""Advantage Actor-Critic (A2C): short rollouts from parallel environments, one step each.

Every ``n_steps`` × ``n_envs`` rollout gives one gradient step on the combined loss

.. math:: L = \underbrace{-\mathrm{mean}_t[\log\pi_\theta(a_t|s_t)\,\hat A_t]}_{\text{policy}}
          + c_v\, \underbrace{\tfrac12 \mathrm{mean}_t[(V_\phi(s_t) - \hat R_t)^2]}_{\text{value}}
          - c_e\, \underbrace{\mathrm{mean}_t\, H[\pi_\theta(\cdot|s_t)]}_{\text{entropy}},

with GAE(γ, λ) advantages :math:`\hat A_t` and targets :math:`\hat R_t = \hat A_t + V(s_t)`,
and the global gradient norm clipped to ``max_grad_norm``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from pgcourse.algorithms.common import Callback, TrainResult, check_finite
from pgcourse.algorithms.on_policy import Batch, OnPolicyConfig, policy_shift, run_on_policy
from pgcourse.algorithms.reinforce import reinforce_loss
from pgcourse.diagnostics import explained_variance
from pgcourse.returns import normalize

__all__ = ["A2CConfig", "a2c_loss", "a2c_update", "train_a2c"]


@dataclass(frozen=True)
class A2CConfig(OnPolicyConfig):
    """A2C hyperparameters (the shared ones are documented on :class:`OnPolicyConfig`).

    Defaults solve CartPole-v1 (see ``benchmarks/``).
    """

    normalize_advantages: bool = False


def a2c_loss(
    log_probs: torch.Tensor,
    values: torch.Tensor,
    entropy: torch.Tensor,
    advantages: torch.Tensor,
    returns: torch.Tensor,
    vf_coef: float,
    ent_coef: float,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    r""":math:`L = L^{PG} + c_v L^V - c_e H` (see the module docstring); returns the total and its parts."""
    pg = reinforce_loss(log_probs, advantages)
    v = 0.5 * ((values - returns) ** 2).mean()
    ent = entropy.mean()
    return pg + vf_coef * v - ent_coef * ent, {"policy_loss": pg, "value_loss": v, "entropy": ent}


def a2c_update(
    policy: torch.nn.Module, optimizer: torch.optim.Optimizer, batch: Batch, cfg: A2CConfig, update: int
) -> dict[str, float]:
    """One gradient step on the whole rollout."""
    adv = normalize(batch.advantages) if cfg.normalize_advantages and len(batch) > 1 else batch.advantages
    log_probs, values, entropy = policy.evaluate(batch.obs, batch.actions)
    loss, parts = a2c_loss(log_probs, values, entropy, adv, batch.returns, cfg.vf_coef, cfg.ent_coef)
    check_finite(loss, "A2C loss (policy + value - entropy)", update)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    gn = float(torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.max_grad_norm))
    optimizer.step()
    out = {k: v.item() for k, v in parts.items()}
    out.update(
        grad_norm=gn,
        explained_variance=float(explained_variance(batch.values, batch.returns)),
        approx_kl=policy_shift(policy, batch, clip_eps=0.2)[0],
    )
    return out


def train_a2c(
    env_id: str = "CartPole-v1",
    config: A2CConfig | None = None,
    seed: int = 0,
    total_steps: int | None = None,
    progress: bool = True,
    callbacks: Sequence[Callback] = (),
    init_policy: torch.nn.Module | None = None,
) -> TrainResult:
    """Train A2C on ``env_id`` (``Discrete`` or 1-D ``Box`` actions) and return a :class:`TrainResult`.

    ``init_policy`` continues from a copy of that policy's weights (e.g. a previous run's ``result.policy``).
    """
    config = config or A2CConfig()
    return run_on_policy(
        "A2C", env_id, config, seed, total_steps or config.total_steps, progress, callbacks, a2c_update, init_policy
    )
