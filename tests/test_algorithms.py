"""Trainers: reproducible, interrupt-safe, loud on NaN and bad input; checkpoints round-trip."""

import math

import numpy as np
import pytest
import torch
from toy_envs import register

import pgcourse
from pgcourse.algorithms import (
    HISTORY_KEYS,
    A2CConfig,
    PPOConfig,
    ReinforceConfig,
    TrainingNaNError,
    stop_at_mean_return,
    train_a2c,
    train_ppo,
    train_reinforce,
)
from pgcourse.algorithms import ppo as ppo_module

register()
SMALL_PPO = PPOConfig(n_envs=2, n_steps=64, n_epochs=2, total_steps=1000)
SMALL_A2C = A2CConfig(n_envs=2, n_steps=8, total_steps=500)
SMALL_RF = ReinforceConfig(episodes_per_update=2, total_episodes=6)


def _strip_time(history):
    """History without wall time, NaN-safe for comparison (NaN == NaN here)."""
    return [{k: ("nan" if v != v else v) for k, v in h.items() if k != "time"} for h in history]


@pytest.mark.parametrize(
    "train, cfg",
    [(train_ppo, SMALL_PPO), (train_a2c, SMALL_A2C), (train_reinforce, SMALL_RF)],
    ids=["ppo", "a2c", "reinforce"],
)
def test_same_seed_same_run_bit_for_bit(train, cfg):
    a = train("CartPole-v1", cfg, seed=3, progress=False)
    b = train("CartPole-v1", cfg, seed=3, progress=False)
    c = train("CartPole-v1", cfg, seed=4, progress=False)
    assert _strip_time(a.history) == _strip_time(b.history)
    assert a.episodes == b.episodes
    assert a.episodes != c.episodes
    for pa, pb in zip(a.policy.state_dict().values(), b.policy.state_dict().values()):
        assert torch.equal(pa, pb)


SMALL_PPO_ANNEALED = PPOConfig(
    n_envs=2, n_steps=64, n_epochs=2, anneal_clip=True, clip_eps_final=0.05, total_steps=1000
)


@pytest.mark.parametrize("final", [0.0, 0.05])
def test_clip_range_schedule_is_linear_from_clip_eps_to_its_floor_per_update(final):
    cfg = PPOConfig(n_envs=2, n_steps=64, n_epochs=2, anneal_clip=True, clip_eps_final=final, total_steps=1000)
    res = train_ppo("CartPole-v1", cfg, seed=0, progress=False)
    done_before = np.concatenate([[0.0], res.metric("env_steps")[:-1]])  # steps taken before each update
    frac = 1.0 - done_before / 1000
    expected = final + (0.2 - final) * frac
    np.testing.assert_allclose(res.metric("clip_eps"), expected, rtol=1e-12)
    assert res.metric("clip_eps")[0] == 0.2 and np.all(np.diff(res.metric("clip_eps")) < 0)
    assert np.all(res.metric("clip_eps") > final)  # never reaches the floor inside the budget
    np.testing.assert_allclose(res.metric("lr"), cfg.lr * frac, rtol=1e-12)  # the lr's schedule, same fraction
    assert cfg.in_force(1.0) == {"lr": cfg.lr, "clip_eps": 0.2}
    assert cfg.in_force(0.5)["clip_eps"] == pytest.approx(final + (0.2 - final) / 2)
    constant = train_ppo("CartPole-v1", SMALL_PPO, seed=0, progress=False)
    assert np.all(constant.metric("clip_eps") == 0.2)  # without the schedule: ε logged, constant


def test_the_update_clips_with_the_clip_range_in_force(monkeypatch):
    seen = []
    surrogate = ppo_module.clipped_surrogate_loss

    def recording_loss(ratio, adv, eps):
        seen.append(eps)
        return surrogate(ratio, adv, eps)

    monkeypatch.setattr(ppo_module, "clipped_surrogate_loss", recording_loss)
    res = train_ppo("CartPole-v1", SMALL_PPO_ANNEALED, seed=0, progress=False)
    per_update = np.array(seen).reshape(len(res.history), -1)  # n_epochs × n_minibatches calls per update
    assert np.all(per_update == res.metric("clip_eps")[:, None])


def test_clip_annealed_run_is_reproducible_bit_for_bit():
    a = train_ppo("CartPole-v1", SMALL_PPO_ANNEALED, seed=3, progress=False)
    b = train_ppo("CartPole-v1", SMALL_PPO_ANNEALED, seed=3, progress=False)
    plain = train_ppo("CartPole-v1", SMALL_PPO, seed=3, progress=False)
    assert _strip_time(a.history) == _strip_time(b.history) and a.episodes == b.episodes
    for pa, pb in zip(a.policy.state_dict().values(), b.policy.state_dict().values()):
        assert torch.equal(pa, pb)
    assert _strip_time(a.history) != _strip_time(plain.history)  # the schedule changed the run


def test_callers_thread_count_does_not_change_the_run():
    """The initialisation (a QR decomposition) and training both run on one torch thread."""
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        a = train_a2c("CartPole-v1", SMALL_A2C, seed=5, progress=False)
        torch.set_num_threads(1)
        b = train_a2c("CartPole-v1", SMALL_A2C, seed=5, progress=False)
    finally:
        torch.set_num_threads(old)
    assert _strip_time(a.history) == _strip_time(b.history)


def test_history_records_have_every_key_and_sane_values():
    res = train_ppo("CartPole-v1", SMALL_PPO, seed=0, progress=False)
    assert len(res.history) == math.ceil(1000 / (2 * 64)) or len(res.history) == math.ceil(1000 / (2 * 64)) + 1
    for rec in res.history:
        assert set(HISTORY_KEYS) <= set(rec)
        assert rec["approx_kl"] >= 0 and 0 <= rec["clip_fraction"] <= 1
    steps = res.metric("env_steps")
    assert np.all(np.diff(steps) > 0) and steps[-1] >= 1000
    lr = res.metric("lr")
    assert lr[0] == pytest.approx(SMALL_PPO.lr) and np.all(np.diff(lr) < 0)  # linear annealing
    assert all(e["length"] == e["return"] for e in res.episodes)  # CartPole: +1 per step
    assert "updates=" in repr(res)
    assert np.all(res.metric("epochs") == SMALL_PPO.n_epochs)  # PPO logs its epochs, and they can be read back
    assert np.all(res.metric("n_actions") == 2) and np.isnan(res.metric("act_dim")).all()  # for the entropy rule
    assert np.isnan(train_a2c("CartPole-v1", SMALL_A2C, seed=0, progress=False).metric("epochs")).all()


def test_trainers_restore_torch_thread_count():
    torch.set_num_threads(2)
    train_a2c("CartPole-v1", SMALL_A2C, seed=0, progress=False)
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("train, cfg", [(train_ppo, SMALL_PPO), (train_reinforce, SMALL_RF)], ids=["ppo", "reinforce"])
def test_keyboard_interrupt_returns_the_run_so_far(train, cfg):
    def interrupt_at_second_update(record):
        if record["update"] == 2:
            raise KeyboardInterrupt

    res = train("CartPole-v1", cfg, seed=0, progress=False, callbacks=[interrupt_at_second_update])
    assert res.interrupted and "Interrupted after 2 updates" in res.note
    assert len(res.history) == 2
    assert isinstance(res.policy, torch.nn.Module) and not res.policy.training


def test_stop_at_mean_return_ends_training_early():
    res = train_ppo("CartPole-v1", SMALL_PPO, seed=0, progress=False, callbacks=[stop_at_mean_return(10.0)])
    assert not res.interrupted and "Stopped early" in res.note
    assert len(res.history) == 1


def test_nan_reward_stops_training_with_update_named():
    with pytest.raises(TrainingNaNError, match="reward is not finite .* at update 3"):
        train_ppo("pgcourse-test/NaNReward-v0", PPOConfig(n_envs=1, n_steps=12, total_steps=500), progress=False)


def test_nan_loss_stops_training_with_quantity_named(monkeypatch):
    monkeypatch.setattr(ppo_module, "clipped_surrogate_loss", lambda r, a, e: torch.tensor(float("nan")))
    with pytest.raises(TrainingNaNError, match=r"PPO loss \(policy \+ value - entropy\) is not finite .* at update 1"):
        train_ppo("CartPole-v1", SMALL_PPO, progress=False)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: PPOConfig(clip_eps=0), r"PPOConfig.clip_eps=0 is outside the allowed range \(0, 1\]"),
        (lambda: PPOConfig(gamma=1.5), r"PPOConfig.gamma=1.5 is outside the allowed range \[0, 1\]"),
        (lambda: PPOConfig(adv_norm="global"), r"PPOConfig.adv_norm='global' is not allowed"),
        (lambda: PPOConfig(n_minibatches=1000, n_envs=2, n_steps=8), r"n_minibatches=1000 is outside"),
        (lambda: PPOConfig(target_kl=-1.0), r"target_kl=-1.0 is outside"),
        (lambda: A2CConfig(lr=0.0), r"A2CConfig.lr=0.0 is outside the allowed range \(0, 1\]"),
        (lambda: A2CConfig(n_envs=True), r"A2CConfig.n_envs must be a number"),
        (lambda: ReinforceConfig(baseline="mean"), r"baseline='mean' is not allowed"),
        (lambda: ReinforceConfig(baseline="none", normalize="advantages"), r"needs baseline='value'"),
        (lambda: ReinforceConfig(baseline="value", normalize="returns"), r"normalize='returns' with baseline='value'"),
        (lambda: PPOConfig(n_steps=32.5), r"PPOConfig.n_steps must be an integer, got 32.5"),
        (lambda: PPOConfig(n_epochs=2.5), r"PPOConfig.n_epochs must be an integer, got 2.5"),
        (lambda: PPOConfig(hidden=(64.7,)), r"PPOConfig.hidden .*must be an integer, got 64.7"),
        (lambda: A2CConfig(n_envs="8"), r"A2CConfig.n_envs must be an integer"),
        (lambda: ReinforceConfig(episodes_per_update=1.5), r"ReinforceConfig.episodes_per_update must be an integer"),
        (lambda: ReinforceConfig(hidden=(8.5,)), r"ReinforceConfig.hidden .*must be an integer"),
        (
            lambda: PPOConfig(anneal_clip=True, clip_eps_final=0.3),
            r"PPOConfig.clip_eps_final=0.3 is outside the allowed range \[0, 0.2\]",
        ),
        (lambda: PPOConfig(anneal_clip=True, clip_eps_final=-0.1), r"PPOConfig.clip_eps_final=-0.1 is outside"),
        (lambda: PPOConfig(clip_eps_final=0.1), r"PPOConfig.clip_eps_final=0.1 has no effect with anneal_clip=False"),
        (lambda: PPOConfig(anneal_clip="yes"), r"PPOConfig.anneal_clip='yes' must be True or False"),
    ],
)
def test_configs_reject_bad_values_naming_field_value_and_range(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_unsupported_action_spaces_fail_early_and_clearly():
    with pytest.raises(ValueError, match="REINFORCE supports Discrete action spaces, got Box"):
        train_reinforce("Pendulum-v1", SMALL_RF, progress=False)
    with pytest.raises(ValueError, match="PPO supports Discrete or a 1-D Box action spaces, got MultiDiscrete"):
        train_ppo("pgcourse-test/MultiDiscrete-v0", SMALL_PPO, progress=False)


def test_evaluate_is_reproducible_and_deterministic_mode_is_greedy():
    res = train_ppo("CartPole-v1", SMALL_PPO, seed=0, progress=False)
    a = pgcourse.evaluate(res.policy, "CartPole-v1", n_episodes=4, seed=7)
    b = pgcourse.evaluate(res.policy, "CartPole-v1", n_episodes=4, seed=7)
    assert a.shape == (4,) and np.array_equal(a, b)
    with pytest.raises(ValueError, match="n_episodes=0"):
        pgcourse.evaluate(res.policy, "CartPole-v1", n_episodes=0)


def test_gaussian_ppo_keeps_normaliser_frozen_in_evaluation_and_saves_it(tmp_path):
    cfg = PPOConfig(n_envs=2, n_steps=100, n_epochs=1, normalize_obs=True, normalize_reward=True, total_steps=400)
    res = train_ppo("Pendulum-v1", cfg, seed=0, progress=False)
    norm = res.policy.obs_norm
    count = float(norm.count)
    assert count > 300  # updated with the training observations
    pgcourse.evaluate(res.policy, "Pendulum-v1", n_episodes=2, seed=0)
    assert float(norm.count) == count  # ... and frozen in evaluation
    path = pgcourse.save_policy(res, tmp_path / "pendulum.pt")
    loaded = pgcourse.load_policy(path, env_id="Pendulum-v1")
    assert torch.equal(loaded.obs_norm.mean, norm.mean) and torch.equal(loaded.log_std, res.policy.log_std)
    obs = torch.randn(5, 3)
    assert torch.equal(loaded.act(obs, deterministic=True), res.policy.act(obs, deterministic=True))
    assert loaded.checkpoint_info["config"]["normalize_obs"] is True
    payload = torch.load(path, weights_only=True)  # plain data only
    assert payload["env_id"] == "Pendulum-v1"


def test_reinforce_checkpoint_round_trip_keeps_the_baseline(tmp_path):
    res = train_reinforce("CartPole-v1", SMALL_RF, seed=0, progress=False)
    loaded = pgcourse.load_policy(pgcourse.save_policy(res, tmp_path / "rf.pt"))
    obs = torch.randn(4, 4)
    assert torch.equal(loaded.value_function(obs), res.policy.value_function(obs))


def test_load_policy_rejects_corrupt_foreign_and_wrong_env_files(tmp_path):
    res = train_a2c("CartPole-v1", SMALL_A2C, seed=0, progress=False)
    path = pgcourse.save_policy(res, tmp_path / "a2c.pt")
    with pytest.raises(ValueError, match="trained on 'CartPole-v1', not on 'Pendulum-v1'"):
        pgcourse.load_policy(path, env_id="Pendulum-v1")
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="not a readable pgcourse checkpoint"):
        pgcourse.load_policy(bad)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(2)}, foreign)
    with pytest.raises(ValueError, match="not a pgcourse policy checkpoint"):
        pgcourse.load_policy(foreign)


def test_integer_fields_accept_any_integral_number_and_store_int():
    cfg = PPOConfig(n_envs=np.int64(8), n_steps=np.int32(16), n_epochs=3.0, hidden=(np.int64(32), 16), total_steps=1e4)
    assert (cfg.n_envs, cfg.n_steps, cfg.n_epochs, cfg.hidden, cfg.total_steps) == (8, 16, 3, (32, 16), 10_000)
    assert all(type(v) is int for v in (cfg.n_envs, cfg.n_steps, cfg.n_epochs, *cfg.hidden, cfg.total_steps))
    rf = ReinforceConfig(episodes_per_update=np.int64(2), value_steps=np.uint8(3))
    assert type(rf.episodes_per_update) is int and type(rf.value_steps) is int


def test_numpy_scalars_in_a_config_become_python_values_and_the_checkpoint_loads(tmp_path):
    lr = np.logspace(-4, -2, 3)[1]
    cfg = A2CConfig(n_envs=2, n_steps=8, lr=lr, gamma=np.float32(0.99), shared=np.bool_(False), total_steps=32)
    assert type(cfg.lr) is float and type(cfg.gamma) is float and type(cfg.shared) is bool
    res = train_a2c("CartPole-v1", cfg, seed=0, progress=False)
    loaded = pgcourse.load_policy(pgcourse.save_policy(res, tmp_path / "a2c.pt"), env_id="CartPole-v1")
    assert loaded.checkpoint_info["config"]["lr"] == pytest.approx(1e-3)


def test_save_policy_checks_that_the_file_loads_with_the_safe_loader(tmp_path):
    from dataclasses import dataclass

    @dataclass
    class Foreign:
        schedule: object = None

    res = train_a2c("CartPole-v1", SMALL_A2C, seed=0, progress=False)
    res.config = Foreign(schedule=object())  # pickles, but weights_only=True refuses it
    with pytest.raises(ValueError, match="would not load with torch.load\\(weights_only=True\\)"):
        pgcourse.save_policy(res, tmp_path / "bad.pt")
    assert not (tmp_path / "bad.pt").exists()


@pytest.mark.parametrize(
    "env_id, key, value, message",
    [
        ("CartPole-v1", "obs_dim", 5, "5-dim observations, the environment gives shape \\(4,\\)"),
        ("CartPole-v1", "n_actions", 3, "3 actions, the environment 2"),
        ("Pendulum-v1", "act_dim", 2, "2-dim continuous actions"),
        ("Pendulum-v1", "action_high", [1.0], "clips actions to"),
    ],
)
def test_load_policy_checks_spaces_and_bounds_against_env_id(tmp_path, env_id, key, value, message):
    cfg = PPOConfig(n_envs=1, n_steps=16, n_epochs=1, total_steps=16)
    path = pgcourse.save_policy(train_ppo(env_id, cfg, seed=0, progress=False), tmp_path / "p.pt")
    assert pgcourse.load_policy(path, env_id=env_id) is not None
    payload = torch.load(path, weights_only=True)
    payload["spec"][key] = value
    torch.save(payload, path)
    with pytest.raises(ValueError, match=f"does not fit {env_id}: .*{message}"):
        pgcourse.load_policy(path, env_id=env_id)


def test_evaluate_episode_i_uses_seed_plus_i_whatever_n_episodes():
    res = train_ppo("CartPole-v1", SMALL_PPO, seed=0, progress=False)
    many = pgcourse.evaluate(res.policy, "CartPole-v1", n_episodes=6, seed=7)
    alone = [pgcourse.evaluate(res.policy, "CartPole-v1", n_episodes=1, seed=7 + i)[0] for i in range(6)]
    assert np.array_equal(many, alone)
    assert np.array_equal(pgcourse.evaluate(res.policy, "CartPole-v1", n_episodes=3, seed=7), many[:3])
    assert len(set(many.tolist())) > 1  # the episodes differ, so the comparison means something


def test_stochastic_evaluate_is_reproducible_and_leaves_the_global_rng_alone():
    res = train_ppo("CartPole-v1", SMALL_PPO, seed=0, progress=False)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a = pgcourse.evaluate(res.policy, "CartPole-v1", n_episodes=5, seed=3, deterministic=False)
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(999)  # a different global state changes nothing
    b = pgcourse.evaluate(res.policy, "CartPole-v1", n_episodes=5, seed=3, deterministic=False)
    assert np.array_equal(a, b)
    c = pgcourse.evaluate(res.policy, "CartPole-v1", n_episodes=5, seed=4, deterministic=False)
    assert not np.array_equal(a, c)


def test_ppo_ratio_is_taken_against_the_policy_that_acted_with_obs_normalisation(monkeypatch):
    """π_old's log-probs are those stored at collection (the normaliser moves only after the update): r = 1 at first."""
    from pgcourse.rollout import RolloutCollector

    stored, used, first_ratios = [], [], []
    collect = RolloutCollector.collect

    def recording_collect(self, n_steps):
        buf, finished = collect(self, n_steps)
        stored.append(buf.log_probs[buf.valid].clone())
        return buf, finished

    def recording_update(policy, optimizer, batch, cfg, k):
        used.append(batch.log_probs.clone())
        first_ratios.append(None)
        return ppo_update(policy, optimizer, batch, cfg, k)

    def recording_loss(ratio, adv, eps):
        if first_ratios and first_ratios[-1] is None:
            first_ratios[-1] = ratio.detach().clone()
        return surrogate(ratio, adv, eps)

    ppo_update, surrogate = ppo_module.ppo_update, ppo_module.clipped_surrogate_loss
    monkeypatch.setattr(RolloutCollector, "collect", recording_collect)
    monkeypatch.setattr(ppo_module, "ppo_update", recording_update)
    monkeypatch.setattr(ppo_module, "clipped_surrogate_loss", recording_loss)
    cfg = PPOConfig(n_envs=2, n_steps=50, n_epochs=2, n_minibatches=2, normalize_obs=True, total_steps=300)
    res = train_ppo("Pendulum-v1", cfg, seed=0, progress=False)
    assert len(used) == len(stored) == len(res.history) == 3
    for s, u, r in zip(stored, used, first_ratios):
        assert torch.equal(s, u)  # the behaviour log-probs, exactly as stored
        # first minibatch of the first epoch: π_θ is still π_old, so r = 1 up to float rounding (torch's CPU kernels
        # round differently for the 2-row batches of collection and the 50-row minibatch: ~1 ulp, not bit-exact)
        assert torch.allclose(r, torch.ones_like(r), rtol=0, atol=1e-6)
    assert float(res.policy.obs_norm.count) == pytest.approx(300, abs=1e-3)  # the states actions were taken in


def test_obs_normaliser_sees_reset_states_and_never_terminal_ones():
    cfg = A2CConfig(n_envs=1, n_steps=7, normalize_obs=True, total_steps=21)
    res = train_a2c("pgcourse-test/Terminate5-v0", cfg, seed=0, progress=False)
    norm, n = res.policy.obs_norm, int(res.history[-1]["env_steps"])
    # the states actions were taken in cycle 5, 4, 3, 2, 1 (reset state 5 included, terminal state 0 never)
    seen = [5 - i % 5 for i in range(n)]
    assert float(norm.count) == pytest.approx(n, abs=1e-3)
    assert float(norm.mean[0]) == pytest.approx(np.mean(seen), abs=1e-3)


def test_one_step_actor_critic_trains_and_its_critic_learns():
    """n_steps=1 (the textbook one-step actor-critic): a rollout that is only an autoreset row is skipped."""
    import gymnasium as gym

    cfg = A2CConfig(n_envs=1, n_steps=1, gamma=0.9, total_steps=1000)
    res = train_a2c("CartPole-v1", cfg, seed=0, progress=False)
    assert len(res.history) == 1000 and res.history[-1]["env_steps"] == 1000  # one update per transition
    assert len(res.episodes) > 20 and np.isfinite(res.metric("policy_loss")).all()
    env = gym.make("CartPole-v1")
    starts = torch.as_tensor(np.array([env.reset(seed=i)[0] for i in range(20)]))
    with torch.no_grad():
        v0 = float(res.policy.value(starts).mean())
    # the TD(0) critic climbs from ~0 towards V(s_0) = (1 - 0.9^L) / 0.1 for episodes of L ~ 10-20 steps (<= 10)
    assert 5.0 < v0 < 12.0


@pytest.mark.parametrize(
    "train, env_id, cfg",
    [
        (train_ppo, "CartPole-v1", PPOConfig(n_envs=1, n_steps=1, n_minibatches=1, n_epochs=2, total_steps=60)),
        (train_a2c, "Pendulum-v1", A2CConfig(n_envs=2, n_steps=1, normalize_obs=True, total_steps=450)),
        (train_ppo, "Pendulum-v1", PPOConfig(n_envs=1, n_steps=1, n_minibatches=1, n_epochs=1, total_steps=250)),
    ],
    ids=["ppo-cartpole", "a2c-pendulum", "ppo-pendulum"],
)
def test_rollouts_without_a_valid_row_are_skipped_not_fatal(train, env_id, cfg):
    res = train(env_id, cfg, seed=0, progress=False)  # Pendulum truncates at 200: past it, 1-step rollouts are empty
    assert res.history[-1]["env_steps"] >= cfg.total_steps and res.episodes


@pytest.mark.parametrize("train, cfg", [(train_ppo, SMALL_PPO), (train_a2c, SMALL_A2C)], ids=["ppo", "a2c"])
def test_step_norms_are_the_length_of_each_update_of_actor_and_critic(train, cfg, monkeypatch):
    """actor_step_norm = ‖Δθ‖ and critic_step_norm = ‖Δφ‖ of every update, measured on the parameters."""
    from pgcourse.algorithms import on_policy

    snapshots = []
    from pgcourse.algorithms.a2c import a2c_update

    real_update = ppo_module.ppo_update if train is train_ppo else a2c_update

    def spy(policy, optimizer, batch, config, k):
        a = torch.nn.utils.parameters_to_vector(policy.actor_parameters()).detach().clone()
        c = torch.nn.utils.parameters_to_vector(policy.critic_parameters()).detach().clone()
        out = real_update(policy, optimizer, batch, config, k)
        a2 = torch.nn.utils.parameters_to_vector(policy.actor_parameters()).detach()
        c2 = torch.nn.utils.parameters_to_vector(policy.critic_parameters()).detach()
        snapshots.append((float((a2 - a).norm()), float((c2 - c).norm())))
        return out

    real_run = on_policy.run_on_policy
    monkeypatch.setattr(
        "pgcourse.algorithms.a2c.run_on_policy" if train is train_a2c else "pgcourse.algorithms.ppo.run_on_policy",
        lambda *args: real_run(*args[:7], spy, *args[8:]),
    )
    res = train("CartPole-v1", cfg, seed=0, progress=False)
    got = list(zip(res.metric("actor_step_norm"), res.metric("critic_step_norm")))
    assert len(got) == len(snapshots) > 2
    np.testing.assert_allclose(got, snapshots, rtol=1e-6)
    assert all(a > 0 and c > 0 for a, c in got)


def test_separate_networks_split_the_parameters_and_a_shared_trunk_is_in_both():
    from pgcourse.networks import ActorCritic

    sep = ActorCritic(4, 2, (8, 8), shared=False)
    names = {id(p): n for n, p in sep.named_parameters()}
    actor, critic = {names[id(p)] for p in sep.actor_parameters()}, {names[id(p)] for p in sep.critic_parameters()}
    assert actor.isdisjoint(critic) and actor | critic == set(names.values())
    assert all(n.startswith("policy_head.") for n in actor) and all(n.startswith("value_head.") for n in critic)
    sh = ActorCritic(4, 2, (8, 8), shared=True)
    names = {id(p): n for n, p in sh.named_parameters()}
    both = {names[id(p)] for p in sh.actor_parameters()} & {names[id(p)] for p in sh.critic_parameters()}
    assert both == {n for n in names.values() if n.startswith("trunk.")} and both


def test_with_separate_networks_and_no_clip_vf_coef_is_normalised_away_by_adam(monkeypatch):
    """Adam's step lr·m̂/(√v̂+ε) does not see a constant gradient scale: with ε → 0 and no clip,
    the critic (and so the whole run) is the same for c_v = 0.05 and 5; with the clip it is not."""
    from pgcourse.algorithms import on_policy

    monkeypatch.setattr(on_policy, "make_adam", lambda params, lr: torch.optim.Adam(list(params), lr=lr, eps=1e-12))
    runs = {
        (cv, clip): train_a2c("CartPole-v1", A2CConfig(n_envs=2, vf_coef=cv, max_grad_norm=clip), 0, 400, False)
        for cv in (0.05, 5.0)
        for clip in (1e9, 0.5)
    }
    steps = {k: r.metric("critic_step_norm") for k, r in runs.items()}
    np.testing.assert_allclose(steps[(0.05, 1e9)], steps[(5.0, 1e9)], rtol=1e-4)
    np.testing.assert_allclose(runs[(0.05, 1e9)].metric("value_loss"), runs[(5.0, 1e9)].metric("value_loss"), rtol=1e-4)
    assert not np.allclose(steps[(0.05, 0.5)], steps[(5.0, 0.5)], rtol=1e-3)  # the global clip couples them
    grad = {k: np.median(r.metric("grad_norm")) for k, r in runs.items()}
    assert grad[(5.0, 1e9)] > 20 * grad[(0.05, 1e9)]  # the gradient grows with c_v; the step does not


def test_init_policy_continues_from_a_copy_and_rejects_another_architecture():
    first = train_ppo("CartPole-v1", SMALL_PPO, seed=0, progress=False)
    weights = {k: v.clone() for k, v in first.policy.state_dict().items()}
    one_update = PPOConfig(n_envs=2, n_steps=64, n_epochs=1, lr=1e-9, anneal_lr=False, total_steps=128)
    cont = train_ppo("CartPole-v1", one_update, seed=1, progress=False, init_policy=first.policy)
    for k, v in first.policy.state_dict().items():
        assert torch.equal(v, weights[k])  # the source is not touched
        assert torch.allclose(cont.policy.state_dict()[k], v, atol=1e-6)  # a tiny lr: the copy barely moved
    fresh = train_ppo("CartPole-v1", one_update, seed=1, progress=False)
    assert not torch.allclose(fresh.policy.policy_head[0].weight, cont.policy.policy_head[0].weight)
    with pytest.raises(ValueError, match="init_policy"):
        train_a2c("CartPole-v1", A2CConfig(hidden=(16,), total_steps=64), progress=False, init_policy=first.policy)
