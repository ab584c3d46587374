"""The three algorithms of the course, one module each, with one training entry point apiece."""

from pgcourse.algorithms.a2c import A2CConfig, train_a2c
from pgcourse.algorithms.common import HISTORY_KEYS, StopTraining, TrainingNaNError, TrainResult, stop_at_mean_return
from pgcourse.algorithms.ppo import PRESETS, PPOConfig, train_ppo
from pgcourse.algorithms.reinforce import ReinforceConfig, train_reinforce

__all__ = [
    "HISTORY_KEYS",
    "TrainResult",
    "TrainingNaNError",
    "StopTraining",
    "stop_at_mean_return",
    "ReinforceConfig",
    "train_reinforce",
    "A2CConfig",
    "train_a2c",
    "PPOConfig",
    "PRESETS",
    "train_ppo",
]
