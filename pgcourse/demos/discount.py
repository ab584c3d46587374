r"""Notebook 02 (REINFORCE): discounted returns and the discount γ."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import ipywidgets as widgets
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from pgcourse._threads import torch_threads
from pgcourse.demos.widget import (
    SliderDemo,
    check_range,
    keep_limits,
    make_slider,
    readout_table,
    set_errorbar,
    static_figure,
)
from pgcourse.plots import course_style, style_cycle
from pgcourse.returns import discounted_returns
from pgcourse.toy import DEFAULT_THETA, course_mdp

__all__ = [
    "ReturnTraces",
    "sample_episode_rewards",
    "return_traces",
    "static_return_traces",
    "gamma_demo",
]


@dataclass(frozen=True)
class ReturnTraces:
    r"""Reward-to-go :math:`G_t = \sum_{k \ge t} \gamma^{k-t} r_k` of a few episodes.

    ``returns[i]`` is :math:`G_0, \dots, G_{T_i-1}` of episode ``i``; ``g0`` the
    :math:`G_0` of every episode (their spread mixes scale and noise: part of its growth with :math:`\gamma`
    is only the growing size of :math:`G_0`; notebook 02 separates the two with the coefficient of variation);
    ``horizon`` :math:`= 1/(1-\gamma)`, the effective number of future rewards counted.
    """

    gamma: float
    rewards: tuple[np.ndarray, ...]
    returns: tuple[np.ndarray, ...]
    g0: np.ndarray
    horizon: float


def sample_episode_rewards(n: int = 5, seed: int = 0, source: str = "cartpole") -> list[np.ndarray]:
    """Reward sequences of ``n`` episodes: random-action CartPole-v1, or the course corridor.

    ``source="cartpole"``: reward 1 per step while the pole stands; episodes differ
    only in length. ``source="corridor"``: :data:`DEFAULT_THETA` on :func:`course_mdp`,
    rewards only at the exit.
    """
    n = int(check_range(n, "n", 1, 100))
    if source == "cartpole":
        env = gym.make("CartPole-v1")
        env.action_space.seed(seed)
        out = []
        try:
            for i in range(n):
                env.reset(seed=seed * 1000 + i)
                rewards, done = [], False
                while not done:
                    _, r, terminated, truncated, _ = env.step(env.action_space.sample())
                    rewards.append(float(r))
                    done = terminated or truncated
                out.append(np.array(rewards))
        finally:
            env.close()
        return out
    if source == "corridor":
        traj = course_mdp().sample(DEFAULT_THETA, n, seed=seed)
        return [traj.rewards[i, : traj.lengths[i]] for i in range(n)]
    raise ValueError(f"source={source!r} is not supported; use 'cartpole' or 'corridor'")


def return_traces(gamma: float, rewards: Sequence[np.ndarray]) -> ReturnTraces:
    r"""Discounted reward-to-go of each episode, :math:`G_t = r_t + \gamma G_{t+1}`.

    All episodes go through one call of :func:`pgcourse.discounted_returns` (episode ends marked).
    """
    if len(rewards) == 0:
        raise ValueError("rewards is empty; pass at least one episode's reward sequence")
    flat = np.concatenate([np.asarray(r, dtype=np.float64) for r in rewards])
    ends = np.zeros(flat.size)
    ends[np.cumsum([len(r) for r in rewards]) - 1] = 1.0
    with torch_threads(1):
        G = discounted_returns(flat, gamma, episode_ends=ends).numpy().astype(np.float64)
    splits = np.split(G, np.cumsum([len(r) for r in rewards])[:-1])
    gamma = float(gamma)
    return ReturnTraces(
        gamma=gamma,
        rewards=tuple(np.asarray(r, dtype=np.float64) for r in rewards),
        returns=tuple(splits),
        g0=np.array([s[0] for s in splits]),
        horizon=math.inf if gamma == 1.0 else 1.0 / (1.0 - gamma),
    )


def _draw_traces(ax: Axes, r: ReturnTraces, title: str | None = None) -> None:
    for i, G in enumerate(r.returns):
        ax.plot(np.arange(len(G)), G, **style_cycle(i), label=f"episode {i + 1}")
    ax.set_xlabel("time step t")
    ax.set_ylabel(r"return-to-go $G_t$")
    ax.set_title(title or rf"$\gamma$ = {r.gamma:.2f}")


def _draw_g0(ax: Axes, r: ReturnTraces) -> None:
    for i, g in enumerate(r.g0):
        ax.plot([0], [g], "o", color=style_cycle(i)["color"], markersize=9, alpha=0.8)
    ax.errorbar([0.5], [r.g0.mean()], yerr=[r.g0.std()], fmt="s", color="black", capsize=6, label="mean ± std")
    ax.set_xlim(-0.6, 1.1)
    ax.set_xticks([0, 0.5], ["episodes", "mean"])
    ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    ax.set_title(r"spread of $G_0$")


def _gamma_title(r: ReturnTraces) -> str:
    horizon = "∞" if math.isinf(r.horizon) else f"{r.horizon:.1f}"
    return rf"$\gamma$ = {r.gamma:.2f}, horizon $1/(1-\gamma)$ = {horizon}"


def _draw_gamma(fig: Figure, r: ReturnTraces) -> dict[str, Any]:
    """The demo's figure; returns the artists a move of γ changes (see :func:`_refresh_gamma`)."""
    ax1, ax2 = fig.subplots(1, 2, width_ratios=(2.2, 1), sharey=True)
    _draw_traces(ax1, r, _gamma_title(r))
    ax1.legend(fontsize=9, loc="upper right")
    _draw_g0(ax2, r)
    return {"traces": list(ax1.lines), "title": ax1.title, "g0": list(ax2.lines[: len(r.g0)]),
            "spread": ax2.containers[0]}


def _refresh_gamma(artists: dict[str, Any], r: ReturnTraces) -> None:
    for line, G in zip(artists["traces"], r.returns, strict=True):
        line.set_ydata(G)
    artists["title"].set_text(_gamma_title(r))
    for dot, g in zip(artists["g0"], r.g0, strict=True):
        dot.set_ydata([g])
    set_errorbar(artists["spread"], [0.5], [r.g0.mean()], [r.g0.std()])
    low = min(0.0, min(float(G.min()) for G in r.returns))
    keep_limits(artists["title"].axes, low, max(float(G.max()) for G in r.returns))


def static_return_traces(
    gammas: Sequence[float] = (0.0, 0.5, 0.9, 0.99), rewards: Sequence[np.ndarray] | None = None
) -> Figure:
    """The same episodes' :math:`G_t` at a few discount factors, one panel each (shared y axis)."""
    rewards = sample_episode_rewards() if rewards is None else rewards
    fig, axes = static_figure(len(gammas), (3.6 * len(gammas), 3.8))
    with course_style():
        for ax, g in zip(axes, gammas, strict=True):
            _draw_traces(ax, return_traces(g, rewards))
            if ax is not axes[0]:
                ax.sharey(axes[0])
                ax.set_ylabel("")
        axes[0].legend(fontsize=9)
    return fig


def gamma_demo(n_trajectories: int = 5, source: str = "cartpole", seed: int = 0) -> SliderDemo:
    """Slider γ ∈ [0, 1] → :math:`G_t` of a few sampled episodes; "New trajectories" resamples them."""
    state = {"seed": seed, "rewards": sample_episode_rewards(n_trajectories, seed, source)}
    gamma_slider = make_slider(
        widgets.FloatSlider, "discount γ (gamma)", min=0.0, max=1.0, step=0.01, value=0.9
    )
    new_button = widgets.Button(description="New trajectories", icon="refresh")

    def readout(r: ReturnTraces) -> str:
        horizon = "∞" if math.isinf(r.horizon) else f"{r.horizon:.1f} steps"
        return readout_table(
            [
                ("γ", f"{r.gamma:.2f}"),
                ("horizon 1/(1−γ)", horizon),
                ("episode lengths", ", ".join(str(len(x)) for x in r.rewards)),
                ("G₀ mean ± std", f"{r.g0.mean():.2f} ± {r.g0.std():.2f}"),
            ],
            "Small γ: G_t counts only the next few rewards. γ → 1: every future reward counts, "
            "and G₀ differs more between episodes.",
        )

    demo = SliderDemo(
        {"gamma_slider": gamma_slider},
        lambda gamma_slider: return_traces(gamma_slider, state["rewards"]),
        _draw_gamma,
        readout,
        buttons={"new_button": new_button},
        refresh=_refresh_gamma,
    )

    def resample(_button: widgets.Button) -> None:
        state["seed"] += 1
        state["rewards"] = sample_episode_rewards(n_trajectories, state["seed"], source)
        demo.redraw()  # other episodes: other lines

    new_button.on_click(resample)
    demo.state = state
    return demo
