"""Rollouts from vector envs: the autoreset row is masked out and value targets are exact."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from toy_envs import register

from pgcourse.algorithms.on_policy import prepare_batch
from pgcourse.networks import ActorCritic
from pgcourse.rollout import RolloutCollector, collect_episodes, make_vec_env

register()
GAMMA = 0.9


class ExactCritic(ActorCritic):
    """A uniform random policy whose critic is the exact value function of the countdown env."""

    def __init__(self, mode: str):
        super().__init__(1, 2)
        self.mode = mode

    def value(self, obs):
        rem = obs[..., 0]
        if self.mode == "truncate":
            return torch.full_like(rem, 1 / (1 - GAMMA))
        return (1 - GAMMA**rem) / (1 - GAMMA)


@pytest.mark.parametrize("mode", ["truncate", "terminate"])
@pytest.mark.parametrize("lam", [0.0, 0.7, 1.0])
def test_value_targets_are_exact_with_an_exact_critic(mode, lam):
    """With the true V, every valid GAE target equals V(s_t) and every advantage is 0.

    Treating truncation as termination would give a target of 1 (not 10) at the time
    limit; letting the autoreset row in would mix the next episode's start into the
    last step of the previous one.
    """
    env_id = "pgcourse-test/Truncate5-v0" if mode == "truncate" else "pgcourse-test/Terminate5-v0"
    envs = make_vec_env(env_id, n_envs=3, seed=0)
    policy = ExactCritic(mode)
    buf, finished = RolloutCollector(envs, policy, seed=0).collect(17)
    batch = prepare_batch(policy, buf, GAMMA, lam)
    assert torch.allclose(batch.advantages, torch.zeros_like(batch.advantages), atol=1e-5)
    assert torch.allclose(batch.returns, policy.value(batch.obs), atol=1e-5)
    # 17 vector steps of 5-step episodes: rows 5 and 11 are autoreset rows (not transitions)
    assert buf.valid[:, 0].tolist() == [i not in (5, 11) for i in range(17)]
    assert len(batch) == 3 * 15
    assert [ep[:2] for ep in finished] == [(5.0, 5)] * 9


def test_truncation_targets_bootstrap_from_the_final_observation():
    envs = make_vec_env("pgcourse-test/Truncate5-v0", n_envs=1, seed=0)
    policy = ExactCritic("truncate")
    buf, _ = RolloutCollector(envs, policy, seed=0).collect(6)
    # the observation returned at the truncated step is the final one (0 steps left), not a reset
    assert buf.obs[5, 0, 0] == 0.0 and buf.truncated[4, 0] == 1
    zero_critic = ActorCritic(1, 2)
    torch.nn.init.zeros_(zero_critic.value_head[-1].weight)
    batch = prepare_batch(zero_critic, buf, GAMMA, 1.0)
    assert torch.allclose(batch.returns[:5], torch.tensor([4.0951, 3.439, 2.71, 1.9, 1.0]), atol=1e-4)


def test_episode_statistics_are_true_returns_even_with_reward_scaling():
    envs = make_vec_env("pgcourse-test/Truncate5-v0", n_envs=2, seed=0, normalize_reward=True, gamma=0.99)
    buf, finished = RolloutCollector(envs, ExactCritic("truncate"), seed=0).collect(12)
    assert all(ep[0] == 5.0 for ep in finished)  # logged: the true return
    assert not torch.allclose(buf.rewards[buf.valid], torch.ones(int(buf.valid.sum())))  # trained on: scaled


def test_collector_counts_steps_and_episode_end_steps():
    envs = make_vec_env("pgcourse-test/Terminate5-v0", n_envs=2, seed=0)
    col = RolloutCollector(envs, ExactCritic("terminate"), seed=0)
    _, finished = col.collect(6)
    _, finished2 = col.collect(6)
    assert col.total_steps == 2 * 10  # 12 rows per env, minus its two autoreset rows (5 and 11)
    assert [ep[2] for ep in finished + finished2] == [10, 10, 20, 20]


def test_collect_episodes_plays_each_env_once():
    envs = make_vec_env("CartPole-v1", n_envs=3, seed=0)
    torch.manual_seed(0)
    batch = collect_episodes(envs, ActorCritic(4, 2), seed=0)
    lengths = batch.lengths
    assert batch.obs.shape[:2] == (max(lengths), 3)
    assert np.array_equal(batch.returns, lengths)  # CartPole: reward 1 per step
    assert batch.terminated.sum() + batch.truncated.sum() == 3
    again = collect_episodes(make_vec_env("CartPole-v1", 3, 0), _seeded(ActorCritic, 4, 2), seed=0)
    assert np.array_equal(again.lengths, lengths)


def _seeded(cls, *args):
    torch.manual_seed(0)
    return cls(*args)


def test_nan_observation_is_reported_clearly():
    envs = make_vec_env("pgcourse-test/NaNObs-v0", n_envs=1, seed=0)
    with pytest.raises(FloatingPointError, match="NaN or inf observation"):
        RolloutCollector(envs, ActorCritic(1, 2), seed=0).collect(40)


def test_make_vec_env_rejects_unknown_ids_and_bad_sizes():
    with pytest.raises(ValueError, match="unknown environment id 'NoSuchEnv-v0'"):
        make_vec_env("NoSuchEnv-v0", 1, 0)
    with pytest.raises(ValueError, match=r"n_envs=0 is outside the allowed range \[1, inf\)"):
        make_vec_env("CartPole-v1", 0, 0)


@pytest.mark.parametrize("mode", [gym.vector.AutoresetMode.SAME_STEP, gym.vector.AutoresetMode.DISABLED])
def test_collectors_reject_vector_envs_without_next_step_autoreset(mode):
    kwargs = {"autoreset_mode": mode}
    envs = gym.make_vec("pgcourse-test/Truncate5-v0", 2, vectorization_mode="sync", vector_kwargs=kwargs)
    assert envs.metadata["autoreset_mode"] == mode
    with pytest.raises(ValueError, match="RolloutCollector needs a vector env with next-step autoreset"):
        RolloutCollector(envs, ExactCritic("truncate"), seed=0)
    with pytest.raises(ValueError, match="collect_episodes needs a vector env with next-step autoreset.*NEXT_STEP"):
        collect_episodes(envs, ExactCritic("truncate"), seed=0)
    ok = gym.make_vec("pgcourse-test/Truncate5-v0", 2, vectorization_mode="sync")
    RolloutCollector(ok, ExactCritic("truncate"), seed=0).collect(3)  # the default, next-step, is accepted
