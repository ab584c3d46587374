"""EvalCallback: evaluates the very policy being trained, on schedule, and keeps its own time out of the clock."""

import time

import numpy as np
import pytest

import pgcourse
from pgcourse.algorithms import PPOConfig, train_a2c, train_ppo
from pgcourse.evaluation import EvalCallback

CFG = PPOConfig(total_steps=2_048)  # 8 envs x 32 steps = 256 per update: 8 updates


def test_evaluates_every_n_steps_the_policy_being_trained():
    ev = EvalCallback("CartPole-v1", every=512, n_episodes=3, seed=7)
    res = train_ppo("CartPole-v1", CFG, seed=0, progress=False, callbacks=[ev])
    steps = [e["env_steps"] for e in ev.evals]
    expected, due = [], 512  # the first record at or past each due step, then due = that step + 512
    for s in res.metric("env_steps"):
        if s >= due:
            expected.append(s)
            due = s + 512
    assert steps == expected and len(steps) >= 3
    # the last evaluation judged the final policy: evaluating it again gives the same returns
    again = pgcourse.evaluate(res.policy, "CartPole-v1", 3, seed=7)
    assert ev.evals[-1]["env_steps"] == res.history[-1]["env_steps"]
    assert ev.evals[-1]["mean"] == pytest.approx(again.mean()) and ev.evals[-1]["std"] == pytest.approx(again.std())
    assert res.policy.training is False  # the trainer's own eval() at the end, not left in train mode mid-run


def test_evaluation_time_is_kept_out_of_train_seconds(monkeypatch):
    import pgcourse.evaluation as evaluation

    real = evaluation.evaluate

    def slow(*args, **kwargs):
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate", slow)
    ev = EvalCallback("CartPole-v1", every=256, n_episodes=2)
    res = train_ppo("CartPole-v1", CFG, seed=0, progress=False, callbacks=[ev])
    spent = np.array([e["seconds"] for e in ev.evals])
    assert (spent >= 0.3).all()
    # train_seconds of the k-th evaluation = the record's time minus the k-1 evaluations before it
    times = dict(zip(res.metric("env_steps"), res.metric("time")))
    for k, e in enumerate(ev.evals):
        assert e["train_seconds"] == pytest.approx(times[e["env_steps"]] - spent[:k].sum())
    assert ev.evals[-1]["train_seconds"] < res.history[-1]["time"] - 0.3 * (len(spent) - 1) + 1e-9


def test_start_at_and_stop_at():
    never = EvalCallback("CartPole-v1", every=256, n_episodes=2, start_at=1e9)
    train_ppo("CartPole-v1", CFG, seed=0, progress=False, callbacks=[never])
    assert never.evals == [] and never.first(0.0) is None
    stop = EvalCallback("CartPole-v1", every=256, n_episodes=2, stop_at=-1.0)  # the first evaluation stops it
    res = train_a2c("CartPole-v1", seed=0, total_steps=5_000, progress=False, callbacks=[stop])
    assert len(stop.evals) == 1 and res.history[-1]["env_steps"] == stop.evals[0]["env_steps"] < 5_000
    assert "evaluation mean" in res.note and stop.first(-1.0) is stop.evals[0]


def test_bad_input_and_misuse():
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match=r"every=.* outside the allowed range \[1, inf\)"):
            EvalCallback("CartPole-v1", every=bad)
    with pytest.raises(RuntimeError, match="before on_start"):
        EvalCallback("CartPole-v1", every=1)({"env_steps": 10.0, "mean_return": 0.0, "time": 0.0})
