"""REINFORCE's machinery as config: plain REINFORCE, learning-rate annealing, gradient clipping, the loss's mean."""

import math

import numpy as np
import pytest
import torch

from pgcourse.algorithms import ReinforceConfig, train_reinforce
from pgcourse.algorithms.reinforce import episode_advantages, reinforce_loss
from pgcourse.networks import CategoricalPolicy
from pgcourse.rollout import collect_episodes, make_vec_env

SMALL = dict(episodes_per_update=2, total_episodes=8)


def test_plain_switches_every_addition_off_and_the_preset_has_them_all():
    plain, preset = ReinforceConfig.plain(), ReinforceConfig()
    assert (plain.baseline, plain.normalize, plain.anneal_lr, plain.max_grad_norm) == ("none", "none", False, None)
    assert not plain.clips_gradients
    assert (preset.baseline, preset.normalize, preset.anneal_lr) == ("value", "advantages", True)
    assert preset.clips_gradients and preset.max_grad_norm == 1.0
    assert ReinforceConfig.plain(lr=1e-3).lr == 1e-3  # overrides pass through


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"anneal_lr": 1}, r"ReinforceConfig.anneal_lr=1 must be True or False"),
        ({"anneal_lr": "no"}, r"ReinforceConfig.anneal_lr='no' must be True or False"),
        ({"max_grad_norm": 0.0}, r"ReinforceConfig.max_grad_norm=0.0 is outside the allowed range \(0, inf\]"),
        ({"max_grad_norm": -1.0}, r"max_grad_norm=-1.0 is outside"),
        ({"max_grad_norm": float("nan")}, r"ReinforceConfig.max_grad_norm must be a number"),
    ],
)
def test_bad_anneal_and_clip_values_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ReinforceConfig(**kwargs)


def test_no_clipping_is_none_or_inf_and_np_bool_is_plain():
    assert not ReinforceConfig(max_grad_norm=math.inf).clips_gradients
    cfg = ReinforceConfig(anneal_lr=np.bool_(False))
    assert cfg.anneal_lr is False


def test_anneal_lr_is_the_only_source_of_a_decaying_learning_rate():
    annealed = train_reinforce("CartPole-v1", ReinforceConfig(**SMALL), seed=0, progress=False).metric("lr")
    constant = train_reinforce(
        "CartPole-v1", ReinforceConfig(anneal_lr=False, **SMALL), seed=0, progress=False
    ).metric("lr")
    n = len(annealed)
    assert np.allclose(annealed, 5e-3 * (1 - np.arange(n) / n))  # α (1 - (k-1)/K)
    assert np.allclose(constant, 5e-3)


def test_without_clipping_the_gradient_is_untouched():
    """max_grad_norm=None trains exactly like inf, and differently from a clip that bites."""
    runs = {
        clip: train_reinforce("CartPole-v1", ReinforceConfig.plain(max_grad_norm=clip, **SMALL), seed=1, progress=False)
        for clip in (None, math.inf, 1e-3)
    }
    assert np.array_equal(runs[None].episode_returns(), runs[math.inf].episode_returns())
    assert np.array_equal(runs[None].metric("grad_norm"), runs[math.inf].metric("grad_norm"))
    assert runs[None].metric("grad_norm").min() > 1e-3  # so the 1e-3 clip acts on every update ...
    same = [torch.equal(a, b) for a, b in zip(runs[None].policy.parameters(), runs[1e-3].policy.parameters())]
    assert not all(same)  # ... and changes the weights (by little: Adam divides most of the clip's factor out)
    for a, b in zip(runs[None].policy.parameters(), runs[math.inf].policy.parameters()):
        assert torch.equal(a, b)


def test_the_loss_is_a_mean_over_all_valid_steps_of_the_batch():
    """Not a per-episode mean: every step of the batch weighs 1/sum_i T_i, whatever its episode's length."""
    cfg = ReinforceConfig.plain(episodes_per_update=3)
    envs = make_vec_env("CartPole-v1", 3, seed=0)
    try:
        torch.manual_seed(0)
        policy = CategoricalPolicy(4, 2, cfg.hidden)
        batch = collect_episodes(envs, policy, seed=0)
    finally:
        envs.close()
    assert len(set(batch.lengths.tolist())) > 1  # episodes of different lengths
    adv, _ = episode_advantages(batch, cfg, None)
    m = batch.valid
    logp = policy.distribution(batch.obs[m]).log_prob(batch.actions[m])
    loss = reinforce_loss(logp, adv[m])
    assert loss.item() == pytest.approx(-(logp * adv[m]).sum().item() / int(batch.lengths.sum()), rel=1e-6)
    per_episode = -sum(
        (policy.distribution(batch.obs[:n, i]).log_prob(batch.actions[:n, i]) * adv[:n, i]).mean() for i, n in
        enumerate(batch.lengths.tolist())
    ) / len(batch.lengths)
    assert loss.item() != pytest.approx(per_episode.item(), rel=1e-3)
