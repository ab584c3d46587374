r"""REINFORCE: Monte Carlo policy gradient, plain or with the usual additions.

For a batch of whole episodes, the policy gradient estimate is

.. math:: \hat g = \frac{1}{|D|}\sum_{t \in D} \nabla_\theta \log \pi_\theta(a_t|s_t)\, \hat A_t,
          \qquad \hat A_t = G_t - b(s_t),

with the reward-to-go :math:`G_t = \sum_{k \ge t} \gamma^{k-t} r_k` and :math:`|D| = \sum_i T_i` the number
of steps of *all* episodes of the batch (:func:`reinforce_loss` is a mean over that flat set of steps: every
step of the batch weighs alike, whatever the length of its episode, and :math:`|D|` is random — it changes
from batch to batch as the episodes get longer). Practical REINFORCE drops the :math:`\gamma^t` factor of the
exact discounted gradient (every step is weighted alike), as almost every implementation does.

Plain REINFORCE is ``ReinforceConfig.plain()``: :math:`\hat A_t = G_t`, one Adam step per batch at a constant
learning rate, no gradient clipping. Every addition is a field of :class:`ReinforceConfig`:

* ``baseline="value"`` learns :math:`V_\phi(s)` by regression on the returns (``value_steps`` full-batch
  Adam steps on :math:`\frac12 (V_\phi(s_t) - G_t)^2` per update, after the policy step) and uses
  :math:`b(s_t) = V_\phi(s_t)`. A baseline that depends only on the state leaves the
  gradient unbiased (:math:`E_a[\nabla\log\pi(a|s)\, b(s)] = 0`) and cuts its variance.
  With a critic, the advantages are GAE(γ, λ = 1): :math:`\hat A_t = G_t - V_\phi(s_t)`, where at a time
  limit (truncation) the return bootstraps from :math:`V_\phi(s_{final})` instead of stopping. Without
  one, a truncated episode's return is cut at the time limit.
* ``normalize="returns"`` standardises the :math:`G_t` of the batch — the popular tutorial trick. It is
  **not** a baseline in the unbiased sense: (1) each :math:`G_t` is part of the mean subtracted from it,
  so the estimate is biased by :math:`O(1/N)` for :math:`N` episodes (a leave-one-out mean, computed
  from the other episodes only, would be unbiased: see :func:`pgcourse.toy.batch_baseline_gradients`);
  (2) it divides by a standard deviation computed from the same data; (3) one scalar for all time
  steps and states cannot follow :math:`V(s_t)` where the returns change through an episode (as on
  CartPole). What it does give is scale: the weights have mean 0 and standard deviation 1 in every
  batch, whatever the reward's units. ``normalize="advantages"`` standardises :math:`\hat A_t` after a real baseline.
* ``anneal_lr=True`` decays both learning rates linearly, :math:`\alpha_k = \alpha\,(1 - (k-1)/K)` at
  update :math:`k` of :math:`K` (the last update still moves, by :math:`\alpha/K`).
* ``max_grad_norm`` clips the policy gradient to that global L2 norm before the Adam step (``None``: no
  clipping). The critic's gradient is not clipped. Under Adam a clip mostly changes how much an update
  weighs in the moment estimates, not the step length.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
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
    """REINFORCE hyperparameters. Defaults solve CartPole-v1 (see ``benchmarks/``).

    The defaults are REINFORCE *with* every addition of the module docstring (value baseline,
    normalised advantages, annealed learning rates, clipped gradients); :meth:`plain` switches
    them all off. ``max_grad_norm=None`` (or ``inf``) means no clipping; ``anneal_lr`` decays
    ``lr`` and ``value_lr`` linearly to ``lr / n_updates`` over the run.
    """

    gamma: float = 0.99
    lr: float = 5e-3
    value_lr: float = 5e-3
    value_steps: int = 10
    baseline: str = "value"
    normalize: str = "advantages"
    episodes_per_update: int = 4
    hidden: tuple[int, ...] = (64, 64)
    max_grad_norm: float | None = 1.0
    anneal_lr: bool = True
    total_episodes: int = 300

    @classmethod
    def plain(cls, **overrides) -> ReinforceConfig:
        """Textbook REINFORCE: no baseline, no normalisation, constant learning rate, no gradient clipping."""
        fields = {"baseline": "none", "normalize": "none", "anneal_lr": False, "max_grad_norm": None}
        return cls(**{**fields, **overrides})

    @property
    def clips_gradients(self) -> bool:
        return self.max_grad_norm is not None and math.isfinite(self.max_grad_norm)

    def __post_init__(self) -> None:
        inf = float("inf")
        if not isinstance(self.anneal_lr, (bool, np.bool_)):
            raise ValueError(f"ReinforceConfig.anneal_lr={self.anneal_lr!r} must be True or False")
        rules = {
            "gamma": (0, 1, "[]"),
            "lr": (0, 1, "(]"),
            "value_lr": (0, 1, "(]"),
            "episodes_per_update": (1, 1024, "[]"),
            "value_steps": (1, 1000, "[]"),
            "total_episodes": (1, inf, "[)"),
        }
        if self.max_grad_norm is not None:
            rules["max_grad_norm"] = (0, inf, "(]")
        validate_config(self, rules)
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
    """One policy step, then ``value_steps`` critic steps, on the batch of episodes; returns the metrics to log.

    ``frac`` :math:`= 1 - (k-1)/K` scales both learning rates when ``cfg.anneal_lr``.
    """
    m = batch.valid
    adv, returns = episode_advantages(batch, cfg, value_fn)
    scale = frac if cfg.anneal_lr else 1.0
    for opt, base in ((pi_opt, cfg.lr), (v_opt, cfg.value_lr)):
        if opt is not None:
            for group in opt.param_groups:
                group["lr"] = base * scale
    dist = policy.distribution(batch.obs[m])
    log_probs = dist.log_prob(batch.actions[m])
    loss = reinforce_loss(log_probs, adv[m])  # a mean over all valid steps of the batch
    check_finite(loss, "REINFORCE policy loss", k)
    pi_opt.zero_grad(set_to_none=True)
    loss.backward()
    max_norm = cfg.max_grad_norm if cfg.clips_gradients else float("inf")  # inf: the norm, no clipping
    gn = float(torch.nn.utils.clip_grad_norm_(policy.logits.parameters(), max_norm))  # norm before clipping
    pi_opt.step()
    metrics = {
        "policy_loss": loss.item(),
        "entropy": dist.entropy().mean().item(),
        "grad_norm": gn,
        "lr": cfg.lr * scale,
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
