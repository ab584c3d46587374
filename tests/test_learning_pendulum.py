"""Learning test: PPO with its tuned preset swings up and balances Pendulum-v1.

The target is a deterministic evaluation return >= -250 (random play scores about
-1200; a good swing-up-and-balance policy about -150), judged on the median of 3
training seeds. Each seed's policy is evaluated on its own 10 fresh episodes (seeds
1000 + 10 * s, disjoint from each other and from training), with its
observation-normalisation statistics frozen — evaluation must never update them.
"""

import numpy as np
import pytest
import torch

import pgcourse
from pgcourse.algorithms import train_ppo
from pgcourse.algorithms.ppo import PRESETS

pytestmark = pytest.mark.learning
ENV = "Pendulum-v1"
SEEDS = (0, 1, 2)
TARGET = -250.0
BUDGET = 200_000


def _eval_seed(seed: int) -> int:
    return 1000 + 10 * seed


@pytest.fixture(scope="module")
def results():
    return [train_ppo(ENV, seed=s, progress=False) for s in SEEDS]  # config=None: the preset


def test_preset_stays_within_the_step_budget(results):
    cfg = PRESETS[ENV]
    assert cfg.total_steps <= BUDGET
    assert cfg.normalize_obs, "the preset normalises observations inside the policy"
    for r in results:
        assert r.config is cfg
        assert r.history[-1]["env_steps"] <= cfg.total_steps + cfg.n_envs * cfg.n_steps


def test_ppo_preset_reaches_target_on_pendulum(results):
    scores = [
        pgcourse.evaluate(r.policy, ENV, n_episodes=10, seed=_eval_seed(s), deterministic=True).mean()
        for s, r in zip(SEEDS, results)
    ]
    assert np.median(scores) >= TARGET, f"deterministic returns per seed: {np.round(scores, 1)}"


def test_evaluation_keeps_normalisation_statistics_frozen(results):
    for s, r in zip(SEEDS, results):
        norm = r.policy.obs_norm
        # the trainer fed the normaliser every training observation ...
        assert float(norm.count) >= r.history[-1]["env_steps"]
        assert not torch.allclose(norm.mean, torch.zeros_like(norm.mean))
        before = {name: buf.clone() for name, buf in norm.named_buffers()}
        first = pgcourse.evaluate(r.policy, ENV, n_episodes=3, seed=_eval_seed(s))
        second = pgcourse.evaluate(r.policy, ENV, n_episodes=3, seed=_eval_seed(s))
        # ... and evaluation moves nothing: same buffers, same returns on the same episodes
        for name, buf in norm.named_buffers():
            assert torch.equal(buf, before[name]), f"evaluation changed obs_norm.{name}"
        assert np.array_equal(first, second)
