"""Judging a policy on the true objective: the undiscounted, unscaled episode return."""

from __future__ import annotations

import numpy as np
import torch

from pgcourse._threads import torch_threads
from pgcourse.rollout import collect_episodes, make_vec_env

__all__ = ["evaluate"]


def evaluate(
    policy: torch.nn.Module, env_id: str, n_episodes: int = 10, seed: int = 0, deterministic: bool = True
) -> np.ndarray:
    """Returns of ``n_episodes`` fresh episodes (seeds ``seed, seed+1, ...``), played side by side.

    ``deterministic=True`` takes the mode (categorical) or the mean (Gaussian) action.
    The policy is put in eval mode; observation-normalisation statistics stay frozen
    (only trainers update them), so this sees exactly what training saw.
    """
    if n_episodes < 1:
        raise ValueError(f"n_episodes={n_episodes} is outside the allowed range [1, inf)")
    envs = make_vec_env(env_id, n_episodes, seed)
    was_training = policy.training
    policy.eval()
    try:
        with torch_threads(1):
            return collect_episodes(envs, policy, seed=seed, deterministic=deterministic).returns
    finally:
        policy.train(was_training)
        envs.close()
