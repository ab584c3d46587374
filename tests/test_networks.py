"""Networks: shapes, initialisation, the Gaussian log-probability and space checks."""

import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from pgcourse.networks import (
    ActorCritic,
    CategoricalPolicy,
    GaussianActorCritic,
    RunningNorm,
    ValueFunction,
    build_actor_critic,
)


def test_categorical_policy_starts_near_uniform():
    torch.manual_seed(0)
    pi = CategoricalPolicy(4, 3)
    probs = pi.distribution(torch.randn(10, 4)).probs
    assert probs.shape == (10, 3)
    assert torch.allclose(probs, torch.full_like(probs, 1 / 3), atol=0.02)  # 0.01-gain head


@pytest.mark.parametrize("shared", [True, False])
def test_actor_critic_evaluate_shapes(shared):
    torch.manual_seed(0)
    ac = ActorCritic(4, 2, shared=shared)
    obs = torch.randn(5, 4)
    actions = ac.act(obs)
    lp, v, ent = ac.evaluate(obs, actions)
    assert lp.shape == v.shape == ent.shape == (5,)
    assert torch.allclose(v, ac.value(obs))
    assert torch.allclose(lp, ac.distribution(obs).log_prob(actions))
    has_trunk = hasattr(ac, "trunk")
    assert has_trunk == shared


def test_orthogonal_init_gains():
    torch.manual_seed(0)
    ac = ActorCritic(4, 2, hidden=(64, 64))
    w = ac.policy_head[0].weight  # hidden layer, gain sqrt(2)
    # rows of a (64, 4) orthogonal matrix: W^T W = gain^2 I
    assert torch.allclose(w.T @ w, 2.0 * torch.eye(4), atol=1e-5)
    head = ac.policy_head[-1].weight  # (2, 64), gain 0.01
    assert torch.allclose(head @ head.T, 1e-4 * torch.eye(2), atol=1e-7)
    v_head = ac.value_head[-1].weight
    assert float((v_head @ v_head.T).squeeze().detach()) == pytest.approx(1.0, abs=1e-5)


def test_gaussian_log_prob_matches_formula_and_log_std_starts_at_zero():
    torch.manual_seed(0)
    pol = GaussianActorCritic(3, 2, action_low=[-2, -2], action_high=[2, 2], normalize_obs=False)
    assert torch.equal(pol.log_std.detach(), torch.zeros(2))
    obs, a = torch.randn(6, 3), torch.randn(6, 2) * 3
    lp, v, ent = pol.evaluate(obs, a)
    mu, std = pol.head_output(obs), pol.log_std.exp()
    expected = (-((a - mu) ** 2) / (2 * std**2) - torch.log(std) - 0.5 * math.log(2 * math.pi)).sum(-1)
    assert torch.allclose(lp, expected, atol=1e-5)
    assert lp.shape == v.shape == ent.shape == (6,)


def test_gaussian_env_action_clips_but_sample_is_untouched():
    pol = GaussianActorCritic(3, 1, action_low=[-2.0], action_high=[2.0], normalize_obs=False)
    a = torch.tensor([[-5.0], [0.5], [3.0]])
    assert pol.env_action(a).tolist() == [[-2.0], [0.5], [2.0]]
    assert a.tolist() == [[-5.0], [0.5], [3.0]]


def test_deterministic_act_is_mode_or_mean():
    torch.manual_seed(0)
    ac = ActorCritic(4, 3)
    obs = torch.randn(8, 4)
    assert torch.equal(ac.act(obs, deterministic=True), ac.distribution(obs).probs.argmax(-1))
    g = GaussianActorCritic(4, 2, [-1, -1], [1, 1], normalize_obs=False)
    assert torch.equal(g.act(obs, deterministic=True), g.head_output(obs))


def test_running_norm_matches_numpy_and_is_saved_with_weights():
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(3, 2, size=(100, 3)), rng.normal(-1, 5, size=(50, 3))
    norm = RunningNorm(3)
    norm.update(torch.tensor(x1))
    norm.update(torch.tensor(x2))
    both = np.concatenate([x1, x2])
    assert np.allclose(norm.mean.numpy(), both.mean(0), atol=1e-4)
    assert np.allclose(norm.var.numpy(), both.var(0), rtol=1e-3)
    assert {"mean", "var", "count"} <= set(norm.state_dict())
    z = norm(torch.tensor(both, dtype=torch.float32))
    assert np.allclose(z.mean(0).numpy(), 0, atol=1e-3)


def test_value_function_shape():
    assert ValueFunction(4)(torch.randn(7, 4)).shape == (7,)


def test_build_actor_critic_picks_the_right_policy_and_rejects_others():
    box_obs = gym.spaces.Box(-1, 1, (4,))
    assert isinstance(build_actor_critic(box_obs, gym.spaces.Discrete(2)), ActorCritic)
    g = build_actor_critic(box_obs, gym.spaces.Box(-2, 2, (1,)), normalize_obs=True)
    assert isinstance(g, GaussianActorCritic)
    with pytest.raises(ValueError, match="supports Discrete or a 1-D Box action spaces, got MultiDiscrete"):
        build_actor_critic(box_obs, gym.spaces.MultiDiscrete([2, 3]))
    with pytest.raises(ValueError, match="flat Box observation space"):
        build_actor_critic(gym.spaces.Box(0, 1, (8, 8, 3)), gym.spaces.Discrete(2))
    with pytest.raises(ValueError, match="finite action bounds"):
        build_actor_critic(box_obs, gym.spaces.Box(-np.inf, np.inf, (2,)))
