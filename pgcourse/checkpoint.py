"""Save and load a trained policy: weights, normaliser buffers and config in one file.

Everything in the file is a tensor or a plain Python value, so it loads with
``torch.load(path, weights_only=True)`` — the safe loader that never runs pickled code.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from pgcourse.algorithms.common import TrainResult, config_dict
from pgcourse.networks import policy_from_spec

__all__ = ["save_policy", "load_policy", "FORMAT"]

FORMAT = "pgcourse-policy/1"


def save_policy(result: TrainResult, path: str | Path) -> Path:
    """Write ``result.policy`` (with its spec, config, env id and seed) to ``path``.

    The file is read back with the safe loader before returning; a payload it rejects
    (e.g. a config holding a foreign object) raises ``ValueError`` and leaves no file.
    """
    policy = result.policy
    if not hasattr(policy, "spec"):
        raise ValueError(f"{type(policy).__name__} has no .spec: only pgcourse policies can be saved")
    payload = {
        "format": FORMAT,
        "env_id": result.env_id,
        "seed": int(result.seed),
        "algorithm": type(result.config).__name__,
        "config": config_dict(result.config) if dataclasses.is_dataclass(result.config) else {},
        "spec": policy.spec,
        "state_dict": policy.state_dict(),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)
    try:  # what load_policy will do: the safe loader must read the file back
        torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        path.unlink(missing_ok=True)
        raise ValueError(
            f"the checkpoint would not load with torch.load(weights_only=True), so it was not kept: the config or "
            f"spec holds a value that is not a tensor or plain Python data ({err})"
        ) from None
    return path


def load_policy(path: str | Path, env_id: str | None = None) -> torch.nn.Module:
    """Load a policy saved by :func:`save_policy`, in eval mode.

    With ``env_id``, check the file was trained for that environment and that the policy
    fits its spaces: observation size, number of actions (Discrete) or action size and
    bounds (Box); a mismatch raises ``ValueError`` saying what differs. A corrupt or
    foreign file raises a ``ValueError`` that says so.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for a damaged file
        raise ValueError(f"{path} is not a readable pgcourse checkpoint (corrupt or not a torch file): {err}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a pgcourse policy checkpoint (expected format {FORMAT!r})")
    if env_id is not None and env_id != payload["env_id"]:
        raise ValueError(f"{path} holds a policy trained on {payload['env_id']!r}, not on {env_id!r}")
    spec = payload["spec"]
    if env_id is not None:
        _check_fits(spec, env_id)
    policy = policy_from_spec(spec)
    try:
        policy.load_state_dict(payload["state_dict"])
    except RuntimeError as err:
        raise ValueError(f"{path}: the weights do not match the saved network description: {err}") from None
    policy.checkpoint_info = {k: payload[k] for k in ("env_id", "seed", "algorithm", "config")}
    return policy.eval()


def _check_fits(spec: dict, env_id: str) -> None:
    """Raise ``ValueError`` unless the policy of ``spec`` fits ``env_id``'s observation and action spaces."""
    try:
        env = gym.make(env_id)
    except gym.error.Error as err:
        raise ValueError(f"unknown environment id {env_id!r}: {err}") from None
    try:
        problems = _misfits(spec, env.observation_space, env.action_space)
    finally:
        env.close()
    if problems:
        raise ValueError(f"the checkpoint does not fit {env_id}: " + "; ".join(problems))


def _misfits(spec: dict, obs_space: gym.Space, act_space: gym.Space) -> list[str]:
    """What does not match between a policy spec and an environment's spaces (empty: it fits)."""
    out = []
    obs_shape = getattr(obs_space, "shape", None)
    if not obs_shape or len(obs_shape) != 1 or obs_shape[0] != spec["obs_dim"]:
        out.append(f"the policy expects {spec['obs_dim']}-dim observations, the environment gives shape {obs_shape}")
    if spec["kind"] in ("categorical", "actor_critic"):
        if not isinstance(act_space, gym.spaces.Discrete):
            out.append(f"the policy picks one of {spec['n_actions']} discrete actions, the environment has {act_space}")
        elif int(act_space.n) != spec["n_actions"]:
            out.append(f"the policy has {spec['n_actions']} actions, the environment {int(act_space.n)}")
        return out
    if not isinstance(act_space, gym.spaces.Box) or act_space.shape != (spec["act_dim"],):
        out.append(f"the policy outputs {spec['act_dim']}-dim continuous actions, the environment has {act_space}")
        return out
    low, high = np.asarray(act_space.low, dtype=float), np.asarray(act_space.high, dtype=float)
    if not (np.allclose(low, spec["action_low"]) and np.allclose(high, spec["action_high"])):
        out.append(
            f"the policy clips actions to [{spec['action_low']}, {spec['action_high']}], "
            f"the environment's bounds are [{low.tolist()}, {high.tolist()}]"
        )
    return out
