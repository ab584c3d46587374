"""Tiny environments whose values are known exactly, registered for the tests."""

import gymnasium as gym
import numpy as np


class CountdownEnv(gym.Env):
    """Reward 1 every step; the observation is the number of steps left, ``k - t``.

    ``mode="terminate"``: the episode *terminates* after ``k`` steps, so
    V(rem) = (1 - γ^rem) / (1 - γ). ``mode="truncate"``: it is *truncated* after ``k``
    steps (the task itself goes on forever), so V = 1 / (1 - γ) everywhere.
    """

    def __init__(self, k: int = 5, mode: str = "truncate", nan_at: int | None = None, nan_what: str = "reward"):
        self.k, self.mode, self.nan_at, self.nan_what = k, mode, nan_at, nan_what
        self.observation_space = gym.spaces.Box(0.0, float(k), (1,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.t = 0
        self.total = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([self.k], dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        self.total += 1
        reward = 1.0
        obs = np.array([self.k - self.t], dtype=np.float32)
        if self.nan_at is not None and self.total >= self.nan_at:
            if self.nan_what == "reward":
                reward = float("nan")
            else:
                obs[:] = np.nan
        end = self.t >= self.k
        return obs, reward, end and self.mode == "terminate", end and self.mode == "truncate", {}


def register() -> None:
    for name, kwargs in {
        "Truncate5": {"k": 5, "mode": "truncate"},
        "Terminate5": {"k": 5, "mode": "terminate"},
        "NaNReward": {"k": 5, "mode": "truncate", "nan_at": 30},
        "NaNObs": {"k": 5, "mode": "truncate", "nan_at": 30, "nan_what": "obs"},
    }.items():
        env_id = f"pgcourse-test/{name}-v0"
        if env_id not in gym.registry:
            gym.register(env_id, entry_point=CountdownEnv, kwargs=kwargs)
    if "pgcourse-test/MultiDiscrete-v0" not in gym.registry:
        gym.register("pgcourse-test/MultiDiscrete-v0", entry_point=MultiDiscreteEnv)


class MultiDiscreteEnv(CountdownEnv):
    """An action space the course's algorithms do not support."""

    def __init__(self):
        super().__init__()
        self.action_space = gym.spaces.MultiDiscrete([2, 3])
