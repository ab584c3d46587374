"""Seeds in parallel: 4 PPO seeds of 40k steps on CartPole-v1, one after another vs on 2 worker processes.

    flock /tmp/pgcourse-heavy.lock .venv/bin/python benchmarks/bench_seeds.py

Rows, in the order they run (one fresh Python process):
  sequential       run_seeds(n_jobs=1): the seeds one after another in this process
  2 workers, cold  run_seeds(n_jobs=2), the first call: starting the worker processes (and their
                   imports of torch and gymnasium) is included in the time
  2 workers, warm  the same call again: loky reuses the warm workers
Every row checks that its results equal the sequential ones, bit for bit.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from pgcourse.algorithms import PPOConfig, train_ppo
from pgcourse.experiments import final_returns, run_seeds


def same(a, b) -> bool:
    return a.episodes == b.episodes and all(
        torch.equal(p, q) for p, q in zip(a.policy.state_dict().values(), b.policy.state_dict().values())
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=40_000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    kw = {"env_id": "CartPole-v1", "config": PPOConfig(), "total_steps": args.steps}
    print(f"{args.seeds} PPO seeds x {args.steps} steps on CartPole-v1; {os.cpu_count()} CPU cores\n")
    rows = []
    start = time.perf_counter()
    base = run_seeds(train_ppo, seeds, n_jobs=1, **kw)
    rows.append(("sequential", time.perf_counter() - start, True, [r.history[-1]["time"] for r in base]))
    for name in (f"{args.jobs} workers, cold", f"{args.jobs} workers, warm"):
        start = time.perf_counter()
        runs = run_seeds(train_ppo, seeds, n_jobs=args.jobs, **kw)
        equal = all(same(a, b) for a, b in zip(base, runs))
        rows.append((name, time.perf_counter() - start, equal, [r.history[-1]["time"] for r in runs]))
    print("\n| run | wall s | speed-up | equal to sequential | training s of each seed (inside its run) |")
    print("|---|---:|---:|:---:|---|")
    for name, seconds, equal, inside in rows:
        each = ", ".join(f"{t:.1f}" for t in inside)
        print(f"| {name} | {seconds:.1f} | {rows[0][1] / seconds:.2f}x | {'yes' if equal else 'NO'} | {each} |")
    print(f"\nfinal returns (mean of the last 20 episodes): {final_returns(base).round(1).tolist()}")


if __name__ == "__main__":
    main()
