"""Save and load a trained policy: weights, normaliser buffers and config in one file.

Everything in the file is a tensor or a plain Python value, so it loads with
``torch.load(path, weights_only=True)`` — the safe loader that never runs pickled code.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import gymnasium as gym
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

    With ``env_id``, check the file was trained for that environment (and that its
    observation/action sizes fit it). A corrupt or foreign file raises a ``ValueError``
    that says so.
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
    env = gym.make(env_id)
    try:
        obs_dim = env.observation_space.shape[0]
        if obs_dim != spec["obs_dim"]:
            raise ValueError(f"checkpoint expects {spec['obs_dim']}-dim observations, {env_id} gives {obs_dim}")
    finally:
        env.close()
