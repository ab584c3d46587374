"""Policies and critics: categorical (discrete actions) and Gaussian (``Box`` actions).

Every policy here shares one small interface, used by rollouts, losses and
``evaluate``:

* ``distribution(obs)`` → a ``torch.distributions`` object :math:`\\pi_\\theta(\\cdot|s)`;
* ``act(obs, deterministic=False)`` → actions (the mode / mean when deterministic);
* ``evaluate(obs, actions)`` → ``(log_probs, values, entropy)``
  (``values`` is ``None`` for a policy without a critic);
* ``env_action(actions)`` → a numpy array the environment accepts (Gaussian
  actions are clipped to the action bounds *here only*: the unclipped sample is
  what is stored and scored).

Initialisation follows the PPO implementation details: orthogonal weights with
gain √2 in hidden layers, 0.01 in the policy head (a near-uniform / near-zero-mean
start) and 1.0 in the value head; biases zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical, Distribution, Independent, Normal

__all__ = [
    "orthogonal_init",
    "mlp",
    "RunningNorm",
    "CategoricalPolicy",
    "ValueFunction",
    "ActorCritic",
    "GaussianActorCritic",
    "RandomPolicy",
    "build_actor_critic",
    "policy_from_spec",
    "check_spaces",
]

HIDDEN_GAIN = math.sqrt(2.0)
POLICY_GAIN = 0.01
VALUE_GAIN = 1.0


def orthogonal_init(layer: nn.Linear, gain: float) -> nn.Linear:
    """Orthogonal weight matrix scaled by ``gain``, zero bias (in place; returns the layer)."""
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


def mlp(in_dim: int, hidden: Sequence[int], out_dim: int | None = None, out_gain: float = 1.0) -> nn.Sequential:
    """``Linear → tanh`` per hidden size, then an optional linear output layer of gain ``out_gain``."""
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [orthogonal_init(nn.Linear(in_dim, h), HIDDEN_GAIN), nn.Tanh()]
        in_dim = h
    if out_dim is not None:
        layers.append(orthogonal_init(nn.Linear(in_dim, out_dim), out_gain))
    return nn.Sequential(*layers)


class RunningNorm(nn.Module):
    r"""Observation normaliser :math:`\mathrm{clip}((s - \mu) / \sqrt{\sigma^2 + 10^{-8}}, -c, c)`.

    ``mean``, ``var`` and ``count`` are *buffers*: saved with the weights and moved
    only by :meth:`update` (the trainer calls it; evaluation never does), so a
    reloaded policy sees exactly what training saw. Statistics are combined with
    the parallel (Chan et al.) mean/variance update.
    """

    def __init__(self, dim: int, clip: float = 10.0) -> None:
        super().__init__()
        self.clip = clip
        self.register_buffer("mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("var", torch.ones(dim, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(1e-4, dtype=torch.float64))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        x = x.reshape(-1, self.mean.shape[0]).to(torch.float64)
        b_mean, b_var, b_n = x.mean(0), x.var(0, unbiased=False), x.shape[0]
        delta, total = b_mean - self.mean, self.count + b_n
        self.mean += delta * b_n / total
        m2 = self.var * self.count + b_var * b_n + delta**2 * self.count * b_n / total
        self.var.copy_(m2 / total)
        self.count.copy_(total)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x - self.mean.float()) / torch.sqrt(self.var.float() + 1e-8)
        return z.clamp(-self.clip, self.clip)


class _PolicyInterface(nn.Module):
    """``act``/``evaluate`` on top of ``distribution`` and ``value`` (subclasses provide those)."""

    has_critic = True

    def distribution(self, obs: torch.Tensor) -> Distribution:  # pragma: no cover - abstract
        raise NotImplementedError

    def value(self, obs: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, obs: torch.Tensor) -> Distribution:
        return self.distribution(obs)

    @torch.no_grad()
    def act(self, obs: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        dist = self.distribution(obs)
        return self._mode(dist) if deterministic else dist.sample()

    def evaluate(
        self, obs: torch.Tensor, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        dist = self.distribution(obs)
        values = self.value(obs) if self.has_critic else None
        return dist.log_prob(actions), values, dist.entropy()

    @staticmethod
    def _mode(dist: Distribution) -> torch.Tensor:
        return dist.probs.argmax(-1) if isinstance(dist, Categorical) else dist.mean

    def env_action(self, actions: torch.Tensor) -> np.ndarray:
        return actions.cpu().numpy()


class RandomPolicy(_PolicyInterface):
    r"""Uniformly random actions: :math:`\pi(a \mid s) = 1/|\mathcal A|` (``Discrete``) or uniform on the box.

    The baseline a trained policy must beat. It has no parameters and no critic, and it *always* samples, even with
    ``deterministic=True`` (the mode of a uniform distribution would be one fixed action); with
    :func:`pgcourse.evaluate` the samples come from torch's RNG seeded from ``seed``, so the returns are reproducible.
    """

    has_critic = False

    def __init__(self, action_space: gym.Space) -> None:
        super().__init__()
        if isinstance(action_space, gym.spaces.Discrete):
            self.n_actions: int | None = int(action_space.n)
            self.register_buffer("low", torch.zeros(0))
            self.register_buffer("high", torch.zeros(0))
        elif isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
            low, high = np.asarray(action_space.low, dtype=np.float32), np.asarray(action_space.high, dtype=np.float32)
            if not (np.isfinite(low).all() and np.isfinite(high).all()):
                raise ValueError(f"RandomPolicy needs a bounded Box action space, got {action_space}")
            self.n_actions = None
            self.register_buffer("low", torch.as_tensor(low))
            self.register_buffer("high", torch.as_tensor(high))
        else:
            raise ValueError(f"RandomPolicy needs a Discrete or a 1-D Box action space, got {action_space}")

    def distribution(self, obs: torch.Tensor) -> Distribution:
        batch = obs.shape[:-1]
        if self.n_actions is not None:
            return Categorical(logits=torch.zeros(*batch, self.n_actions))
        low, high = self.low.expand(*batch, -1), self.high.expand(*batch, -1)
        return Independent(torch.distributions.Uniform(low, high), 1)

    @torch.no_grad()
    def act(self, obs: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        return self.distribution(obs).sample()


class ValueFunction(nn.Module):
    r"""MLP critic :math:`V_\phi(s)`, output shape ``(B,)``."""

    def __init__(self, obs_dim: int, hidden: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        self.net = mlp(obs_dim, hidden, 1, VALUE_GAIN)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs).squeeze(-1)


class CategoricalPolicy(_PolicyInterface):
    r"""MLP → logits → :math:`\pi_\theta(a|s) = \mathrm{softmax}(\mathrm{logits})_a`. No critic."""

    has_critic = False

    def __init__(self, obs_dim: int, n_actions: int, hidden: Sequence[int] = (64, 64)) -> None:
        super().__init__()
        self.spec = {"kind": "categorical", "obs_dim": obs_dim, "n_actions": n_actions, "hidden": list(hidden)}
        self.obs_norm = nn.Identity()
        self.logits = mlp(obs_dim, hidden, n_actions, POLICY_GAIN)
        self.value_function: ValueFunction | None = None

    def attach_value_function(self, value_fn: ValueFunction) -> None:
        """Keep REINFORCE's baseline critic with the policy (saved with it; never used to act)."""
        self.value_function = value_fn
        self.spec["value_function"] = True

    def distribution(self, obs: torch.Tensor) -> Categorical:
        return Categorical(logits=self.logits(self.obs_norm(obs)), validate_args=False)


class _ActorCriticBase(_PolicyInterface):
    """Trunk(s) + policy head + value head, with optional observation normalisation."""

    def __init__(self, obs_dim: int, head_dim: int, hidden: Sequence[int], shared: bool, normalize_obs: bool) -> None:
        super().__init__()
        self.shared = shared
        self.obs_norm: nn.Module = RunningNorm(obs_dim) if normalize_obs else nn.Identity()
        if shared:
            self.trunk = mlp(obs_dim, hidden)
            self.policy_head = orthogonal_init(nn.Linear(hidden[-1], head_dim), POLICY_GAIN)
            self.value_head = orthogonal_init(nn.Linear(hidden[-1], 1), VALUE_GAIN)
        else:
            self.policy_head = mlp(obs_dim, hidden, head_dim, POLICY_GAIN)
            self.value_head = mlp(obs_dim, hidden, 1, VALUE_GAIN)

    def actor_parameters(self) -> list[nn.Parameter]:
        r"""θ: every parameter :math:`\pi_\theta(a|s)` depends on (policy head, ``log_std``, the shared trunk)."""
        return [p for name, p in self.named_parameters() if not name.startswith("value_head.")]

    def critic_parameters(self) -> list[nn.Parameter]:
        r"""φ: every parameter :math:`V_\phi(s)` depends on (value head or network, the shared trunk)."""
        return [p for name, p in self.named_parameters() if name.startswith(("value_head.", "trunk."))]

    def _features(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.obs_norm(obs)
        if self.shared:
            x = self.trunk(x)
        return x, x

    def head_output(self, obs: torch.Tensor) -> torch.Tensor:
        return self.policy_head(self._features(obs)[0])

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.value_head(self._features(obs)[1]).squeeze(-1)

    def evaluate(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x_pi, x_v = self._features(obs)  # one trunk pass when shared
        dist = self._dist_from_head(self.policy_head(x_pi))
        return dist.log_prob(actions), self.value_head(x_v).squeeze(-1), dist.entropy()

    def distribution(self, obs: torch.Tensor) -> Distribution:
        return self._dist_from_head(self.head_output(obs))

    def _dist_from_head(self, out: torch.Tensor) -> Distribution:  # pragma: no cover - abstract
        raise NotImplementedError


class ActorCritic(_ActorCriticBase):
    r"""Categorical actor :math:`\pi_\theta(a|s)` and critic :math:`V_\phi(s)`, shared or separate trunk."""

    def __init__(
        self,
        obs_dim: int,
        n_actions: int,
        hidden: Sequence[int] = (64, 64),
        shared: bool = False,
        normalize_obs: bool = False,
    ) -> None:
        super().__init__(obs_dim, n_actions, hidden, shared, normalize_obs)
        self.spec = {
            "kind": "actor_critic",
            "obs_dim": obs_dim,
            "n_actions": n_actions,
            "hidden": list(hidden),
            "shared": shared,
            "normalize_obs": normalize_obs,
        }

    def _dist_from_head(self, out: torch.Tensor) -> Categorical:
        return Categorical(logits=out, validate_args=False)


class GaussianActorCritic(_ActorCriticBase):
    r"""Diagonal Gaussian actor :math:`a \sim \mathcal{N}(\mu_\theta(s), \mathrm{diag}(\sigma^2))` and a critic.

    :math:`\log\sigma` is one learnable parameter per action dimension, *independent
    of the state*, initialised to ``log_std_init`` (0 → σ = 1). The log-probability
    sums over action dimensions:
    :math:`\log\pi(a|s) = -\sum_i \left[\frac{(a_i-\mu_i)^2}{2\sigma_i^2} + \log\sigma_i + \tfrac12\log 2\pi\right]`.
    """

    def __init__(
        self,
        obs_dim: int,
        act_dim: int,
        action_low: Sequence[float] | np.ndarray,
        action_high: Sequence[float] | np.ndarray,
        hidden: Sequence[int] = (64, 64),
        shared: bool = False,
        normalize_obs: bool = True,
        log_std_init: float = 0.0,
    ) -> None:
        super().__init__(obs_dim, act_dim, hidden, shared, normalize_obs)
        self.spec = {
            "kind": "gaussian",
            "obs_dim": obs_dim,
            "act_dim": act_dim,
            "hidden": list(hidden),
            "shared": shared,
            "normalize_obs": normalize_obs,
            "log_std_init": float(log_std_init),
            "action_low": [float(x) for x in np.asarray(action_low).ravel()],
            "action_high": [float(x) for x in np.asarray(action_high).ravel()],
        }
        self.log_std = nn.Parameter(torch.full((act_dim,), float(log_std_init)))
        self.register_buffer("action_low", torch.as_tensor(np.asarray(action_low, dtype=np.float32)))
        self.register_buffer("action_high", torch.as_tensor(np.asarray(action_high, dtype=np.float32)))

    def _dist_from_head(self, out: torch.Tensor) -> Independent:
        return Independent(Normal(out, self.log_std.exp().expand_as(out), validate_args=False), 1, validate_args=False)

    def env_action(self, actions: torch.Tensor) -> np.ndarray:
        """Clip to the action bounds for the environment; the unclipped sample is what gets stored."""
        return torch.max(torch.min(actions, self.action_high), self.action_low).cpu().numpy()


def check_spaces(observation_space: gym.Space, action_space: gym.Space, algorithm: str, continuous_ok: bool) -> None:
    """Fail early, and clearly, on spaces the course's networks do not handle."""
    if not (isinstance(observation_space, gym.spaces.Box) and len(observation_space.shape) == 1):
        raise ValueError(
            f"{algorithm} needs a flat Box observation space of shape (obs_dim,), got {observation_space}; "
            "wrap image or dict observations (e.g. gymnasium.wrappers.FlattenObservation) first"
        )
    if isinstance(action_space, gym.spaces.Discrete):
        return
    if continuous_ok and isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
        if not (np.all(np.isfinite(action_space.low)) and np.all(np.isfinite(action_space.high))):
            raise ValueError(f"{algorithm} needs finite action bounds to clip Gaussian actions, got {action_space}")
        return
    allowed = "Discrete or a 1-D Box" if continuous_ok else "Discrete"
    raise ValueError(f"{algorithm} supports {allowed} action spaces, got {action_space}")


def policy_from_spec(spec: dict) -> nn.Module:
    """Rebuild an (untrained) policy from its ``spec`` dict — the inverse of the constructors' ``self.spec``."""
    kind = spec.get("kind")
    hidden = tuple(spec["hidden"])
    if kind == "categorical":
        pol = CategoricalPolicy(spec["obs_dim"], spec["n_actions"], hidden)
        if spec.get("value_function"):
            pol.attach_value_function(ValueFunction(spec["obs_dim"], hidden))
        return pol
    if kind == "actor_critic":
        return ActorCritic(spec["obs_dim"], spec["n_actions"], hidden, spec["shared"], spec["normalize_obs"])
    if kind == "gaussian":
        return GaussianActorCritic(
            spec["obs_dim"],
            spec["act_dim"],
            spec["action_low"],
            spec["action_high"],
            hidden,
            spec["shared"],
            spec["normalize_obs"],
            spec["log_std_init"],
        )
    raise ValueError(f"unknown policy kind {kind!r} in spec; expected categorical, actor_critic or gaussian")


def build_actor_critic(
    observation_space: gym.Space,
    action_space: gym.Space,
    hidden: Sequence[int] = (64, 64),
    shared: bool = False,
    normalize_obs: bool = False,
    log_std_init: float = 0.0,
) -> ActorCritic | GaussianActorCritic:
    """The actor-critic that fits the spaces: categorical for ``Discrete``, Gaussian for a 1-D ``Box``."""
    check_spaces(observation_space, action_space, "build_actor_critic", continuous_ok=True)
    obs_dim = int(observation_space.shape[0])
    if isinstance(action_space, gym.spaces.Discrete):
        return ActorCritic(obs_dim, int(action_space.n), hidden, shared, normalize_obs)
    return GaussianActorCritic(
        obs_dim,
        int(action_space.shape[0]),
        action_space.low,
        action_space.high,
        hidden,
        shared,
        normalize_obs,
        log_std_init,
    )
