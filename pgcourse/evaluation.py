"""Judging a policy on the true objective: the undiscounted, unscaled episode return."""

from __future__ import annotations

import math
import time

import gymnasium as gym
import numpy as np
import torch

from pgcourse._threads import torch_threads
from pgcourse.algorithms.common import StopTraining
from pgcourse.rollout import collect_episodes

__all__ = ["evaluate", "EvalCallback"]


def evaluate(
    policy: torch.nn.Module, env_id: str, n_episodes: int = 10, seed: int = 0, deterministic: bool = True
) -> np.ndarray:
    """Returns of ``n_episodes`` fresh episodes played side by side; episode ``i`` starts at ``reset(seed=seed + i)``.

    Episode ``i`` is the same start state whatever ``n_episodes`` is (one sub-environment
    per episode, each seeded alone). ``deterministic=True`` takes the mode (categorical)
    or the mean (Gaussian) action; ``deterministic=False`` samples with torch's RNG seeded
    from ``seed`` inside a fork, so it is reproducible and the caller's global RNG state is
    left untouched. The policy is put in eval mode; observation-normalisation statistics
    stay frozen (only trainers update them), so this sees exactly what training saw.
    """
    if isinstance(n_episodes, bool) or not isinstance(n_episodes, (int, np.integer)) or n_episodes < 1:
        raise ValueError(f"n_episodes={n_episodes} is outside the allowed range [1, inf) (an integer)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be an integer >= 0")
    try:
        spec = gym.spec(env_id)
    except gym.error.Error as err:
        raise ValueError(f"unknown environment id {env_id!r}: {err}") from None
    # sync: sub-env i is reset with seed + i on its own (a numpy-vectorised env shares one RNG across the batch)
    envs = gym.make_vec(spec.id, num_envs=int(n_episodes), vectorization_mode="sync")
    was_training = policy.training
    policy.eval()
    try:
        with torch_threads(1), torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            return collect_episodes(envs, policy, seed=int(seed), deterministic=deterministic).returns
    finally:
        policy.train(was_training)
        envs.close()


class EvalCallback:
    r"""Evaluate the policy *while it trains*: every ``every`` env steps, :func:`evaluate` on ``n_episodes``.

    Pass it in ``callbacks=[...]`` to ``train_ppo``/``train_a2c``/``train_reinforce``. Each
    evaluation appends ``{"env_steps", "mean", "std", "train_seconds", "seconds"}`` to
    :attr:`evals`, where ``train_seconds`` is the run's wall time *without* the time spent
    evaluating (so a time-to-target is the trainer's, not the judge's) and ``seconds`` the
    time this evaluation took. Evaluations start once the running
    mean of training returns reaches ``start_at`` (cheap runs need not judge a policy that
    obviously fails). With ``stop_at``, training ends at the first evaluation whose mean
    reaches it. The episodes start from ``reset(seed=seed + i)``, the same states every time.
    """

    def __init__(
        self,
        env_id: str,
        every: int,
        n_episodes: int = 20,
        seed: int = 10_000,
        start_at: float = -math.inf,
        stop_at: float | None = None,
        deterministic: bool = True,
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"EvalCallback every={every!r} is outside the allowed range [1, inf) (env steps)")
        self.env_id, self.every, self.n_episodes, self.seed = env_id, int(every), n_episodes, seed
        self.start_at, self.stop_at, self.deterministic = start_at, stop_at, deterministic
        self.evals: list[dict[str, float]] = []
        self.result = None
        self._eval_seconds = 0.0
        self._next = self.every

    def on_start(self, result) -> None:
        """Bind the run being trained (called by the trainer before its first update)."""
        self.result, self.evals, self._eval_seconds, self._next = result, [], 0.0, self.every

    def __call__(self, record: dict[str, float]) -> None:
        if self.result is None:
            raise RuntimeError("EvalCallback was called before on_start: pass it to a trainer's callbacks")
        if record["env_steps"] < self._next or not record["mean_return"] >= self.start_at:
            return
        start = time.perf_counter()
        returns = evaluate(self.result.policy, self.env_id, self.n_episodes, self.seed, self.deterministic)
        self.result.policy.train()
        self.evals.append(
            {
                "env_steps": float(record["env_steps"]),
                "mean": float(returns.mean()),
                "std": float(returns.std()),
                "train_seconds": float(record["time"] - self._eval_seconds),
                "seconds": time.perf_counter() - start,
            }
        )
        self._eval_seconds += self.evals[-1]["seconds"]
        self._next = int(record["env_steps"]) + self.every
        if self.stop_at is not None and returns.mean() >= self.stop_at:
            raise StopTraining(f"evaluation mean {returns.mean():.1f} >= {self.stop_at}")

    def first(self, target: float) -> dict[str, float] | None:
        """The first evaluation whose mean reached ``target`` (None if none did)."""
        return next((e for e in self.evals if e["mean"] >= target), None)
