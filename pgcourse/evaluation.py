"""Judging a policy on the true objective: the undiscounted, unscaled episode return."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from pgcourse._threads import torch_threads
from pgcourse.rollout import collect_episodes

__all__ = ["evaluate"]


def evaluate(
    policy: torch.nn.Module, env_id: str, n_episodes: int = 10, seed: int = 0, deterministic: bool = True
) -> np.ndarray:
    """Returns of ``n_episodes`` fresh episodes played side by side; episode ``i`` starts at ``reset(seed=seed + i)``.

    Episode ``i`` is the same start state whatever ``n_episodes`` is (one sub-environment
    per episode, each seeded alone). ``deterministic=True`` takes the mode (categorical)
    or the mean (Gaussian) action; ``deterministic=False`` samples with torch's RNG seeded
    from ``seed`` inside a fork, so it is reproducible and the caller's global RNG state is
    left untouched. The policy is put in eval mode; observation-normalisation statistics
    stay frozen (only trainers update them), so this sees exactly what training saw.
    """
    if isinstance(n_episodes, bool) or not isinstance(n_episodes, (int, np.integer)) or n_episodes < 1:
        raise ValueError(f"n_episodes={n_episodes} is outside the allowed range [1, inf) (an integer)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be an integer >= 0")
    try:
        spec = gym.spec(env_id)
    except gym.error.Error as err:
        raise ValueError(f"unknown environment id {env_id!r}: {err}") from None
    # sync: sub-env i is reset with seed + i on its own (a numpy-vectorised env shares one RNG across the batch)
    envs = gym.make_vec(spec.id, num_envs=int(n_episodes), vectorization_mode="sync")
    was_training = policy.training
    policy.eval()
    try:
        with torch_threads(1), torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            return collect_episodes(envs, policy, seed=int(seed), deterministic=deterministic).returns
    finally:
        policy.train(was_training)
        envs.close()
