"""Collecting experience: vector environments, fixed-length rollouts, whole episodes.

Rollout collection is kept apart from the update (as in Stable-Baselines3): a
collector only runs the policy and records what happened; the algorithms turn that
into losses.

**Next-step autoreset.** Gymnasium 1.x vector environments reset a finished
sub-environment on the *next* call to ``step``: that call ignores the action,
returns the reset observation with reward 0, and is **not a transition**. We keep
a ``valid`` mask that is False on those rows and leave them out of every loss and
statistic. The payoff: the observation returned at step ``t`` is always the true
successor :math:`s_{t+1}` — the *final* observation when the episode ended — so
``next_values[t] = V(obs[t + 1])`` is right for truncated episodes too, and no
transition ever crosses an episode boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from gymnasium.wrappers.vector import NormalizeReward, RecordEpisodeStatistics

__all__ = [
    "make_vec_env",
    "check_next_step_autoreset",
    "RolloutBuffer",
    "RolloutCollector",
    "EpisodeBatch",
    "collect_episodes",
]


def make_vec_env(
    env_id: str,
    n_envs: int,
    seed: int,
    normalize_reward: bool = False,
    gamma: float = 0.99,
    env_kwargs: dict | None = None,
) -> gym.vector.VectorEnv:
    """``n_envs`` copies of ``env_id`` as one vector env, with episode statistics recorded.

    Uses the environment's own numpy-vectorised implementation when it has one
    (CartPole), else a synchronous vector env. :class:`RecordEpisodeStatistics` is
    the innermost wrapper, so logged returns are the *true* returns even when
    :class:`NormalizeReward` scales the rewards used for training. The course's own ids
    (``pgcourse/...``, :mod:`pgcourse.hacking`) need no import first, so ``run_seeds``'
    worker processes can make them too.
    """
    if n_envs < 1:
        raise ValueError(f"n_envs={n_envs} is outside the allowed range [1, inf)")
    if env_id.startswith("pgcourse/"):  # the course's own environments register on import, in a worker process too
        import pgcourse.hacking  # noqa: F401
    try:
        spec = gym.spec(env_id)
    except gym.error.Error as err:
        raise ValueError(f"unknown environment id {env_id!r}: {err}") from None
    mode = "vector_entry_point" if spec.vector_entry_point is not None and not env_kwargs else "sync"
    envs = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode=mode, **(env_kwargs or {}))
    envs = RecordEpisodeStatistics(envs)
    if normalize_reward:
        envs = NormalizeReward(envs, gamma=gamma)
    envs.action_space.seed(seed)
    return envs


def check_next_step_autoreset(envs: gym.vector.VectorEnv, who: str) -> None:
    """Raise ``ValueError`` unless ``envs`` autoresets on the *next* step (the mode the ``valid`` mask assumes).

    Same-step (or disabled) autoreset returns the *reset* observation at the last step
    of an episode, so ``obs[t + 1]`` would not be the successor and GAE would bootstrap
    from the wrong state, silently. A vector env that does not declare its mode in
    ``metadata["autoreset_mode"]`` is taken to use gymnasium's default, next-step.
    """
    mode = getattr(envs, "metadata", {}).get("autoreset_mode", gym.vector.AutoresetMode.NEXT_STEP)
    if mode not in (gym.vector.AutoresetMode.NEXT_STEP, gym.vector.AutoresetMode.NEXT_STEP.value):
        raise ValueError(
            f"{who} needs a vector env with next-step autoreset, got autoreset_mode={mode!r}: with another mode "
            "the observation after an episode's last step is not its successor and values are mis-bootstrapped. "
            "Use pgcourse.rollout.make_vec_env, or gym.make_vec(..., vector_kwargs={'autoreset_mode': "
            "gym.vector.AutoresetMode.NEXT_STEP}) (the default)"
        )


@dataclass
class RolloutBuffer:
    """``n_steps`` × ``n_envs`` of experience, time first.

    ``obs`` has one extra row: ``obs[t + 1]`` is what the env returned at step ``t``.
    ``valid[t]`` is False on autoreset rows (not transitions).
    """

    obs: torch.Tensor  # (T + 1, N, obs_dim)
    actions: torch.Tensor  # (T, N) or (T, N, act_dim)
    log_probs: torch.Tensor  # (T, N), under the policy that acted
    rewards: torch.Tensor  # (T, N), as used for training (possibly scaled)
    terminated: torch.Tensor  # (T, N) 0/1
    truncated: torch.Tensor  # (T, N) 0/1
    valid: torch.Tensor  # (T, N) bool

    @property
    def n_valid(self) -> int:
        return int(self.valid.sum())


class RolloutCollector:
    """Runs a policy in a vector env, ``n_steps`` at a time, and remembers where it stopped."""

    def __init__(self, envs: gym.vector.VectorEnv, policy: torch.nn.Module, seed: int) -> None:
        check_next_step_autoreset(envs, "RolloutCollector")
        self.envs, self.policy = envs, policy
        obs, _ = envs.reset(seed=seed)
        self.obs = torch.as_tensor(obs, dtype=torch.float32)
        self.next_valid = np.ones(envs.num_envs, dtype=bool)
        self.total_steps = 0  # valid transitions so far

    @torch.no_grad()
    def collect(self, n_steps: int) -> tuple[RolloutBuffer, list[tuple[float, int, int]]]:
        """Collect ``n_steps`` vector steps; also return finished episodes as ``(return, length, step)``."""
        N = self.envs.num_envs
        obs_rows, act_rows, lp_rows = [self.obs], [], []
        rew = np.zeros((n_steps, N), dtype=np.float32)
        term, trunc = np.zeros((n_steps, N), dtype=np.float32), np.zeros((n_steps, N), dtype=np.float32)
        valid = np.zeros((n_steps, N), dtype=bool)
        finished: list[tuple[float, int, int]] = []
        for t in range(n_steps):
            dist = self.policy.distribution(self.obs)
            action = dist.sample()
            obs, r, te, tr, info = self.envs.step(self.policy.env_action(action))
            valid[t] = self.next_valid
            self.total_steps += int(self.next_valid.sum())
            rew[t], term[t], trunc[t] = r, te, tr
            self.next_valid = ~(te | tr)
            self.obs = torch.as_tensor(obs, dtype=torch.float32)
            if not np.isfinite(self.obs.numpy()).all():  # numpy: a few µs less per step than torch.isfinite
                raise FloatingPointError(f"the environment returned a NaN or inf observation: {obs}")
            obs_rows.append(self.obs)
            act_rows.append(action)
            lp_rows.append(dist.log_prob(action))
            if "_episode" in info:
                ep = info["episode"]
                for i in np.flatnonzero(info["_episode"]):
                    finished.append((float(ep["r"][i]), int(ep["l"][i]), self.total_steps))
        buffer = RolloutBuffer(
            obs=torch.stack(obs_rows),
            actions=torch.stack(act_rows),
            log_probs=torch.stack(lp_rows),
            rewards=torch.from_numpy(rew),
            terminated=torch.from_numpy(term),
            truncated=torch.from_numpy(trunc),
            valid=torch.from_numpy(valid),
        )
        return buffer, finished


@dataclass
class EpisodeBatch:
    """Whole episodes laid out as ``(T, n)`` columns (padding has ``valid`` False)."""

    obs: torch.Tensor  # (T, n, obs_dim)
    actions: torch.Tensor  # (T, n)
    rewards: torch.Tensor  # (T, n) true rewards
    terminated: torch.Tensor  # (T, n)
    truncated: torch.Tensor  # (T, n)
    final_obs: torch.Tensor  # (T, n, obs_dim): the successor of each step (the final observation at the end)
    valid: torch.Tensor  # (T, n) bool

    @property
    def returns(self) -> np.ndarray:
        return (self.rewards * self.valid).sum(0).numpy()

    @property
    def lengths(self) -> np.ndarray:
        return self.valid.sum(0).numpy()


@torch.no_grad()
def collect_episodes(
    envs: gym.vector.VectorEnv, policy: torch.nn.Module, seed: int | None = None, deterministic: bool = False
) -> EpisodeBatch:
    """Play exactly one complete episode in each of the ``n`` sub-environments.

    With ``n = 1`` this is the textbook "run one episode"; with ``n > 1`` the
    episodes run side by side, so one batched forward pass serves them all.
    Each sub-environment starts fresh (``reset``) and stops at its first
    ``terminated`` or ``truncated``. ``envs`` must autoreset on the next step (else ``ValueError``).
    """
    check_next_step_autoreset(envs, "collect_episodes")
    obs, _ = envs.reset(seed=seed)
    obs = torch.as_tensor(obs, dtype=torch.float32)
    n = envs.num_envs
    running = np.ones(n, dtype=bool)
    rows: dict[str, list] = {k: [] for k in ("obs", "act", "rew", "term", "trunc", "next", "valid")}
    while running.any():
        action = policy.act(obs, deterministic)
        next_obs, r, te, tr, _ = envs.step(policy.env_action(action))
        next_obs = torch.as_tensor(next_obs, dtype=torch.float32)
        for k, v in zip(rows, (obs, action, r * running, te & running, tr & running, next_obs, running.copy())):
            rows[k].append(v)  # tensors and numpy rows, stacked once at the end
        running &= ~(te | tr)
        obs = next_obs
    return EpisodeBatch(
        obs=torch.stack(rows["obs"]),
        actions=torch.stack(rows["act"]),
        rewards=torch.as_tensor(np.stack(rows["rew"])).float(),
        terminated=torch.as_tensor(np.stack(rows["term"])).float(),
        truncated=torch.as_tensor(np.stack(rows["trunc"])).float(),
        final_obs=torch.stack(rows["next"]),
        valid=torch.as_tensor(np.stack(rows["valid"])),
    )
