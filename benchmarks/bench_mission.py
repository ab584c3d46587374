"""The capstone's mission (notebook 11): which changes to the preset land LunarLander-v3 within the budget?

    flock /tmp/pgcourse-heavy.lock .venv/bin/python benchmarks/bench_mission.py --json benchmarks/results/mission.json

Every row trains ``train_ppo("LunarLander-v3", config, seed=s, total_steps=LANDING.budget)`` and is judged as
``check_landing`` judges a learner's run: the greedy policy's mean return over ``LANDING.n_episodes`` fresh
episodes from ``reset(seed=LANDING.seed + i)``, and whether the run kept to the budget. Rows:

  preset            PRESETS["LunarLander-v3"] unchanged, on the mission's budget (the schedule anneals over it)
  lr 1e-3           the same with a faster learning rate, dataclasses.replace(preset, lr=1e-3)
  stop at 200       the preset with EvalCallback(every=20_000, stop_at=200): training ends at the first
                    evaluation (its own episodes, reset(seed=10_000 + i)) that reaches 200

The runs go two at a time (both cores, torch on one thread each) from one queue (``run_variants``). Notebook 11's
"one way that landed" quotes the judge's means of this table; ``tests/test_bench_mission.py`` keeps them equal to
``benchmarks/results/mission.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

os.environ.setdefault("PGCOURSE_PROGRESS_FILE", "off")  # a benchmark is not a learner: no progress record

from pgcourse.algorithms import train_ppo  # noqa: E402
from pgcourse.algorithms.ppo import PRESETS  # noqa: E402
from pgcourse.evaluation import EvalCallback, evaluate  # noqa: E402
from pgcourse.exercises.landing import LANDING, within_budget  # noqa: E402
from pgcourse.experiments import run_variants  # noqa: E402

EVAL_EVERY = 20_000


def variants() -> dict[str, dict]:
    """The rows: name -> keyword arguments of ``train_ppo`` (besides env, seed and budget)."""
    preset = PRESETS[LANDING.env_id]
    return {
        "preset": {"config": preset},
        "lr 1e-3": {"config": dataclasses.replace(preset, lr=1e-3)},
        "stop at 200": {
            "config": preset,
            "callbacks": [EvalCallback(LANDING.env_id, every=EVAL_EVERY, stop_at=LANDING.target)],
        },
    }


def judge(run) -> dict:
    """What ``check_landing`` measures of ``run``: the judge's mean and std, the steps used, passed or not."""
    returns = evaluate(run.policy, LANDING.env_id, LANDING.n_episodes, seed=LANDING.seed)
    mean, std = float(returns.mean()), float(returns.std())
    kept = within_budget(run, LANDING.budget)
    return {
        "mean": round(mean, 1),
        "std": round(std, 1),
        "steps": int(run.history[-1]["env_steps"]),
        "seconds": round(float(run.history[-1]["time"]), 1),
        "within_budget": kept,
        "landed": bool(kept and mean >= LANDING.target),
    }


def table(rows: list[dict]) -> str:
    lines = [
        f"| run | seed | judge's mean ± std ({LANDING.n_episodes} episodes) | steps | training s | landed |",
        "|---|---:|---:|---:|---:|:---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['run']} | {r['seed']} | {r['mean']:.1f} ± {r['std']:.1f} | {r['steps']:,} | {r['seconds']:.1f} | "
            f"{'yes' if r['landed'] else 'no'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2], help="seeds of every row (default: 1 2)")
    parser.add_argument("--budget", type=int, default=LANDING.budget, help="env steps of every run")
    parser.add_argument("--only", nargs="+", choices=sorted(variants()), help="run only these rows")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (processes); 2 = both cores")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args(argv)
    chosen = {k: v for k, v in variants().items() if not args.only or k in args.only}
    print(f"{LANDING.env_id}: {len(chosen)} rows x seeds {args.seeds}, {args.budget:,} steps each, "
          f"{args.jobs} at a time; {os.cpu_count()} CPU cores\n", flush=True)
    start = time.perf_counter()
    runs = run_variants(train_ppo, chosen, args.seeds, n_jobs=args.jobs, env_id=LANDING.env_id,
                        total_steps=args.budget)
    rows = [{"run": name, "seed": seed, **judge(run)}
            for name, group in runs.items() for seed, run in zip(args.seeds, group)]
    print(table(rows))
    print(f"\nwall time {time.perf_counter() - start:.0f} s (judging included)")
    if args.json:
        args.json.write_text(json.dumps({"budget": args.budget, "seeds": args.seeds, "rows": rows}, indent=1) + "\n")
    return rows


if __name__ == "__main__":
    main()
