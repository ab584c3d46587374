"""The reward-hacking environment: its reward is what the docstring says, and the id trains like any other."""

import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import pgcourse
from pgcourse import hacking
from pgcourse.algorithms import PPOConfig, train_ppo
from pgcourse.hacking import DEFAULT_BONUS, THETA_MAX, TILT_BONUS_ID, TiltBonus
from pgcourse.rollout import make_vec_env


def _play(env, seed, n_steps=60):
    """Seeded random actions until the episode ends: (observations, rewards, infos)."""
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    rows = []
    for _ in range(n_steps):
        obs, r, te, tr, info = env.step(int(rng.integers(2)))
        rows.append((obs.copy(), r, info))
        if te or tr:
            break
    return rows


@pytest.mark.parametrize("bonus", [0.0, 0.5, DEFAULT_BONUS])
def test_reward_is_true_reward_plus_bonus_times_relative_tilt(bonus):
    shaped = gym.make(TILT_BONUS_ID, bonus=bonus)
    plain = gym.make("CartPole-v1")
    got, ref = _play(shaped, seed=3), _play(plain, seed=3)
    assert len(got) == len(ref) > 5
    for (obs, r, info), (obs_ref, r_ref, _) in zip(got[:-1], ref[:-1]):
        np.testing.assert_array_equal(obs, obs_ref)  # same dynamics: only the reward changes
        assert info["true_reward"] == r_ref == 1.0
        assert r == pytest.approx(r_ref + bonus * abs(float(obs[2])) / THETA_MAX, abs=1e-5)


def test_no_bonus_on_the_terminating_step():
    """The bonus is paid "while the pole is still up": the step that drops it pays the true reward only."""
    shaped = gym.make(TILT_BONUS_ID, bonus=DEFAULT_BONUS)
    rng = np.random.default_rng(3)
    shaped.reset(seed=3)
    terminated = False
    while not terminated:
        obs, r, terminated, truncated, info = shaped.step(int(rng.integers(2)))
        assert not truncated
    assert abs(float(obs[2])) > THETA_MAX or abs(float(obs[0])) > 2.4  # the pole fell (or the cart left)
    assert r == info["true_reward"] == 1.0


def test_default_bonus_and_direct_wrapping():
    env = gym.make(TILT_BONUS_ID)
    assert env.get_wrapper_attr("bonus") == DEFAULT_BONUS
    wrapped = TiltBonus(gym.make("CartPole-v1"), bonus=1.5)
    (obs, r, _), *_ = _play(wrapped, seed=0, n_steps=1)
    assert r == pytest.approx(1.0 + 1.5 * abs(float(obs[2])) / THETA_MAX, abs=1e-5)


def test_theta_max_is_where_cartpole_terminates():
    assert THETA_MAX == pytest.approx(gym.make("CartPole-v1").unwrapped.theta_threshold_radians)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_bad_bonus_is_rejected_with_its_name(bad):
    with pytest.raises(ValueError, match="bonus"):
        TiltBonus(gym.make("CartPole-v1"), bonus=bad)


def test_registration_is_idempotent_and_keeps_cartpole_time_limit():
    hacking.register()
    hacking.register()
    assert gym.spec(TILT_BONUS_ID).max_episode_steps == 500


def test_renders_like_cartpole():
    env = gym.make(TILT_BONUS_ID, render_mode="rgb_array")
    env.reset(seed=0)
    assert env.render().shape == (400, 600, 3)


def test_vector_env_logs_the_shaped_return():
    """RecordEpisodeStatistics sits outside the bonus: training logs see the proxy, not the truth."""
    envs = make_vec_env(TILT_BONUS_ID, 2, seed=0)
    envs.reset(seed=0)
    rng = np.random.default_rng(0)
    total = np.zeros(2)
    finished = []
    for _ in range(200):
        _, r, te, tr, info = envs.step(rng.integers(2, size=2))
        total += r
        if "_episode" in info:
            for i in np.flatnonzero(info["_episode"]):
                finished.append((info["episode"]["r"][i], info["episode"]["l"][i]))
    envs.close()
    assert finished
    for ret, length in finished:
        assert ret > length  # each step paid 1 + c|θ|/θ_max > 1 (θ is never exactly 0 here)


def test_train_ppo_on_the_registered_id_and_evaluate_on_the_truth():
    cfg = PPOConfig(n_envs=2, n_steps=32, n_epochs=1, total_steps=400)
    result = train_ppo(TILT_BONUS_ID, cfg, seed=0, progress=False)
    assert result.env_id == TILT_BONUS_ID and result.history and result.episodes
    shaped = [e["return"] for e in result.episodes]
    true = [e["length"] for e in result.episodes]
    assert all(s > t for s, t in zip(shaped, true))
    true_eval = pgcourse.evaluate(result.policy, "CartPole-v1", n_episodes=3, seed=0)
    proxy_eval = pgcourse.evaluate(result.policy, TILT_BONUS_ID, n_episodes=3, seed=0)
    assert np.all(proxy_eval > true_eval)  # same episodes (same seeds, deterministic policy), plus the bonus


def test_bonus_zero_via_env_kwargs_gives_the_true_return():
    envs = make_vec_env(TILT_BONUS_ID, 2, seed=1, env_kwargs={"bonus": 0.0})
    envs.reset(seed=1)
    rng = np.random.default_rng(1)
    finished = []
    for _ in range(150):
        _, _, _, _, info = envs.step(rng.integers(2, size=2))
        if "_episode" in info:
            finished += [(info["episode"]["r"][i], info["episode"]["l"][i]) for i in np.flatnonzero(info["_episode"])]
    envs.close()
    assert finished and all(r == pytest.approx(n) for r, n in finished)


def _episode(env_id, seed, **kwargs):
    """One seeded random episode on ``env_id``: shaped rewards, true rewards, tilts, terminated."""
    env = gym.make(env_id, **kwargs)
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    rewards, true, tilts = [], [], [abs(float(obs[2])) / THETA_MAX]
    while True:
        obs, r, te, tr, info = env.step(int(rng.integers(2)))
        rewards.append(r)
        true.append(info["true_reward"])
        tilts.append(abs(float(obs[2])) / THETA_MAX)
        if te or tr:
            return np.array(rewards), np.array(true), np.array(tilts), te


@pytest.mark.parametrize("gamma", [0.9, 0.99])
def test_potential_shaping_telescopes_in_the_discounted_return_only(gamma):
    """Σγ^t F_t = −Φ(s_0) exactly; the undiscounted Σ F_t keeps (1−γ)c Σ_{t≥1} |ϑ_t|/ϑ_max."""
    c = DEFAULT_BONUS
    for seed in range(3):
        shaped, true, tilt, terminated = _episode(hacking.POTENTIAL_TILT_ID, seed, bonus=c, gamma=gamma)
        assert terminated and len(shaped) > 5
        f = shaped - true
        disc = (gamma ** np.arange(len(f)) * f).sum()
        assert disc == pytest.approx(c * tilt[0], abs=1e-4)  # −Φ(s_0): a constant of the start state
        residual = (1 - gamma) * c * tilt[1:-1].sum()  # ϑ after the terminating step does not count (Φ = 0)
        assert f.sum() == pytest.approx(c * tilt[0] + residual, abs=1e-4)
        assert residual > 0


def test_potential_shaping_rejects_bad_coefficients():
    with pytest.raises(ValueError, match="gamma"):
        hacking.PotentialTilt(gym.make("CartPole-v1").unwrapped, gamma=1.5)
    with pytest.raises(ValueError, match="bonus"):
        hacking.PotentialTilt(gym.make("CartPole-v1").unwrapped, bonus=-1)


def test_a_fresh_process_makes_the_course_ids_without_importing_hacking_first():
    """run_seeds' worker processes only import the trainer; make_vec_env registers the course's ids itself."""
    code = (
        "import sys; from pgcourse.rollout import make_vec_env; assert 'pgcourse.hacking' not in sys.modules; "
        f"envs = make_vec_env({TILT_BONUS_ID!r}, 2, seed=0); print(envs.num_envs)"
    )
    root = str(Path(pgcourse.__file__).resolve().parents[1])  # this checkout's pgcourse, not an installed one
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2"
