"""The loop A2C and PPO share: collect a rollout, compute advantages, update, log.

Only the *update* differs between the two algorithms (one gradient step on the whole
rollout for A2C; epochs of clipped minibatch steps for PPO), so each passes its own
``update`` function to :func:`run_on_policy`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch.nn.utils import parameters_to_vector

from pgcourse._threads import torch_threads
from pgcourse.algorithms.common import (
    Callback,
    TrainResult,
    action_space_info,
    check_finite,
    make_adam,
    plain_fields,
    seed_everything,
    training_session,
    validate_config,
)
from pgcourse.diagnostics import approx_kl, clip_fraction, step_norm
from pgcourse.networks import build_actor_critic, check_spaces
from pgcourse.returns import gae
from pgcourse.rollout import RolloutBuffer, RolloutCollector, make_vec_env

__all__ = ["OnPolicyConfig", "Batch", "linear_schedule", "prepare_batch", "policy_shift", "run_on_policy"]


def linear_schedule(start: float, end: float, frac: float) -> float:
    r"""The value in force with a fraction ``frac`` of the budget left: :math:`end + (start - end)\,frac`.

    ``frac`` falls from 1 (no step taken) towards 0 (budget spent), so the value moves
    linearly from ``start`` to ``end``; the learning rate's schedule is ``end = 0``.
    """
    return end + (start - end) * frac


@dataclass(frozen=True)
class OnPolicyConfig:
    """What every vector-env actor-critic method needs; A2C and PPO extend it."""

    n_envs: int = 8
    n_steps: int = 8
    gamma: float = 0.99
    gae_lambda: float = 0.95
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    lr: float = 2e-3
    anneal_lr: bool = True
    hidden: tuple[int, ...] = (64, 64)
    shared: bool = False
    normalize_obs: bool = False
    normalize_reward: bool = False
    log_std_init: float = 0.0
    total_steps: int = 200_000

    def rules(self) -> dict[str, tuple[float, float, str]]:
        """Allowed range of each numeric field: ``(low, high, "[]" | "(]" | "[)" | "()")``."""
        inf = float("inf")
        return {
            "n_envs": (1, 1024, "[]"),
            "n_steps": (1, 1e6, "[]"),
            "gamma": (0, 1, "[]"),
            "gae_lambda": (0, 1, "[]"),
            "ent_coef": (0, inf, "[)"),
            "vf_coef": (0, inf, "[)"),
            "max_grad_norm": (0, inf, "()"),
            "lr": (0, 1, "(]"),
            "log_std_init": (-5, 2, "[]"),
            "total_steps": (1, inf, "[)"),
        }

    def in_force(self, frac: float) -> dict[str, float]:
        """The scheduled values with a fraction ``frac`` of the budget left (``lr``: linear to 0 with ``anneal_lr``)."""
        return {"lr": linear_schedule(self.lr, 0.0, frac) if self.anneal_lr else self.lr}

    def __post_init__(self) -> None:
        plain_fields(self)  # integral numbers to int, numpy scalars to Python ones, before the ranges are computed
        validate_config(self, self.rules())
        if not self.hidden or any(h < 1 for h in self.hidden):
            name = type(self).__name__
            raise ValueError(f"{name}.hidden={self.hidden!r} must be a non-empty tuple of positive layer sizes")


@dataclass
class Batch:
    """The valid rows of a rollout, flattened: what the losses consume."""

    obs: torch.Tensor
    actions: torch.Tensor
    log_probs: torch.Tensor
    values: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor

    def __len__(self) -> int:
        return self.obs.shape[0]

    def __getitem__(self, idx: torch.Tensor) -> Batch:
        return Batch(*(getattr(self, f)[idx] for f in self.__dataclass_fields__))


@torch.no_grad()
def prepare_batch(policy: torch.nn.Module, buf: RolloutBuffer, gamma: float, lam: float) -> Batch:
    r"""Values of every observation in one batched pass, then GAE(γ, λ) on the ``(T, N)`` grid.

    ``next_values[t] = V(obs[t+1])`` (the true successor, see :mod:`pgcourse.rollout`);
    rows that are not transitions (``valid`` False) are dropped *after* GAE.
    """
    T, N = buf.rewards.shape
    v_all = policy.value(buf.obs.reshape((T + 1) * N, -1)).reshape(T + 1, N)
    values, next_values = v_all[:-1], v_all[1:]
    adv, ret = gae(buf.rewards, values, next_values, buf.terminated, buf.truncated, gamma, lam)
    m = buf.valid
    # π_old is the policy that acted: its log-probs exactly as stored at collection (the observation
    # normaliser only moves after the update, so nothing needs re-scoring)
    return Batch(buf.obs[:-1][m], buf.actions[m], buf.log_probs[m], values[m], adv[m], ret[m])


@torch.no_grad()
def policy_shift(policy: torch.nn.Module, batch: Batch, clip_eps: float) -> tuple[float, float]:
    """How far an update moved the policy on the rollout: k3 KL(π_old ‖ π_θ) and the clip fraction."""
    new_lp = policy.distribution(batch.obs).log_prob(batch.actions)
    return (
        float(approx_kl(batch.log_probs, new_lp, "k3")),
        float(clip_fraction(torch.exp(new_lp - batch.log_probs), clip_eps)),
    )


def _copy_weights(source: torch.nn.Module, target: torch.nn.Module) -> None:
    """Load ``source``'s weights (and normaliser statistics) into the freshly built ``target``."""
    if getattr(source, "spec", None) != target.spec:
        raise ValueError(
            f"init_policy does not match this config and environment: its spec {getattr(source, 'spec', None)} "
            f"differs from {target.spec} (same hidden, shared, normalize_obs and spaces needed)"
        )
    target.load_state_dict(source.state_dict())


UpdateFn = Callable[[torch.nn.Module, torch.optim.Optimizer, Batch, Any, int], dict[str, float]]


def run_on_policy(
    name: str,
    env_id: str,
    config: OnPolicyConfig,
    seed: int,
    total_steps: int,
    progress: bool,
    callbacks: Sequence[Callback],
    update: UpdateFn,
    init_policy: torch.nn.Module | None = None,
) -> TrainResult:
    """Shared frame of A2C and PPO.

    ``config`` is an :class:`OnPolicyConfig`. ``update(policy, optimizer, batch,
    config, update_index)`` does the gradient steps and returns the metrics to log; the
    config it gets is the one *in force*: the scheduled values of
    :meth:`OnPolicyConfig.in_force` (the annealed lr, PPO's annealed clip range) put in,
    and logged with the update's metrics. The loop adds the length of each update's step,
    ``actor_step_norm`` ‖Δθ‖ and ``critic_step_norm`` ‖Δφ‖ (see
    :func:`pgcourse.diagnostics.step_norm`).
    ``init_policy`` (same architecture) starts from a copy of its weights instead of a
    fresh initialisation (with a fresh optimizer); ``init_policy`` itself is not changed.
    """
    if total_steps < 1:
        raise ValueError(f"total_steps={total_steps} is outside the allowed range [1, inf)")
    envs = make_vec_env(env_id, config.n_envs, seed, config.normalize_reward, config.gamma)
    try:
        check_spaces(envs.single_observation_space, envs.single_action_space, name, continuous_ok=True)
        with torch_threads(1):  # the orthogonal init (a QR) depends on torch's thread count
            seed_everything(seed)
            policy = build_actor_critic(
                envs.single_observation_space,
                envs.single_action_space,
                config.hidden,
                config.shared,
                config.normalize_obs,
                config.log_std_init,
            )
        if init_policy is not None:
            _copy_weights(init_policy, policy)
        optimizer = make_adam(policy.parameters(), config.lr)
        param_sets = (policy.actor_parameters(), policy.critic_parameters())  # θ and φ (overlap when shared)
        result = TrainResult(policy, config, seed, env_id)
        with training_session(result, total_steps, "step", progress, callbacks) as session:
            collector = RolloutCollector(envs, policy, seed)
            k = 0
            while collector.total_steps < total_steps:
                frac = max(1.0 - collector.total_steps / total_steps, 0.0)  # > 0 inside the loop
                scheduled = config.in_force(frac)
                for group in optimizer.param_groups:
                    group["lr"] = scheduled["lr"]
                before = collector.total_steps
                policy.eval()
                buf, finished = collector.collect(config.n_steps)
                check_finite(buf.rewards, "reward", k + 1)
                if finished:
                    session.add_episodes(*zip(*finished))
                if buf.n_valid == 0:  # only autoreset rows (n_steps=1 just after every env ended): nothing to learn
                    continue
                k += 1
                policy.train()
                batch = prepare_batch(policy, buf, config.gamma, config.gae_lambda)
                theta_before = [parameters_to_vector(p).detach().clone() for p in param_sets]
                metrics = update(policy, optimizer, batch, replace(config, **scheduled), k)
                metrics.update(
                    actor_step_norm=step_norm(theta_before[0], param_sets[0]),
                    critic_step_norm=step_norm(theta_before[1], param_sets[1]),
                )
                if config.normalize_obs:  # after the update, from the states the actions were taken in
                    policy.obs_norm.update(buf.obs[:-1][buf.valid])
                metrics.update(action_space_info(policy))
                session.log(collector.total_steps - before, env_steps=collector.total_steps, **scheduled, **metrics)
    finally:
        envs.close()
    return result
