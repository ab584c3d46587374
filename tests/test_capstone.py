"""Notebook 11's package side: the landing checker, the README benchmark table, gymnasium's docs, RandomPolicy.

The checker is tested on hand-built policies, never on a long training run: gymnasium's own heuristic lander
(which lands) and an untrained network (which does not).
"""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.envs.box2d.lunar_lander import heuristic

import pgcourse
from pgcourse import demos
from pgcourse.algorithms.common import TrainResult
from pgcourse.exercises import LANDING, MISSIONS, CheckResult, Mission, check_landing
from pgcourse.networks import ActorCritic, GaussianActorCritic, RandomPolicy

LUNAR = "LunarLander-v3"


class HeuristicLander(torch.nn.Module):
    """Gymnasium's hand-written controller behind the policy interface (it lands: mean 266 on the judge's seeds)."""

    spec = {"kind": "actor_critic", "obs_dim": 8, "n_actions": 4}

    def __init__(self) -> None:
        super().__init__()
        self.env = gym.make(LUNAR)  # heuristic() only reads env.unwrapped.continuous

    def act(self, obs: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
        return torch.tensor([heuristic(self.env, o) for o in np.asarray(obs)])

    def env_action(self, actions: torch.Tensor) -> np.ndarray:
        return actions.numpy()


def run_of(policy, env_id: str = LUNAR, steps: int | None = 200_000, interrupted: bool = False) -> TrainResult:
    history = [] if steps is None else [{"update": 1.0, "env_steps": float(steps)}]
    return TrainResult(policy, None, 0, env_id, history=history, interrupted=interrupted)


def untrained_lander() -> ActorCritic:
    torch.manual_seed(0)
    return ActorCritic(8, 4)


# ---------------------------------------------------------------- check_landing


def test_the_mission_is_gymnasiums_mark_on_lunarlander_and_is_recorded_as_an_exercise():
    assert LANDING.env_id == LUNAR and LANDING.target == gym.spec(LUNAR).reward_threshold == 200
    assert LANDING.budget < 500_000 and LANDING.seed != 10_000  # less than the preset's, other starts than EvalCallback
    assert MISSIONS == {"landing": LANDING}
    assert ("exercise", "landing") in {(i.kind, i.name) for i in pgcourse.progress().items}


def test_a_landing_run_within_budget_passes_and_is_recorded(_progress_file):
    result = check_landing(run_of(HeuristicLander(), steps=LANDING.budget))
    assert isinstance(result, CheckResult) and result.passed, result
    mean = pgcourse.evaluate(HeuristicLander(), LUNAR, LANDING.n_episodes, seed=LANDING.seed).mean()
    assert mean >= 200 and f"{mean - 200:.1f} above 200" in result.message
    assert f"{LANDING.budget:,} env steps used" in result.message and "mean − std" in result.message
    assert "exercise:landing" in json.loads(_progress_file.read_text())["passed"]


def test_an_untrained_policy_is_told_how_far_from_200_it_is(_progress_file):
    result = check_landing(run_of(untrained_lander(), steps=10_000))
    assert not result.passed and "Not landed yet" in result.message
    mean = pgcourse.evaluate(untrained_lander(), LUNAR, LANDING.n_episodes, seed=LANDING.seed).mean()
    assert mean < 200 and f"{200 - mean:.1f} short of 200" in result.message
    assert not _progress_file.exists()  # a failed check records nothing


def test_over_budget_fails_even_when_it_lands():
    result = check_landing(run_of(HeuristicLander(), steps=LANDING.budget + 2048))
    assert not result.passed and "Over budget" in result.message and "2,048 too many" in result.message
    assert "above 200" in result.message and "total_steps" in result.hint


def test_the_last_rollout_may_end_past_the_budget_if_it_began_within_it():
    from pgcourse.algorithms.ppo import PRESETS
    from pgcourse.exercises.landing import within_budget

    preset = PRESETS[LUNAR]
    rollout = preset.n_envs * preset.n_steps
    budget = LANDING.budget
    began = (budget // rollout) * rollout  # the last rollout a trainer asked for total_steps=budget starts

    def run(*steps):
        return TrainResult(HeuristicLander(), preset, 0, LUNAR, history=[{"env_steps": float(s)} for s in steps])

    assert within_budget(run(began - rollout, began, began + rollout), budget) and began + rollout > budget
    assert not within_budget(run(began + rollout, began + 2 * rollout), budget)  # began after the budget
    assert not within_budget(run(began, budget + rollout + 1), budget)  # longer than one rollout
    assert within_budget(run(budget), budget) and not within_budget(run(budget + 1), budget)  # one record
    result = check_landing(run(began, began + rollout))
    assert result.passed and "the last rollout began within the budget" in result.message


@pytest.mark.parametrize(
    "run, phrase",
    [
        (None, "Nothing trained yet"),
        (lambda: None, "not a function"),
        ("my_run", "not a pgcourse policy"),
        (run_of(untrained_lander(), steps=None), "made no update"),
    ],
    ids=["none", "stub-function", "not-a-policy", "no-update"],
)
def test_nothing_trained_is_a_clear_verdict_not_an_exception(run, phrase):
    result = check_landing(run)
    assert not result.passed and phrase in result.message and result.hint


def test_a_stub_function_is_not_called():
    def my_run():
        raise NotImplementedError

    result = check_landing(my_run)
    assert not result.passed and "not a function" in result.message


def test_the_wrong_environment_is_named():
    result = check_landing(run_of(ActorCritic(4, 2), env_id="CartPole-v1"))
    assert not result.passed and "CartPole-v1" in result.message and LUNAR in result.message
    continuous = check_landing(run_of(GaussianActorCritic(8, 2, [-1, -1], [1, 1]), env_id="LunarLanderContinuous-v3"))
    assert not continuous.passed and "take-home" in continuous.hint


@pytest.mark.parametrize(
    "policy, phrase",
    [
        (GaussianActorCritic(8, 2, [-1.0, -1.0], [1.0, 1.0]), "continuous actions"),
        (ActorCritic(8, 2), "the policy has 2 actions, the environment 4"),
        (ActorCritic(4, 4), "expects 4-dim observations, the environment gives shape (8,)"),
    ],
    ids=["gaussian", "two-actions", "cartpole-sized-input"],
)
def test_a_policy_of_the_wrong_spaces_is_rejected_before_playing(policy, phrase):
    result = check_landing(run_of(policy))
    assert not result.passed and result.message.startswith("Wrong policy") and phrase in result.message
    assert "shape (8,)" in result.hint and "Discrete(4)" in result.hint


def test_a_policy_that_crashes_while_playing_is_a_verdict_not_an_exception():
    class Broken(HeuristicLander):
        spec = None  # no spec: the fit check cannot look, so it plays

        def act(self, obs, deterministic=False):
            raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    result = check_landing(run_of(Broken()))
    assert not result.passed and "raised RuntimeError while playing LunarLander-v3" in result.message


def test_a_bare_policy_is_judged_but_cannot_pass():
    result = check_landing(HeuristicLander())
    assert not result.passed and "above 200" in result.message and "cannot be checked" in result.message
    assert "run.policy" in result.hint


def test_an_interrupted_run_that_lands_passes_with_a_note():
    result = check_landing(run_of(HeuristicLander(), steps=50_000, interrupted=True))
    assert result.passed and "interrupted" in result.message


def test_a_custom_mission_changes_the_judge():
    easy = Mission(budget=1000, target=-1000.0, n_episodes=2, seed=3)
    assert check_landing(run_of(untrained_lander(), steps=1000), easy).passed
    assert not check_landing(run_of(untrained_lander(), steps=1001), easy).passed


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"budget": 0}, r"Mission.budget=0 is outside the allowed range \[1, inf\)"),
        ({"budget": 1.5}, "Mission.budget=1.5"),
        ({"budget": "many"}, "Mission.budget='many'"),
        ({"n_episodes": 0}, "Mission.n_episodes=0"),
        ({"seed": -1}, "Mission.seed=-1"),
        ({"target": float("nan")}, "Mission.target=nan"),
        ({"env_id": "NoSuchEnv-v0"}, "NoSuchEnv-v0"),
    ],
)
def test_a_bad_mission_is_a_clear_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Mission(**kwargs)


# ---------------------------------------------------------------- the README's benchmark table, gymnasium's docs

README = """# pgcourse

## How fast it trains

<!-- bench_lunar: LunarLander-v3 -->
| run | seeds at 200 |
|---|---:|
| ours | 9 of 10 |
<!-- /bench_lunar -->

<!-- bench_lunar: LunarLanderContinuous-v3 -->
| run | seeds at 200 |
|---|---:|
| ours, continuous | 8 of 10 |
<!-- /bench_lunar -->
"""


def test_benchmark_table_returns_its_own_section(tmp_path):
    path = tmp_path / "README.md"
    path.write_text(README)
    discrete = demos.benchmark_table(LUNAR, path)
    continuous = demos.benchmark_table("LunarLanderContinuous-v3", path)
    assert discrete.found and continuous.found
    assert discrete.markdown == "| run | seeds at 200 |\n|---|---:|\n| ours | 9 of 10 |"
    assert "continuous" in continuous.markdown and "9 of 10" not in continuous.markdown
    assert continuous._repr_markdown_() == str(continuous) == continuous.markdown


def test_benchmark_table_without_markers_says_what_is_missing(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("# pgcourse\n\nno table yet\n<!-- bench_lunar: LunarLander-v3 -->\n| unterminated |\n")
    for env_id in ("LunarLanderContinuous-v3", LUNAR):  # no start marker; a start marker without its end
        section = demos.benchmark_table(env_id, path)
        assert not section.found
        assert f"<!-- bench_lunar: {env_id} -->" in section.markdown and "<!-- /bench_lunar -->" in section.markdown
        assert "benchmarks/bench_lunar.py" in section.markdown


def test_benchmark_table_without_a_readme_explains_the_install(tmp_path):
    section = demos.benchmark_table(LUNAR, tmp_path / "site-packages" / "README.md")
    assert not section.found and "not found" in section.markdown and "non-editable" in section.markdown


def test_the_readme_is_looked_for_beside_the_package():
    from pgcourse.demos.capstone import repo_readme

    assert repo_readme().name == "README.md"
    assert repo_readme().is_file() and "pgcourse" in repo_readme().read_text()  # this checkout
    assert (repo_readme().parent / "pgcourse" / "__init__.py").is_file()


def test_env_doc_section_is_gymnasiums_own_text():
    rewards = demos.env_doc_section(LUNAR, "Rewards")
    assert "at least 200 points" in rewards and not rewards.startswith("##")
    assert "- 2: fire main engine" in demos.env_doc_section(LUNAR, "Action Space")
    with pytest.raises(ValueError, match="no section 'Nope'.*'Rewards'"):
        demos.env_doc_section(LUNAR, "Nope")
    with pytest.raises(ValueError, match="NoSuchEnv-v0"):
        demos.env_doc_section("NoSuchEnv-v0", "Rewards")


# ---------------------------------------------------------------- RandomPolicy


def test_random_policy_samples_every_discrete_action_even_when_deterministic():
    policy = RandomPolicy(gym.spaces.Discrete(4))
    torch.manual_seed(0)
    actions = policy.act(torch.zeros(4000, 8), deterministic=True)
    counts = torch.bincount(actions, minlength=4).numpy()
    assert counts.sum() == 4000 and np.all(np.abs(counts / 4000 - 0.25) < 0.03)
    assert not policy.has_critic and list(policy.parameters()) == []


def test_random_policy_stays_inside_a_box_and_rejects_other_spaces():
    box = gym.spaces.Box(np.array([-1.0, 0.0], dtype=np.float32), np.array([1.0, 3.0], dtype=np.float32))
    actions = RandomPolicy(box).act(torch.zeros(1000, 8))
    assert actions.shape == (1000, 2)
    assert (actions[:, 0] >= -1).all() and (actions[:, 0] <= 1).all() and actions[:, 1].max() > 2.5
    with pytest.raises(ValueError, match="bounded Box"):
        RandomPolicy(gym.spaces.Box(-np.inf, np.inf, (2,)))
    with pytest.raises(ValueError, match="Discrete or a 1-D Box"):
        RandomPolicy(gym.spaces.MultiDiscrete([2, 3]))


def test_random_lander_evaluation_is_seeded_and_below_zero():
    policy = RandomPolicy(gym.make(LUNAR).action_space)
    a = pgcourse.evaluate(policy, LUNAR, 5, seed=10_000)
    b = pgcourse.evaluate(policy, LUNAR, 5, seed=10_000)
    c = pgcourse.evaluate(policy, LUNAR, 5, seed=10_005)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.mean() < 0
