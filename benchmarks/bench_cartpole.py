"""CartPole-v1: how fast each of our algorithms solves it, next to reference implementations.

"Solved" = the mean of the last 20 *training* episodes first reaches 475. For every run
we report the env steps and wall seconds until then, and the throughput (steps/s).
All runs happen in this one process, on the same machine, one after another; a
warm-up run first pays the one-off import costs (torch.optim pulls in torch._dynamo).

    make bench                         # installs the benchmark extra (stable-baselines3), then runs this
    .venv/bin/python benchmarks/bench_cartpole.py --seeds 3 --only ppo

Rows:
  ours PPO (default)        train_ppo with PPOConfig()
  ours PPO (SB3 settings)   our code at the zoo's settings: 8 envs, n_steps 32, 1 minibatch of 256, 20 epochs,
                            gamma 0.98, lambda 0.8, ent 0, lr 1e-3 annealed (clip not annealed: we do not anneal ε)
  SB3 PPO (zoo)             stable-baselines3 PPO with the rl-zoo's tuned CartPole-v1 hyperparameters
  ours A2C (default)        train_a2c with A2CConfig()
  SB3 A2C (zoo)             stable-baselines3 A2C, 8 envs, ent_coef 0 (zoo), other settings SB3 defaults
  ours REINFORCE (default)  train_reinforce with ReinforceConfig()
  tutorial REINFORCE        the classic loop: one update per episode, per-episode normalised returns, Adam 1e-3
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from pgcourse.algorithms import (
    PPOConfig,
    StopTraining,
    train_a2c,
    train_ppo,
    train_reinforce,
)

TARGET, WINDOW = 475.0, 20


@dataclass
class Run:
    name: str
    seed: int
    steps: float  # env steps until solved (inf if never)
    seconds: float  # wall seconds until solved
    episodes: float  # episodes until solved
    steps_per_s: float


def _solved_callback(start: float, box: dict) -> Callable[[dict], None]:
    def cb(record: dict) -> None:
        if record["mean_return"] >= TARGET and record["episodes"] >= WINDOW:
            box.update(steps=record["env_steps"], seconds=time.perf_counter() - start, episodes=record["episodes"])
            raise StopTraining("solved")

    return cb


def ours(name: str, train: Callable, seed: int, **kw) -> Run:
    box = {"steps": np.inf, "seconds": np.inf, "episodes": np.inf}
    start = time.perf_counter()
    res = train("CartPole-v1", seed=seed, progress=False, callbacks=[_solved_callback(start, box)], **kw)
    last = res.history[-1]
    return Run(name, seed, box["steps"], box["seconds"], box["episodes"], last["env_steps"] / last["time"])


def sb3(name: str, algo: str, seed: int) -> Run:
    from stable_baselines3 import A2C, PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    class Solved(BaseCallback):
        def __init__(self) -> None:
            super().__init__()
            self.box = {"steps": np.inf, "seconds": np.inf, "episodes": np.inf}
            self.episodes = 0

        def _on_step(self) -> bool:
            self.episodes += int(np.sum(self.locals["dones"]))
            buf = [ep["r"] for ep in self.model.ep_info_buffer][-WINDOW:]
            if len(buf) >= WINDOW and np.mean(buf) >= TARGET:
                self.box.update(steps=self.num_timesteps, seconds=time.perf_counter() - start, episodes=self.episodes)
                return False
            return True

    def linear(v: float) -> Callable[[float], float]:
        return lambda progress_remaining: progress_remaining * v

    start = time.perf_counter()
    env = make_vec_env("CartPole-v1", n_envs=8, seed=seed)
    if algo == "ppo":
        model = PPO("MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
                    ent_coef=0.0, learning_rate=linear(1e-3), clip_range=linear(0.2), seed=seed, device="cpu")
        budget = 100_000
    else:
        model = A2C("MlpPolicy", env, ent_coef=0.0, seed=seed, device="cpu")
        budget = 500_000
    cb = Solved()
    t0 = time.perf_counter()
    model.learn(budget, callback=cb)
    sps = model.num_timesteps / (time.perf_counter() - t0)
    return Run(name, seed, cb.box["steps"], cb.box["seconds"], cb.box["episodes"], sps)


def tutorial_reinforce(seed: int, max_episodes: int = 2000) -> Run:
    """The classic textbook loop, written here for comparison only (not course code)."""
    torch.manual_seed(seed)
    env = gym.make("CartPole-v1")
    net = torch.nn.Sequential(torch.nn.Linear(4, 128), torch.nn.ReLU(), torch.nn.Linear(128, 2))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    returns: list[float] = []
    steps, start = 0, time.perf_counter()
    obs, _ = env.reset(seed=seed)
    for ep in range(1, max_episodes + 1):
        log_probs, rewards, done = [], [], False
        while not done:
            dist = torch.distributions.Categorical(logits=net(torch.as_tensor(obs)))
            a = dist.sample()
            log_probs.append(dist.log_prob(a))
            obs, r, term, trunc, _ = env.step(int(a))
            rewards.append(r)
            done = term or trunc
        obs, _ = env.reset()
        steps += len(rewards)
        g, acc = [], 0.0
        for r in reversed(rewards):
            acc = r + 0.99 * acc
            g.append(acc)
        g_t = torch.tensor(g[::-1])
        g_t = (g_t - g_t.mean()) / (g_t.std() + 1e-8)
        loss = -(torch.stack(log_probs) * g_t).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        returns.append(sum(rewards))
        if len(returns) >= WINDOW and np.mean(returns[-WINDOW:]) >= TARGET:
            secs = time.perf_counter() - start
            return Run("tutorial REINFORCE", seed, steps, secs, ep, steps / secs)
    secs = time.perf_counter() - start
    return Run("tutorial REINFORCE", seed, np.inf, np.inf, np.inf, steps / secs)


SB3_SETTINGS = PPOConfig(n_envs=8, n_steps=32, n_minibatches=1, n_epochs=20, gamma=0.98, gae_lambda=0.8,
                         ent_coef=0.0, lr=1e-3, total_steps=100_000)

SUITES: dict[str, list[tuple[str, Callable[[int], Run]]]] = {
    "ppo": [
        ("ours PPO (default)", lambda s: ours("ours PPO (default)", train_ppo, s)),
        ("ours PPO (SB3 settings)", lambda s: ours("ours PPO (SB3 settings)", train_ppo, s, config=SB3_SETTINGS)),
        ("SB3 PPO (zoo)", lambda s: sb3("SB3 PPO (zoo)", "ppo", s)),
    ],
    "a2c": [
        ("ours A2C (default)", lambda s: ours("ours A2C (default)", train_a2c, s)),
        ("SB3 A2C (zoo)", lambda s: sb3("SB3 A2C (zoo)", "a2c", s)),
    ],
    "reinforce": [
        ("ours REINFORCE (default)", lambda s: ours("ours REINFORCE (default)", train_reinforce, s)),
        ("tutorial REINFORCE", tutorial_reinforce),
    ],
}


def table(runs: list[Run]) -> str:
    head = f"| {'run':36} | {'seed':>4} | {'steps to 475':>12} | {'episodes':>8} | {'seconds':>7} | {'steps/s':>7} |"
    lines = [head, "|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|"]
    fmt = "| {:36} | {:>4} | {:>12} | {:>8} | {:>7} | {:>7.0f} |"
    for r in runs:
        lines.append(fmt.format(r.name, r.seed, _n(r.steps, 0), _n(r.episodes, 0), _n(r.seconds, 1), r.steps_per_s))
    names = list(dict.fromkeys(r.name for r in runs))
    for name in names:
        rs = [r for r in runs if r.name == name]
        med = [np.median([getattr(r, f) for r in rs]) for f in ("steps", "episodes", "seconds", "steps_per_s")]
        lines.append(fmt.format(f"**{name}** median", "", _n(med[0], 0), _n(med[1], 0), _n(med[2], 1), med[3]))
    return "\n".join(lines)


def _n(x: float, digits: int) -> str:
    return "never" if not np.isfinite(x) else f"{x:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--only", choices=sorted(SUITES), action="append")
    parser.add_argument("--no-sb3", action="store_true", help="skip the stable-baselines3 rows")
    args = parser.parse_args()
    torch.set_num_threads(1)  # same for every row; our trainers set it themselves
    train_ppo("CartPole-v1", PPOConfig(total_steps=2000), progress=False)  # warm-up: one-off imports
    runs: list[Run] = []
    for suite in args.only or list(SUITES):
        for name, fn in SUITES[suite]:
            if args.no_sb3 and name.startswith("SB3"):
                continue
            for seed in range(args.seeds):
                runs.append(fn(seed))
                r = runs[-1]
                print(f"  {r.name} seed {seed}: {_n(r.steps, 0)} steps, {_n(r.seconds, 2)} s", flush=True)
    print()
    print(table(runs))


if __name__ == "__main__":
    main()
