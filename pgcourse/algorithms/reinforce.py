r"""REINFORCE: Monte Carlo policy gradient, optionally with a learned value baseline.

For a batch of whole episodes, the policy gradient estimate is

.. math:: \hat g = \frac{1}{|D|}\sum_{t} \nabla_\theta \log \pi_\theta(a_t|s_t)\, \hat A_t,
          \qquad \hat A_t = G_t - b(s_t),

with the reward-to-go :math:`G_t = \sum_{k \ge t} \gamma^{k-t} r_k`. Practical REINFORCE
drops the :math:`\gamma^t` factor of the exact discounted gradient (every step is
weighted alike), as almost every implementation does.

Choices (:class:`ReinforceConfig`):

* ``baseline="value"`` learns :math:`V_\phi(s)` by regression on :math:`G_t` (``value_steps`` Adam steps per
  update) and uses
  :math:`b(s_t) = V_\phi(s_t)`. A baseline that depends only on the state leaves the
  gradient unbiased (:math:`E_a[\nabla\log\pi(a|s)\, b(s)] = 0`) and cuts its variance.
  At a time limit (truncation) the return bootstraps from :math:`V_\phi(s_{final})`,
  exactly as GAE with λ = 1 does.
* ``normalize="returns"`` standardises the :math:`G_t` of the batch — the popular tutorial
  trick. It is **not** a baseline: the mean it subtracts is computed from the same
  episodes, so it depends on the actions taken (the estimate is biased, slightly), and it
  depends on the *time step mix*, not on :math:`s_t`. It mostly acts as an adaptive step
  size. ``normalize="advantages"`` standardises :math:`\hat A_t` after a real baseline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from pgcourse._threads import torch_threads
from pgcourse.algorithms.common import (
    Callback,
    TrainResult,
    action_space_info,
    check_finite,
    make_adam,
    seed_everything,
    training_session,
    validate_config,
)
from pgcourse.diagnostics import explained_variance
from pgcourse.networks import CategoricalPolicy, ValueFunction, check_spaces
from pgcourse.returns import discounted_returns, gae, normalize
from pgcourse.rollout import EpisodeBatch, collect_episodes, make_vec_env

__all__ = ["ReinforceConfig", "reinforce_loss", "episode_advantages", "train_reinforce"]

BASELINES = ("none", "value")
NORMALIZE = ("none", "returns", "advantages")


@dataclass(frozen=True)
class ReinforceConfig:
    """REINFORCE hyperparameters. Defaults solve CartPole-v1 (see ``benchmarks/``)."""

    gamma: float = 0.99
    lr: float = 5e-3
    value_lr: float = 5e-3
    value_steps: int = 10
    baseline: str = "value"
    normalize: str = "advantages"
    episodes_per_update: int = 4
    hidden: tuple[int, ...] = (64, 64)
    max_grad_norm: float = 1.0
    total_episodes: int = 300

    def __post_init__(self) -> None:
        inf = float("inf")
        validate_config(
            self,
            {
                "gamma": (0, 1, "[]"),
                "lr": (0, 1, "(]"),
                "value_lr": (0, 1, "(]"),
                "episodes_per_update": (1, 1024, "[]"),
                "value_steps": (1, 1000, "[]"),
                "max_grad_norm": (0, inf, "()"),
                "total_episodes": (1, inf, "[)"),
            },
        )
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError(f"ReinforceConfig.hidden={self.hidden!r} must be a non-empty tuple of positive sizes")
        if self.baseline not in BASELINES:
            raise ValueError(f"ReinforceConfig.baseline={self.baseline!r} is not allowed; use one of {BASELINES}")
        if self.normalize not in NORMALIZE:
            raise ValueError(f"ReinforceConfig.normalize={self.normalize!r} is not allowed; use one of {NORMALIZE}")
        if self.normalize == "returns" and self.baseline == "value":
            raise ValueError(
                "ReinforceConfig.normalize='returns' with baseline='value' would train a critic and never use it "
                "(normalised returns replace the advantages); use normalize='advantages' with baseline='value', "
                "or baseline='none' with normalize='returns'"
            )
        if self.normalize == "advantages" and self.baseline == "none":
            raise ValueError(
                "ReinforceConfig.normalize='advantages' needs baseline='value' (without a baseline the "
                "'advantages' are the returns: use normalize='returns')"
            )


def reinforce_loss(log_probs: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    r"""Policy loss :math:`-\mathrm{mean}_t[\log\pi_\theta(a_t|s_t)\, \hat A_t]` (advantages detached).

    Minimising it climbs the policy gradient; ``.detach()`` keeps the gradient out of
    whatever produced :math:`\hat A_t` (a critic must not be trained by the policy loss).
    """
    return -(log_probs * advantages.detach()).mean()


@torch.no_grad()
def episode_advantages(
    batch: EpisodeBatch, cfg: ReinforceConfig, value_fn: ValueFunction | None
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""``(advantages, value_targets)`` on the ``(T, n)`` grid of whole episodes.

    Without a baseline: :math:`\hat A_t = G_t` (a truncated episode has no critic to bootstrap
    from, so its return is cut at the time limit). With one: GAE(γ, λ=1), i.e.
    :math:`\hat A_t = G_t - V(s_t)` with :math:`G` bootstrapped from :math:`V(s_{final})` at truncation.
    """
    ends = torch.clamp(batch.terminated + batch.truncated, max=1.0)
    if value_fn is None:
        returns = discounted_returns(batch.rewards, cfg.gamma, ends)
        adv = returns
    else:
        values, next_values = value_fn(batch.obs), value_fn(batch.final_obs)
        adv, returns = gae(batch.rewards, values, next_values, batch.terminated, batch.truncated, cfg.gamma, 1.0)
    m = batch.valid.float()
    if cfg.normalize == "returns":
        adv = normalize(returns, mask=m)
    elif cfg.normalize == "advantages":
        adv = normalize(adv, mask=m)
    return adv, returns


def train_reinforce(
    env_id: str = "CartPole-v1",
    config: ReinforceConfig | None = None,
    seed: int = 0,
    total_episodes: int | None = None,
    progress: bool = True,
    callbacks: Sequence[Callback] = (),
) -> TrainResult:
    """Train REINFORCE on a ``Discrete``-action environment; one update per ``episodes_per_update`` episodes.

    The episodes of one update run side by side in a vector env (one batched forward
    pass per time step); each is a complete, independent episode.
    """
    cfg = config or ReinforceConfig()
    total = total_episodes or cfg.total_episodes
    if total < 1:
        raise ValueError(f"total_episodes={total} is outside the allowed range [1, inf)")
    envs = make_vec_env(env_id, cfg.episodes_per_update, seed)
    try:
        check_spaces(envs.single_observation_space, envs.single_action_space, "REINFORCE", continuous_ok=False)
        obs_dim, n_actions = envs.single_observation_space.shape[0], int(envs.single_action_space.n)
        with torch_threads(1):  # the orthogonal init (a QR) depends on torch's thread count
            seed_everything(seed)
            policy = CategoricalPolicy(obs_dim, n_actions, cfg.hidden)
            value_fn = ValueFunction(obs_dim, cfg.hidden) if cfg.baseline == "value" else None
            if value_fn is not None:
                policy.attach_value_function(value_fn)
        pi_opt = make_adam(policy.logits.parameters(), cfg.lr)
        v_opt = make_adam(value_fn.parameters(), cfg.value_lr) if value_fn is not None else None
        result = TrainResult(policy, cfg, seed, env_id)
        n_updates = math.ceil(total / cfg.episodes_per_update)
        steps = 0
        with training_session(result, n_updates * cfg.episodes_per_update, "episode", progress, callbacks) as session:
            for k in range(1, n_updates + 1):
                frac = 1.0 - (k - 1) / n_updates
                batch = collect_episodes(envs, policy, seed=seed if k == 1 else None)
                check_finite(batch.rewards, "reward", k)
                ends_at = steps + torch.cumsum(torch.as_tensor(batch.lengths), 0)
                steps += int(batch.lengths.sum())
                session.add_episodes(batch.returns, batch.lengths, ends_at.tolist())
                metrics = _update(policy, value_fn, pi_opt, v_opt, batch, cfg, k, frac)
                session.log(len(batch.lengths), env_steps=steps, **metrics, **action_space_info(policy))
    finally:
        envs.close()
    return result


def _update(policy, value_fn, pi_opt, v_opt, batch: EpisodeBatch, cfg: ReinforceConfig, k: int, frac: float):
    """One policy step (and one critic step) on the batch of episodes; returns the metrics to log."""
    m = batch.valid
    adv, returns = episode_advantages(batch, cfg, value_fn)
    for opt, base in ((pi_opt, cfg.lr), (v_opt, cfg.value_lr)):
        if opt is not None:
            for group in opt.param_groups:
                group["lr"] = base * frac
    dist = policy.distribution(batch.obs[m])
    log_probs = dist.log_prob(batch.actions[m])
    loss = reinforce_loss(log_probs, adv[m])
    check_finite(loss, "REINFORCE policy loss", k)
    pi_opt.zero_grad(set_to_none=True)
    loss.backward()
    gn = float(torch.nn.utils.clip_grad_norm_(policy.logits.parameters(), cfg.max_grad_norm))  # norm before clipping
    pi_opt.step()
    metrics = {
        "policy_loss": loss.item(),
        "entropy": dist.entropy().mean().item(),
        "grad_norm": gn,
        "lr": cfg.lr * frac,
    }
    if value_fn is not None:
        obs, targets = batch.obs[m], returns[m]
        with torch.no_grad():
            metrics["explained_variance"] = float(explained_variance(value_fn(obs), targets))
        for _ in range(cfg.value_steps):  # regression of V_phi(s_t) on the returns G_t
            v_loss = 0.5 * ((value_fn(obs) - targets) ** 2).mean()
            check_finite(v_loss, "REINFORCE value loss", k)
            v_opt.zero_grad(set_to_none=True)
            v_loss.backward()
            v_opt.step()
        metrics["value_loss"] = v_loss.item()
    return metrics
