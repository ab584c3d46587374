"""Learning tests: each algorithm reaches its CartPole-v1 target with its default config.

Judged on the median of 3 seeds, so one unlucky seed neither fails the suite nor can
carry it. Training stops as soon as the target is reached (``stop_at_mean_return``),
which is what keeps these tests to seconds; the budgets are the configs' defaults.
"""

import numpy as np
import pytest

import pgcourse
from pgcourse.algorithms import (
    A2CConfig,
    PPOConfig,
    ReinforceConfig,
    stop_at_mean_return,
    train_a2c,
    train_ppo,
    train_reinforce,
)

pytestmark = pytest.mark.learning
SEEDS = (0, 1, 2)
TARGET = 475.0


def _best_running_mean(result) -> float:
    return float(result.running_mean_return(20).max())


def test_ppo_solves_cartpole_within_default_budget():
    results = [train_ppo("CartPole-v1", seed=s, progress=False) for s in SEEDS]
    assert PPOConfig().total_steps <= 50_000
    assert np.median([_best_running_mean(r) for r in results]) >= TARGET
    # the final (LR-annealed) policy is solid, not just a lucky stretch of training
    finals = [pgcourse.evaluate(r.policy, "CartPole-v1", n_episodes=10, seed=123).mean() for r in results]
    assert np.median(finals) >= TARGET, finals


def test_a2c_solves_cartpole_within_default_budget():
    assert A2CConfig().total_steps <= 300_000
    results = [train_a2c("CartPole-v1", seed=s, progress=False, callbacks=[stop_at_mean_return(TARGET)]) for s in SEEDS]
    assert np.median([_best_running_mean(r) for r in results]) >= TARGET
    assert all(
        r.history[-1]["env_steps"] <= A2CConfig().total_steps + A2CConfig().n_envs * A2CConfig().n_steps
        for r in results
    )


def test_reinforce_solves_cartpole_within_default_budget():
    results = [
        train_reinforce("CartPole-v1", seed=s, progress=False, callbacks=[stop_at_mean_return(TARGET)]) for s in SEEDS
    ]
    assert np.median([_best_running_mean(r) for r in results]) >= TARGET
    assert all(len(r.episodes) <= ReinforceConfig().total_episodes for r in results)
