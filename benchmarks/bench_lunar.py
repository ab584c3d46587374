"""LunarLander: does our preset land reliably, and how fast, next to Stable-Baselines3 with rl-zoo's settings?

For every run we report, from the run itself:
  rm200      env steps and wall seconds until the running mean of the last 20 training
             episodes first reaches 200;
  eval200    env steps and wall seconds until a deterministic evaluation (mean of 20 fresh
             episodes, reset(seed=10_000 + i), the same judge for every row) first reaches 200.
             The policy is evaluated every 16,384 env steps (2 of our rollouts, 1 of SB3's)
             once the running mean reaches 150; evaluation time is *not* counted in the seconds;
  final      that evaluation of the policy at the end of the run: mean, std and mean - std.

Ours runs to the preset's budget (500k steps discrete, 1M continuous). SB3 gets the zoo's 1M
steps and stops early once both marks are reached (to save an hour; the marks are all it is
compared on, so its "final" is the evaluation at the stop). Runs go ``--jobs`` at a time (2 =
both cores), each process with torch on one thread, ours and SB3 drawn from the same queue,
so every row shares the machine under the same conditions.

    make bench                                     # installs stable-baselines3 (the bench extra), runs this too
    .venv/bin/python benchmarks/bench_lunar.py --seeds 10 --sb3-seeds 3
    .venv/bin/python benchmarks/bench_lunar.py --env LunarLanderContinuous-v3 --no-sb3

Rows:
  ours PPO (preset)   train_ppo(env_id) with PRESETS[env_id]
  SB3 PPO (zoo)       stable-baselines3 PPO, rl-zoo's LunarLander settings: 16 envs x 1024 steps, batch 64,
                      4 epochs, gamma 0.999, lambda 0.98, entropy 0.01 (other settings SB3's defaults)
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np
import torch
from joblib import Parallel, delayed

MARK, EVERY, START_AT, EVAL_EPISODES = 200.0, 16_384, 150.0, 20
ENVS = ("LunarLander-v3", "LunarLanderContinuous-v3")


@dataclass
class Run:
    name: str
    env_id: str
    seed: int
    rm_steps: float  # env steps until the running mean (20 episodes) first reached 200 (inf if never)
    rm_seconds: float
    eval_steps: float  # env steps until an evaluation first reached 200 (inf if never)
    eval_seconds: float
    final_mean: float
    final_std: float
    steps: float  # env steps the run took
    seconds: float  # its wall seconds without evaluation


def _first_running_mean(returns: np.ndarray, steps: np.ndarray, times: np.ndarray) -> tuple[float, float]:
    """Step and time of the first episode after which the mean of the last 20 returns is >= MARK."""
    c = np.cumsum(np.insert(returns, 0, 0.0))
    idx = np.arange(1, len(returns) + 1)
    lo = np.maximum(idx - 20, 0)
    hit = np.nonzero(((c[idx] - c[lo]) / (idx - lo) >= MARK) & (idx >= 20))[0]
    return (float(steps[hit[0]]), float(times[hit[0]])) if len(hit) else (np.inf, np.inf)


def ours(env_id: str, seed: int, overrides: dict | None = None) -> Run:
    from dataclasses import replace

    from pgcourse.algorithms import PRESETS, train_ppo
    from pgcourse.evaluation import EvalCallback, evaluate

    ev = EvalCallback(env_id, every=EVERY, n_episodes=EVAL_EPISODES, start_at=START_AT)
    config = replace(PRESETS[env_id], **(overrides or {}))
    res = train_ppo(env_id, config, seed=seed, progress=False, callbacks=[ev])
    # wall time of each episode's end, evaluation excluded: interpolated between the updates' records
    ep_steps = res.episode_steps()
    upd_steps = res.metric("env_steps")
    spent = _eval_seconds_before(ev, upd_steps)
    times = np.interp(ep_steps, upd_steps, res.metric("time") - spent)
    rm_steps, rm_seconds = _first_running_mean(res.episode_returns(), ep_steps, times)
    first = ev.first(MARK)
    final = evaluate(res.policy, env_id, EVAL_EPISODES, seed=10_000)
    last = res.history[-1]
    changed = "".join(f", {k}={v}" for k, v in (overrides or {}).items())
    return Run(
        f"ours PPO (preset{changed}, {config.total_steps // 1000}k)",
        env_id,
        seed,
        rm_steps,
        rm_seconds,
        first["env_steps"] if first else np.inf,
        first["train_seconds"] if first else np.inf,
        float(final.mean()),
        float(final.std()),
        last["env_steps"],
        last["time"] - spent[-1],
    )


def _eval_seconds_before(ev, upd_steps: np.ndarray) -> np.ndarray:
    """Seconds spent evaluating before each update's record (the evaluation at a step runs after its record)."""
    out = np.zeros(len(upd_steps))
    for e in ev.evals:
        out[upd_steps > e["env_steps"]] += e["seconds"]
    return out


def sb3(env_id: str, seed: int, budget: int = 1_000_000) -> Run:
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    from pgcourse.evaluation import evaluate

    torch.set_num_threads(1)

    class Judge(torch.nn.Module):
        """SB3's policy behind the interface :func:`pgcourse.evaluation.evaluate` plays (act, env_action)."""

        def __init__(self, model: PPO) -> None:
            super().__init__()
            self.model = model

        def act(self, obs: torch.Tensor, deterministic: bool = False) -> torch.Tensor:
            return torch.as_tensor(self.model.predict(obs.numpy(), deterministic=deterministic)[0])

        def env_action(self, actions: torch.Tensor) -> np.ndarray:
            return actions.numpy()

    class Marks(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.returns: list[float] = []
            self.ep_steps: list[float] = []
            self.ep_times: list[float] = []
            self.eval_seconds = 0.0
            self.next_eval = EVERY
            self.rm = (np.inf, np.inf)
            self.first_eval = (np.inf, np.inf)
            self.last_eval = (np.nan, np.nan)

        def now(self) -> float:
            return time.perf_counter() - start - self.eval_seconds

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    self.returns.append(float(info["episode"]["r"]))
                    self.ep_steps.append(float(self.num_timesteps))
                    self.ep_times.append(self.now())
            if not np.isfinite(self.rm[0]) and len(self.returns) >= 20 and np.mean(self.returns[-20:]) >= MARK:
                self.rm = (float(self.num_timesteps), self.now())
            return not self.done()  # False stops SB3's learn() at once

        def done(self) -> bool:
            return bool(np.isfinite(self.rm[0]) and np.isfinite(self.first_eval[0]))

        def _on_rollout_end(self) -> None:
            recent = self.returns[-20:]
            if self.num_timesteps < self.next_eval or not recent or np.mean(recent) < START_AT:
                return
            t0 = time.perf_counter()
            r = evaluate(Judge(self.model), env_id, EVAL_EPISODES, seed=10_000)
            self.last_eval = (float(r.mean()), float(r.std()))
            if not np.isfinite(self.first_eval[0]) and r.mean() >= MARK:
                self.first_eval = (float(self.num_timesteps), self.now())
            self.eval_seconds += time.perf_counter() - t0
            self.next_eval = self.num_timesteps + EVERY

    start = time.perf_counter()
    env = make_vec_env(env_id, n_envs=16, seed=seed)
    model = PPO(
        "MlpPolicy", env, n_steps=1024, batch_size=64, n_epochs=4, gamma=0.999, gae_lambda=0.98,
        ent_coef=0.01, seed=seed, device="cpu",
    )
    marks = Marks()
    model.learn(budget, callback=marks)
    seconds = marks.now()
    return Run(
        "SB3 PPO (zoo; to both marks, at most 1M)",
        env_id,
        seed,
        *marks.rm,
        *marks.first_eval,
        *marks.last_eval,
        float(model.num_timesteps),
        seconds,
    )


def _n(x: float, digits: int = 0) -> str:
    return "never" if not np.isfinite(x) else f"{x:,.{digits}f}"


def table(runs: list[Run]) -> str:
    cols = ("run", "seed", "steps to rm200", "s to rm200", "steps to eval200", "s to eval200",
            "eval at the end", "mean - std", "steps", "s")
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]

    def row(name: str, seed: str, r: list[float]) -> str:
        cells = [name, seed, _n(r[0]), _n(r[1], 1), _n(r[2]), _n(r[3], 1), f"{r[4]:.1f} ± {r[5]:.1f}",
                 _n(r[4] - r[5], 1), _n(r[6]), _n(r[7], 1)]
        return "| " + " | ".join(cells) + " |"

    fields = ("rm_steps", "rm_seconds", "eval_steps", "eval_seconds", "final_mean", "final_std", "steps", "seconds")
    for name in dict.fromkeys(r.name for r in runs):
        rs = [r for r in runs if r.name == name]
        for r in rs:
            lines.append(row(r.name, str(r.seed), [getattr(r, f) for f in fields]))
        med = [float(np.median([getattr(r, f) for r in rs])) for f in fields]
        landed = sum(r.final_mean >= MARK for r in rs)
        lines.append(row(f"**{name}** median ({landed}/{len(rs)} end eval >= 200)", "", med))
    ours_rows = [r for r in runs if r.name.startswith("ours")]
    sb3_rows = [r for r in runs if r.name.startswith("SB3")]
    if ours_rows and sb3_rows:
        for what, f in (("running mean", "rm_seconds"), ("evaluation", "eval_seconds")):
            a, b = (float(np.median([getattr(r, f) for r in rs])) for rs in (ours_rows, sb3_rows))
            lines.append(f"\nmedian seconds to the {what} mark: ours {a:.1f}, SB3 {b:.1f} (ours / SB3 = {a / b:.2f})")
    return "\n".join(lines)


def _override(item: str) -> tuple[str, object]:
    """``"normalize_obs=True"`` -> ``("normalize_obs", True)``; the value is read as a Python literal."""
    import ast
    from dataclasses import fields

    from pgcourse.algorithms import PPOConfig

    name, sep, value = item.partition("=")
    allowed = [f.name for f in fields(PPOConfig)]
    if not sep or name not in allowed:
        raise SystemExit(f"--set {item!r}: expected FIELD=VALUE with FIELD one of {', '.join(allowed)}")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        raise SystemExit(f"--set {item!r}: {value!r} is not a Python literal (True, 0.5, 16, (64, 64))") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", choices=ENVS + ("both",), default="LunarLander-v3")
    parser.add_argument("--seeds", type=int, default=10, help="seeds of ours (0, 1, ...)")
    parser.add_argument("--sb3-seeds", type=int, default=3)
    parser.add_argument("--no-sb3", action="store_true", help="skip the stable-baselines3 rows")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (processes); 2 = both cores")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="change a field of our preset, e.g. --set normalize_obs=True (repeatable)")
    args = parser.parse_args()
    overrides = dict(_override(item) for item in args.set)
    envs = ENVS if args.env == "both" else (args.env,)
    tasks = []
    for env_id in envs:
        if not args.no_sb3:  # the long runs first, so the queue ends with short ones
            tasks += [delayed(sb3)(env_id, s) for s in range(args.sb3_seeds)]
        tasks += [delayed(ours)(env_id, s, overrides) for s in range(args.seeds)]
    start = time.perf_counter()
    runs = Parallel(n_jobs=args.jobs, prefer="processes", verbose=0)(tasks)
    for env_id in envs:
        print(f"\n{env_id} ({args.jobs} runs at a time; {time.perf_counter() - start:.0f} s for the whole benchmark)\n")
        print(table([r for r in runs if r.env_id == env_id]))


if __name__ == "__main__":
    main()
