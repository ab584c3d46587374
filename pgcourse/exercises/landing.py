r"""Notebook 11 (capstone): the landing mission — judge the lander the learner trained, and say how far from 200.

The mission (:data:`LANDING`): train PPO on ``LunarLander-v3`` with at most ``budget`` environment steps so that
its greedy policy scores a mean return of at least ``target`` (gymnasium's ``reward_threshold``, 200) over
``n_episodes`` fresh episodes. The judge's episodes start from ``reset(seed=seed + i)`` with its own ``seed``
(20 000), not the 10 000 of :class:`pgcourse.evaluation.EvalCallback`, so a run stopped at a lucky evaluation is
judged on new starts:

.. math:: \bar G = \frac{1}{n} \sum_{i=1}^{n} G^{(i)}, \qquad \text{passed} \iff \bar G \ge 200
          \ \text{and the run kept to the budget (}\texttt{within\_budget}\text{).}

Unlike the other checkers, ``check_landing`` takes what the learner *trained* (the :class:`TrainResult` of
``train_ppo``, whose history proves the budget), not a function. Wrong inputs get a clear verdict, never an
exception: nothing trained yet (``None``, a stub function), a run with no update, the wrong environment, a policy
of the wrong action space, a bare policy (judged, but its budget cannot be checked).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from pgcourse._checks import count
from pgcourse.algorithms.common import TrainResult
from pgcourse.checkpoint import _misfits
from pgcourse.evaluation import evaluate
from pgcourse.exercises.engine import CheckResult
from pgcourse.learner import record_pass

__all__ = ["Mission", "LANDING", "check_landing", "within_budget"]

NAME = "landing"


@dataclass(frozen=True)
class Mission:
    """What the landing check asks for: ``env_id``, at most ``budget`` env steps, a mean of ``target`` or more."""

    env_id: str = "LunarLander-v3"
    budget: int = 300_000
    target: float = 200.0
    n_episodes: int = 20
    seed: int = 20_000

    def __post_init__(self) -> None:
        for name in ("budget", "n_episodes"):
            value = getattr(self, name)
            if not isinstance(value, (int, float, np.integer, np.floating)):
                raise ValueError(f"Mission.{name}={value!r} is outside the allowed range [1, inf) (an integer)")
            object.__setattr__(self, name, count(value, f"Mission.{name}"))
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"Mission.seed={self.seed!r} must be an integer >= 0")
        if not isinstance(self.target, (int, float, np.floating)) or not math.isfinite(self.target):
            raise ValueError(f"Mission.target={self.target!r} must be a finite number")
        try:
            gym.spec(self.env_id)
        except gym.error.Error as err:
            raise ValueError(f"Mission.env_id={self.env_id!r} is not a registered environment: {err}") from None


#: The capstone's mission: gymnasium's "solved" mark for LunarLander-v3 within 300 000 steps.
LANDING = Mission(target=float(gym.spec("LunarLander-v3").reward_threshold))


def _verdict(passed: bool, message: str, hint: str | None = None, details: str | None = None) -> CheckResult:
    if passed:
        record_pass("exercise", NAME)
    return CheckResult(NAME, passed, message, hint=hint, details=details)


def _spaces(env_id: str) -> tuple[gym.Space, gym.Space]:
    env = gym.make(env_id)
    try:
        return env.observation_space, env.action_space
    finally:
        env.close()


def _misfit(policy: Any, mission: Mission) -> str | None:
    """Why ``policy`` cannot play ``mission.env_id`` (None: it can)."""
    if not (callable(getattr(policy, "act", None)) and callable(getattr(policy, "env_action", None))):
        return (
            f"{type(policy).__name__} is not a pgcourse policy (it needs .act and .env_action); "
            "pass the result of train_ppo"
        )
    spec = getattr(policy, "spec", None)
    if isinstance(spec, dict) and "kind" in spec:
        problems = _misfits(spec, *_spaces(mission.env_id))
        if problems:
            return f"this policy does not fit {mission.env_id}: " + "; ".join(problems)
    return None


def within_budget(run: TrainResult, budget: int) -> bool:
    """Did ``run`` keep to ``budget`` env steps? Yes if it used at most that many — or if its last rollout began
    before the budget was spent and was one rollout (``n_envs × n_steps`` of its config) long.

    A trainer asked for ``total_steps=budget`` starts rollouts while fewer steps were collected, so it finishes the
    rollout it started: ``train_ppo(..., total_steps=300_000)`` with 8192-step rollouts ends a little past 300 000.
    """
    steps = int(run.history[-1]["env_steps"])
    if steps <= budget:
        return True
    rollout = getattr(run.config, "n_envs", 0) * getattr(run.config, "n_steps", 0)
    began = int(run.history[-2]["env_steps"]) if len(run.history) > 1 else 0
    return began < budget and steps - began <= rollout


def check_landing(run: Any, mission: Mission = LANDING) -> CheckResult:
    r"""Judge a trained lander: the mean return of its greedy policy on ``mission.n_episodes`` fresh episodes.

    ``run`` is the :class:`TrainResult` of ``train_ppo(mission.env_id, ...)``. Passed when
    :math:`\bar G \ge` ``mission.target`` and the run used at most ``mission.budget`` env steps; otherwise the
    verdict says how far from the target the policy is (and by how much the budget was exceeded). A bare policy
    is judged too, but cannot pass: only a run's history shows its budget.
    """
    if run is None:
        return _verdict(
            False,
            "Nothing trained yet: the run is None.",
            hint=f'Train with run = train_ppo("{mission.env_id}", config, total_steps=...) and pass run.',
        )
    if callable(run) and not hasattr(run, "act"):
        return _verdict(
            False,
            "check_landing expects what you trained (the result of train_ppo), not a function.",
            hint="Run the training cell, then pass its result: check_landing(run).",
        )
    policy = run.policy if isinstance(run, TrainResult) else run
    if isinstance(run, TrainResult) and run.env_id != mission.env_id:
        hint = f'Train on "{mission.env_id}" itself: train_ppo("{mission.env_id}", ...).'
        if run.env_id == "LunarLanderContinuous-v3":
            hint = f"The continuous lander is the take-home of section 6; the mission is {mission.env_id}'s. " + hint
        return _verdict(False, f"This run trained on {run.env_id}; the mission is {mission.env_id}.", hint=hint)
    misfit = _misfit(policy, mission)
    if misfit is not None:
        obs_space, act_space = _spaces(mission.env_id)
        return _verdict(
            False,
            f"Wrong policy: {misfit}.",
            hint=f"{mission.env_id} has observations of shape {obs_space.shape} and the actions {act_space}: "
            f'train_ppo builds the right policy from the environment, train_ppo("{mission.env_id}", ...).',
        )
    steps = None
    if isinstance(run, TrainResult):
        if not run.history:
            return _verdict(
                False,
                "This run made no update: its policy is untrained.",
                hint="Give it a budget of at least one rollout (n_envs × n_steps environment steps).",
            )
        steps = int(run.history[-1]["env_steps"])
    try:
        returns = evaluate(policy, mission.env_id, mission.n_episodes, seed=mission.seed)
    except Exception as err:  # a hand-made policy that cannot play: a verdict, not a traceback
        text = " ".join(str(err).split())[:300]
        return _verdict(
            False,
            f"Your policy raised {type(err).__name__} while playing {mission.env_id}: {text}",
            hint=f'Train it with train_ppo("{mission.env_id}", ...): its policy plays that environment.',
        )
    mean, std = float(returns.mean()), float(returns.std())
    judged = (
        f"mean return {mean:.1f} ± {std:.1f} (std) over {mission.n_episodes} fresh greedy episodes "
        f"(seeds {mission.seed}–{mission.seed + mission.n_episodes - 1}); mean − std = {mean - std:.1f}"
    )
    short = mission.target - mean
    score = f"{-short:.1f} above {mission.target:g}" if short <= 0 else f"{short:.1f} short of {mission.target:g}"
    if steps is None:
        return _verdict(
            False,
            f"Judged this policy: {judged} — {score}. Its budget cannot be checked from a bare policy.",
            hint="Pass the result of train_ppo (run, not run.policy): its history shows how many steps it used.",
        )
    used = f"{steps:,} env steps used of a budget of {mission.budget:,}"
    if steps > mission.budget and within_budget(run, mission.budget):
        used += " (the last rollout began within the budget)"
    if not within_budget(run, mission.budget):
        return _verdict(
            False,
            f"Over budget: {used} ({steps - mission.budget:,} too many). The policy: {judged} — {score}.",
            hint=f"Pass total_steps={mission.budget:,} (or fewer) to train_ppo, or stop early with "
            "EvalCallback(..., stop_at=200) — though runs stopped that way scored below 200 on the judge's episodes "
            "(benchmarks/results/mission.json).",
        )
    if short > 0:
        return _verdict(
            False,
            f"Not landed yet: {judged} — {score}; {used}.",
            hint="Look at the learning curve and the health report of your run: is it still climbing when the "
            "budget ends (a faster schedule: more updates per step, a larger lr), or stuck (entropy, KL)?",
        )
    note = " (the run was interrupted)" if run.interrupted else ""
    return _verdict(True, f"Landed: {judged} — {score}; {used}{note}.")
