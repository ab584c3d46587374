r"""Slider demos: a pure, tested function per demo, and a thin ipywidgets layer over it.

Every demo has three parts:

* a **pure function** computing the lesson's quantity (``mc_gradient_estimate``,
  ``return_traces``, ``baseline_variance``, ``gae_bias_variance``); tests call it
  directly and it answers well under a second;
* a **static figure** (``static_*``) drawing the same quantity at 3–4 parameter
  values, for readers of the exported HTML (no kernel, no sliders);
* a **widget** (``*_demo``) returning a :class:`SliderDemo`: sliders, a figure and
  a text readout. Moving a slider recomputes and redraws; ``demo.last_result`` is
  the last computed result and every control is an attribute
  (``demo.beta_slider.value = 0.5`` works without a kernel).

All demos on the toy MDP use one corridor (:func:`course_mdp`: reward +1 for
leaving on the right, nothing else, γ = 0.9) and one policy
(:data:`DEFAULT_THETA`, which mildly prefers "right"). Symbols follow
:mod:`pgcourse.toy` and :mod:`pgcourse.returns`: :math:`\gamma` discount,
:math:`\lambda` GAE weight, :math:`G_t` reward-to-go, :math:`V, Q, A` the exact
value, action value and advantage of the policy :math:`\pi_\theta`.
"""

from __future__ import annotations

import base64
import copy
import html
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import gymnasium as gym
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from pgcourse._threads import torch_threads
from pgcourse.algorithms.common import make_adam
from pgcourse.algorithms.on_policy import Batch, prepare_batch
from pgcourse.algorithms.ppo import PPOConfig, clipped_surrogate_loss, ppo_update, train_ppo
from pgcourse.diagnostics import approx_kl
from pgcourse.networks import build_actor_critic
from pgcourse.plots import OKABE_ITO, course_style, figure_png, style_cycle
from pgcourse.returns import discounted_returns, gae
from pgcourse.rollout import RolloutCollector, make_vec_env
from pgcourse.toy import TabularMDP, Trajectories, corridor_mdp

__all__ = [
    "DEFAULT_THETA",
    "course_mdp",
    "SliderDemo",
    "hello_curve",
    "hello_demo",
    # 1. Monte Carlo policy gradient (notebook 01)
    "GradientSamples",
    "MCGradientResult",
    "gradient_samples",
    "mc_gradient_estimate",
    "static_mc_gradient",
    "mc_gradient_demo",
    # 2. discounted returns (notebook 02)
    "ReturnTraces",
    "sample_episode_rewards",
    "return_traces",
    "static_return_traces",
    "gamma_demo",
    # 3. baselines (notebook 03)
    "BaselineStudy",
    "BaselineResult",
    "baseline_study",
    "baseline_variance",
    "exact_baseline_term",
    "optimal_baseline_scale",
    "static_baseline_variance",
    "baseline_demo",
    # 4. GAE (notebook 04)
    "GAEStudy",
    "GAEResult",
    "gae_study",
    "critic_values",
    "gae_inputs",
    "exact_lambda_return",
    "gae_bias_variance",
    "static_gae_bias_variance",
    "gae_demo",
    # 6. PPO's clip range (notebook 06)
    "ClipObjective",
    "clip_objective",
    "static_clip_objective",
    "clip_objective_demo",
    "ClipUpdateStudy",
    "ClipUpdateResult",
    "CLIP_UPDATE_EPS",
    "clip_update_study",
    "clip_update_stats",
    "static_clip_updates",
    "clip_update_demo",
    # 8. KL estimators (notebook 08)
    "KLEstimates",
    "KL_CROSSOVER_SHIFT",
    "kl_estimates",
    "static_kl_estimators",
    "kl_estimator_demo",
]

#: The policy of the toy demos: every cell prefers "right" a little, π(right|s) ≈ 0.62.
DEFAULT_THETA = np.tile([0.0, 0.5], (4, 1))

#: The corridor of the demos: +1 for leaving on the right, no step cost, γ = 0.9.
COURSE_MDP_KWARGS = {"gamma": 0.9, "slip": 0.1, "step_reward": 0.0}

ACTION_NAMES = ("L", "R")


def course_mdp(gamma: float = COURSE_MDP_KWARGS["gamma"]) -> TabularMDP:
    """The 4-cell corridor used by every toy demo (see :func:`pgcourse.toy.corridor_mdp`)."""
    return corridor_mdp(gamma=gamma, slip=COURSE_MDP_KWARGS["slip"], step_reward=COURSE_MDP_KWARGS["step_reward"])


def _theta(theta: np.ndarray | None) -> np.ndarray:
    return DEFAULT_THETA.copy() if theta is None else np.asarray(theta, dtype=np.float64)


def _check_range(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}")
    if not (math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name}={value!r} is outside the allowed range [{low:g}, {high:g}]")
    return float(value)


def _pair_labels(n_states: int) -> list[str]:
    return [f"s{s}{a}" for s in range(n_states) for a in ACTION_NAMES]


# ====================================================================== widget layer
class SliderDemo(widgets.VBox):
    """Controls on top, the figure and a text readout side by side below.

    Redrawing costs a few hundred milliseconds, so course sliders update when released
    (``continuous_update=False``). ``compute(**values)`` gets the current value of every control (by name) and
    returns a result; ``draw(fig, result)`` draws it on a fresh figure;
    ``readout(result)`` returns HTML for the text beside the figure. Each control
    is an attribute named after its key (``demo.lam_slider``); ``last_result`` is
    the last computed result and ``n_updates`` counts recomputations.
    """

    def __init__(
        self,
        controls: Mapping[str, widgets.ValueWidget],
        compute: Callable[..., Any],
        draw: Callable[[Figure, Any], None],
        readout: Callable[[Any], str],
        buttons: Mapping[str, widgets.Button] | None = None,
        figsize: tuple[float, float] = (10.0, 4.0),
    ) -> None:
        super().__init__()
        self.controls = dict(controls)
        self.buttons = dict(buttons or {})
        self._compute, self._draw, self._readout = compute, draw, readout
        self.figsize = figsize
        self.figure_output = widgets.Output(layout=widgets.Layout(flex="0 0 auto"))
        self.readout = widgets.HTML(layout=widgets.Layout(width="260px", margin="0 0 0 12px"))
        for name, w in {**self.controls, **self.buttons}.items():
            setattr(self, name, w)
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.last_result: Any = None
        self.n_updates = 0
        row = widgets.HBox(list(self.controls.values()) + list(self.buttons.values()))
        self.children = (row, widgets.HBox([self.figure_output, self.readout]))
        self.update()

    @property
    def slider(self) -> widgets.ValueWidget:
        """The first control (handy for one-slider demos)."""
        return next(iter(self.controls.values()))

    def _on_change(self, _change: Mapping[str, Any]) -> None:
        # A slider callback's exception would only reach the kernel log: show it beside the figure instead.
        try:
            self.update()
        except Exception as err:  # reported to the learner, not swallowed
            self.readout.value = f"<b style='color:#D55E00'>{type(err).__name__}</b>: {html.escape(str(err))}"

    def update(self) -> None:
        """Recompute from the current control values and redraw."""
        values = {name: w.value for name, w in self.controls.items()}
        self.last_result = self._compute(**values)
        self.n_updates += 1
        with course_style():
            fig = Figure(figsize=self.figsize)
            self._draw(fig, self.last_result)
            png = figure_png(fig)
        # replace the output in one step (no flicker), kernel or not
        self.figure_output.outputs = (
            {
                "output_type": "display_data",
                "data": {"image/png": _b64(png), "text/plain": "<figure>"},
                "metadata": {},
            },
        )
        self.readout.value = self._readout(self.last_result)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _slider(kind: type, description: str, heavy: bool = False, **kwargs: Any) -> widgets.ValueWidget:
    style = {"description_width": "initial"}
    layout = widgets.Layout(width="360px")
    return kind(description=description, continuous_update=not heavy, style=style, layout=layout, **kwargs)


def _table(rows: Sequence[tuple[str, str]], note: str = "") -> str:
    body = "".join(f"<tr><td style='padding-right:8px'>{k}</td><td><b>{v}</b></td></tr>" for k, v in rows)
    extra = f"<p style='margin-top:6px'>{note}</p>" if note else ""
    return f"<div style='font-size:14px'><table>{body}</table>{extra}</div>"


def _static_figure(ncols: int, figsize: tuple[float, float]) -> tuple[Figure, np.ndarray]:
    """A pyplot figure in the course style (shown by the notebook's inline backend)."""
    with course_style():
        fig, axes = plt.subplots(1, ncols, figsize=figsize, squeeze=False)
    return fig, axes[0]


# ====================================================================== 0. hello (notebook 00)
def hello_curve(k: float) -> tuple[np.ndarray, np.ndarray]:
    r"""The curve of the install check: :math:`y = \sin(k x)` on :math:`[0, 2\pi]`, ``(x, y)``."""
    k = _check_range(k, "k", 0.0, 100.0)
    x = np.linspace(0.0, 2 * np.pi, 400)
    return x, np.sin(k * x)


def hello_demo() -> SliderDemo:
    """A test slider: frequency k → the curve sin(kx) redraws (checks that widgets work)."""
    k_slider = _slider(widgets.IntSlider, "frequency k", min=1, max=10, value=2)

    def draw(fig: Figure, xy: tuple[np.ndarray, np.ndarray]) -> None:
        ax = fig.subplots()
        ax.plot(*xy)
        ax.set_xlabel("x")
        ax.set_ylabel("sin(k x)")

    def readout(xy: tuple[np.ndarray, np.ndarray]) -> str:
        crossings = int(np.sum(np.diff(np.sign(xy[1][1:-1])) != 0))
        rows = [("k", f"{k_slider.value}"), ("zero crossings", f"{crossings}")]
        return _table(rows, "Move the slider: the curve changes.")

    return SliderDemo({"k_slider": k_slider}, lambda k_slider: hello_curve(k_slider), draw, readout, figsize=(7, 3))


# ====================================================================== 1. MC gradient
@dataclass(frozen=True)
class GradientSamples:
    r"""A pool of per-trajectory score-function estimates :math:`\hat g_i` and the exact gradient.

    ``grads[i]`` :math:`= \sum_t \gamma^t \nabla_\theta \log\pi_\theta(a_t|s_t)\, G_t` for
    trajectory ``i`` (shape ``(n_pool, S, A)``); ``exact`` :math:`= \nabla_\theta J(\theta)`.
    """

    mdp: TabularMDP
    theta: np.ndarray
    grads: np.ndarray
    exact: np.ndarray

    @property
    def n_pool(self) -> int:
        return self.grads.shape[0]


@dataclass(frozen=True)
class MCGradientResult:
    r"""The Monte Carlo estimate from ``n`` trajectories against the exact gradient.

    ``estimate`` :math:`= \frac1N \sum_{i=1}^N \hat g_i`, ``stderr`` its standard error
    :math:`\sigma/\sqrt N` per component (σ measured on the whole pool),
    ``rel_error`` :math:`= \|\hat g - \nabla J\| / \|\nabla J\|`. The trend: for each
    ``ns[k]`` the relative root-mean-square error ``rmse[k]`` over disjoint batches of
    the pool, the prediction ``theory[k]`` :math:`= \sqrt{\mathrm{tr}\,\Sigma / N} / \|\nabla J\|`,
    and ``slope``, the least-squares slope of log rmse against log N (≈ −1/2).
    """

    n: int
    estimate: np.ndarray
    stderr: np.ndarray
    exact: np.ndarray
    rel_error: float
    ns: np.ndarray
    rmse: np.ndarray
    theory: np.ndarray
    slope: float


@lru_cache(maxsize=4)
def _default_gradient_samples(n_pool: int, seed: int) -> GradientSamples:
    return gradient_samples(n_pool, seed, mdp=course_mdp(), theta=DEFAULT_THETA)


def gradient_samples(
    n_pool: int = 16384, seed: int = 0, mdp: TabularMDP | None = None, theta: np.ndarray | None = None
) -> GradientSamples:
    """Sample ``n_pool`` episodes once and keep their per-trajectory gradient estimates.

    With ``mdp`` and ``theta`` left out, the course corridor and policy are used and
    the pool is cached (the static figure and the slider share it).
    """
    n_pool = int(_check_range(n_pool, "n_pool", 16, 1_000_000))
    if mdp is None and theta is None:
        return _default_gradient_samples(n_pool, seed)
    mdp = course_mdp() if mdp is None else mdp
    theta = _theta(theta)
    traj = mdp.sample(theta, n_pool, seed=seed)
    return GradientSamples(mdp, theta, mdp.mc_gradients(theta, traj), mdp.exact_gradient(theta))


def mc_gradient_estimate(n: int, samples: GradientSamples | None = None) -> MCGradientResult:
    r"""The score-function estimate of :math:`\nabla_\theta J` from the first ``n`` trajectories.

    .. math:: \hat g = \frac1N \sum_{i=1}^N \sum_t \gamma^t \nabla_\theta\log\pi_\theta(a_t|s_t)\, G_t
              \;\xrightarrow{N\to\infty}\; \nabla_\theta J(\theta),
              \qquad \mathrm{error} \propto 1/\sqrt N.
    """
    samples = samples or gradient_samples()
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= samples.n_pool:
        raise ValueError(f"n={n!r} is outside the allowed range [1, {samples.n_pool}] (an integer)")
    n = int(n)
    g, exact = samples.grads, samples.exact
    norm = np.linalg.norm(exact)
    estimate = g[:n].mean(0)
    sigma = g.std(0, ddof=1)
    ns = 2 ** np.arange(0, int(np.log2(samples.n_pool // 8)) + 1)
    rmse = np.array([_batch_rmse(g, exact, int(k)) for k in ns]) / norm
    theory = np.sqrt((sigma**2).sum() / ns) / norm
    slope = float(np.polyfit(np.log(ns), np.log(rmse), 1)[0])
    return MCGradientResult(
        n=n,
        estimate=estimate,
        stderr=sigma / np.sqrt(n),
        exact=exact,
        rel_error=float(np.linalg.norm(estimate - exact) / norm),
        ns=ns,
        rmse=rmse,
        theory=theory,
        slope=slope,
    )


def _batch_rmse(g: np.ndarray, exact: np.ndarray, n: int) -> float:
    """Root-mean-square error of the mean of ``n`` samples, over the disjoint batches of the pool."""
    k = g.shape[0] // n
    means = g[: k * n].reshape(k, n, -1).mean(1)
    return float(np.sqrt(((means - exact.ravel()) ** 2).sum(1).mean()))


def _draw_components(ax: Axes, exact: np.ndarray, estimates: Sequence[tuple[str, np.ndarray, np.ndarray]]) -> None:
    labels = _pair_labels(exact.shape[0])
    x = np.arange(exact.size)
    width = 0.7 / max(len(estimates), 1)
    for j, (label, est, se) in enumerate(estimates):
        offset = (j - (len(estimates) - 1) / 2) * width
        st = style_cycle(j)
        ax.errorbar(
            x + offset, est.ravel(), yerr=2 * se.ravel(), fmt="o", color=st["color"], markersize=5, capsize=2,
            label=label,
        )
    ax.scatter(x, exact.ravel(), marker="_", s=500, color="black", linewidths=2.5, label="exact", zorder=3)
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.set_xticks(x, labels)
    ax.set_xlabel(r"component $\theta_{s,a}$")
    ax.set_ylabel(r"$\partial J / \partial\theta_{s,a}$")


def _draw_trend(ax: Axes, r: MCGradientResult, marks: Sequence[MCGradientResult] = ()) -> None:
    ax.loglog(r.ns, r.rmse, "o", color="0.35", label="measured (batches of the pool)")
    n_max = max([int(r.ns[-1]), *(m.n for m in marks)])
    grid = np.geomspace(1, n_max, 50)
    ax.loglog(grid, r.theory[0] / np.sqrt(grid), "--", color="black", linewidth=1.5,
              label=r"$\sqrt{\mathrm{tr}\,\Sigma/N}$ (slope −1/2)")
    for j, m in enumerate(marks):
        ax.plot([m.n], [m.rel_error], "D", color=style_cycle(j)["color"], markersize=8, label=f"N = {m.n}")
    ax.set_xlabel("trajectories N")
    ax.set_ylabel(r"relative error $\|\hat g - \nabla J\| / \|\nabla J\|$")
    ax.set_title(f"measured slope {r.slope:.2f} (theory −0.5)")
    ax.legend(loc="lower left", fontsize=10)


def _draw_mc(fig: Figure, r: MCGradientResult) -> None:
    ax1, ax2 = fig.subplots(1, 2, width_ratios=(1.3, 1))
    _draw_components(ax1, r.exact, [(f"estimate, N = {r.n} (±2 s.e.)", r.estimate, r.stderr)])
    ax1.set_title(f"N = {r.n}: relative error {r.rel_error:.1%}")
    ax1.legend(loc="lower left", fontsize=10)
    _draw_trend(ax2, r, marks=[r])


def static_mc_gradient(ns: Sequence[int] = (4, 64, 1024, 16384), samples: GradientSamples | None = None) -> Figure:
    """Estimates at a few N side by side with the exact gradient, and the 1/√N trend."""
    samples = samples or gradient_samples()
    results = [mc_gradient_estimate(n, samples) for n in ns]
    fig, (ax1, ax2) = _static_figure(2, (13, 4.6))
    with course_style():
        _draw_components(ax1, samples.exact, [(f"N = {r.n}", r.estimate, r.stderr) for r in results])
        ax1.set_title("Monte Carlo estimates (±2 s.e.) vs the exact gradient")
        ax1.legend(loc="lower left", fontsize=9, ncol=2)
        _draw_trend(ax2, results[-1], marks=results)
    return fig


def mc_gradient_demo(samples: GradientSamples | None = None) -> SliderDemo:
    """Slider: number of sampled trajectories N → the estimate against the exact gradient."""
    samples = samples or gradient_samples()
    options = [int(2**k) for k in range(int(np.log2(samples.n_pool)) + 1)]
    n_slider = _slider(widgets.SelectionSlider, "trajectories N", heavy=True, options=options, value=16)

    def readout(r: MCGradientResult) -> str:
        return _table(
            [("N", f"{r.n}"), ("relative error", f"{r.rel_error:.1%}"), ("error slope", f"{r.slope:.2f}")],
            "Each step right doubles N; the error shrinks by about √2 per step: 1/√N.",
        )

    return SliderDemo(
        {"n_slider": n_slider}, lambda n_slider: mc_gradient_estimate(n_slider, samples), _draw_mc, readout
    )


# ====================================================================== 2. returns and gamma
@dataclass(frozen=True)
class ReturnTraces:
    r"""Reward-to-go :math:`G_t = \sum_{k \ge t} \gamma^{k-t} r_k` of a few episodes.

    ``returns[i]`` is :math:`G_0, \dots, G_{T_i-1}` of episode ``i``; ``g0`` the
    :math:`G_0` of every episode (their spread is the variance REINFORCE lives with);
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
    n = int(_check_range(n, "n", 1, 100))
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


def _draw_gamma(fig: Figure, r: ReturnTraces) -> None:
    ax1, ax2 = fig.subplots(1, 2, width_ratios=(2.2, 1), sharey=True)
    horizon = "∞" if math.isinf(r.horizon) else f"{r.horizon:.1f}"
    _draw_traces(ax1, r, rf"$\gamma$ = {r.gamma:.2f}, horizon $1/(1-\gamma)$ = {horizon}")
    ax1.legend(fontsize=9, loc="upper right")
    _draw_g0(ax2, r)


def static_return_traces(
    gammas: Sequence[float] = (0.0, 0.5, 0.9, 0.99), rewards: Sequence[np.ndarray] | None = None
) -> Figure:
    """The same episodes' :math:`G_t` at a few discount factors, one panel each (shared y axis)."""
    rewards = sample_episode_rewards() if rewards is None else rewards
    fig, axes = _static_figure(len(gammas), (3.6 * len(gammas), 3.8))
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
    gamma_slider = _slider(
        widgets.FloatSlider, "discount γ (gamma)", heavy=True, min=0.0, max=1.0, step=0.01, value=0.9
    )
    new_button = widgets.Button(description="New trajectories", icon="refresh")

    def readout(r: ReturnTraces) -> str:
        horizon = "∞" if math.isinf(r.horizon) else f"{r.horizon:.1f} steps"
        return _table(
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
    )

    def resample(_button: widgets.Button) -> None:
        state["seed"] += 1
        state["rewards"] = sample_episode_rewards(n_trajectories, state["seed"], source)
        demo.update()

    new_button.on_click(resample)
    demo.state = state
    return demo


# ====================================================================== 3. baselines
@dataclass(frozen=True)
class BaselineStudy:
    r"""Sampled episodes shared by every β (common random numbers).

    With :math:`b(s) = \beta V(s)` the per-trajectory estimate is linear in β:
    :math:`\hat g_i(\beta) = g0_i - \beta\, h_i`, where ``g0`` is the estimate without
    baseline and ``h`` :math:`= \sum_t \gamma^t \nabla\log\pi(a_t|s_t) V(s_t)`.
    """

    mdp: TabularMDP
    theta: np.ndarray
    traj: Trajectories
    values: np.ndarray
    g0: np.ndarray
    h: np.ndarray
    exact: np.ndarray
    betas: np.ndarray = field(default_factory=lambda: np.linspace(0.0, 1.5, 61))


@dataclass(frozen=True)
class BaselineResult:
    r"""Variance and mean of the gradient estimate with baseline :math:`b = \beta V`.

    * ``variance``: measured :math:`\mathrm{tr}\,\mathrm{Cov}[\hat g_i(\beta)]` on the
      study's episodes (from ``mc_gradients(theta, traj, baseline=beta*V)``);
    * ``variance_curve``: the same at every β of ``betas``, the quadratic
      :math:`\mathrm{tr\,Var}(g0) - 2\beta\, \mathrm{tr\,Cov}(g0,h) + \beta^2\, \mathrm{tr\,Var}(h)`;
    * ``beta_star``: its minimiser :math:`\beta^* = \sum \mathrm{Cov}(g0,h) / \sum \mathrm{Var}(h)`;
    * ``exact_mean``: :math:`E[\hat g(\beta)]` by enumeration, the exact gradient for every β,
      because ``exact_baseline_term`` :math:`= \sum_s d(s)\sum_a \pi(a|s)\nabla\log\pi(a|s)\,V(s) = 0`;
    * ``mean``: the sample mean at β (it moves a little: sampling noise, not bias).
    """

    beta: float
    variance: float
    mean: np.ndarray
    exact_mean: np.ndarray
    exact_gradient: np.ndarray
    exact_baseline_term: np.ndarray
    betas: np.ndarray
    variance_curve: np.ndarray
    beta_star: float
    variance_star: float
    variance_zero: float
    variance_one: float
    samples: np.ndarray


@lru_cache(maxsize=4)
def _default_baseline_study(n: int, seed: int) -> BaselineStudy:
    return baseline_study(n, seed, mdp=course_mdp(), theta=DEFAULT_THETA)


def baseline_study(
    n: int = 4000, seed: int = 0, mdp: TabularMDP | None = None, theta: np.ndarray | None = None
) -> BaselineStudy:
    """Sample ``n`` episodes once; every β is measured on these same episodes."""
    n = int(_check_range(n, "n", 10, 1_000_000))
    if mdp is None and theta is None:
        return _default_baseline_study(n, seed)
    mdp = course_mdp() if mdp is None else mdp
    theta = _theta(theta)
    traj = mdp.sample(theta, n, seed=seed)
    V = mdp.values(theta)
    g0 = mdp.mc_gradients(theta, traj)
    h = g0 - mdp.mc_gradients(theta, traj, baseline=V)
    return BaselineStudy(mdp, theta, traj, V, g0, h, mdp.exact_gradient(theta))


def exact_baseline_term(mdp: TabularMDP, theta: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""What a baseline adds to the expected gradient, by enumeration over states and actions.

    .. math:: E\Big[\sum_t \gamma^t \nabla_\theta \log\pi(a_t|s_t)\, b(s_t)\Big]
              = \sum_s d(s)\, b(s) \sum_a \pi(a|s)\, \nabla_\theta \log\pi(a|s) = 0,

    since :math:`\sum_a \pi \nabla\log\pi = \nabla \sum_a \pi = \nabla 1 = 0`. For the
    softmax table :math:`\nabla_{\theta_{s,\cdot}}\log\pi(a|s) = e_a - \pi(\cdot|s)`. Shape ``(S, A)``.
    """
    pi = mdp.policy(theta)
    d = mdp.visitation(theta)
    b = np.asarray(b, dtype=np.float64)
    if b.shape != (mdp.n_states,):
        raise ValueError(f"b must have shape (S,) = ({mdp.n_states},), got {b.shape}")
    score = np.eye(mdp.n_actions)[None, :, :] - pi[:, None, :]  # [s, a, a'] = ∂ log π(a|s) / ∂θ_{s,a'}
    return d[:, None] * b[:, None] * np.einsum("sa,sab->sb", pi, score)


def _trace_moments(g0: np.ndarray, h: np.ndarray) -> tuple[float, float, float]:
    """Σ Var(g0), Σ Cov(g0, h), Σ Var(h) over components (sample moments, ddof = 1)."""
    a = g0.reshape(g0.shape[0], -1)
    c = h.reshape(h.shape[0], -1)
    a = a - a.mean(0)
    c = c - c.mean(0)
    k = a.shape[0] - 1
    return float((a * a).sum() / k), float((a * c).sum() / k), float((c * c).sum() / k)


def optimal_baseline_scale(g0: np.ndarray, h: np.ndarray) -> float:
    r"""The β minimising :math:`\mathrm{tr\,Var}[g0 - \beta h]`.

    .. math:: \beta^* = \sum \mathrm{Cov}(g0, h) / \sum \mathrm{Var}(h)   (sums over components).
    """
    _, cov, var_h = _trace_moments(g0, h)
    if var_h == 0:
        raise ValueError("h has zero variance; the optimal baseline scale is undefined")
    return cov / var_h


def _total_variance(g: np.ndarray) -> float:
    flat = g.reshape(g.shape[0], -1)
    return float(flat.var(0, ddof=1).sum())


def baseline_variance(beta: float, study: BaselineStudy | None = None) -> BaselineResult:
    r"""Measured variance of :math:`\hat g(\beta)` with :math:`b(s) = \beta V(s)`, and its exact mean.

    .. math:: \hat g_i(\beta) = \sum_t \gamma^t \nabla_\theta\log\pi_\theta(a_t|s_t)\,(G_t - \beta V(s_t)),
              \qquad \mathrm{Var}(\beta) = \mathrm{tr}\,\mathrm{Cov}_i[\hat g_i(\beta)].

    The variance is quadratic in β with minimum at β* (close to, but not exactly, 1);
    the exact mean :math:`E[\hat g(\beta)] = \nabla J - \beta \cdot 0` does not move.
    """
    study = study or baseline_study()
    beta = _check_range(beta, "beta", 0.0, 3.0)
    mdp, theta = study.mdp, study.theta
    g = mdp.mc_gradients(theta, study.traj, baseline=beta * study.values)
    var_g0, cov, var_h = _trace_moments(study.g0, study.h)
    curve = var_g0 - 2 * study.betas * cov + study.betas**2 * var_h
    beta_star = optimal_baseline_scale(study.g0, study.h)
    term = exact_baseline_term(mdp, theta, study.values)
    return BaselineResult(
        beta=beta,
        variance=_total_variance(g),
        mean=g.mean(0),
        exact_mean=study.exact - beta * term,
        exact_gradient=study.exact,
        exact_baseline_term=term,
        betas=study.betas,
        variance_curve=curve,
        beta_star=float(beta_star),
        variance_star=float(var_g0 - cov**2 / var_h),
        variance_zero=var_g0,
        variance_one=float(var_g0 - 2 * cov + var_h),
        samples=g,
    )


def _component(result: BaselineResult) -> tuple[int, int]:
    """The gradient component whose per-trajectory estimates spread most at ``result.beta`` (the one worth showing)."""
    spread = result.samples.std(0)
    s, a = np.unravel_index(int(np.argmax(spread)), spread.shape)
    return int(s), int(a)


def _draw_variance_curve(ax: Axes, r: BaselineResult, marks: Sequence[tuple[float, float]] = ()) -> None:
    ax.plot(r.betas, r.variance_curve, color=OKABE_ITO[0], label=r"tr Var $\hat g(\beta)$")
    ax.axvline(r.beta_star, color=OKABE_ITO[2], linestyle="--", label=rf"$\beta^*$ = {r.beta_star:.2f}")
    ax.axvline(1.0, color=OKABE_ITO[1], linestyle=":", label=r"$\beta$ = 1 (b = V)")
    for j, (b, v) in enumerate(marks or ((r.beta, r.variance),)):
        ax.plot([b], [v], "o", color="black", markersize=8, zorder=3, label="measured" if j == 0 else None)
    ax.set_xlabel(r"baseline strength $\beta$  ($b = \beta V$)")
    ax.set_ylabel("variance per trajectory")
    ax.set_ylim(0, 1.7 * r.variance_curve.max())
    ax.legend(fontsize=9, loc="upper left")


def _draw_spread(ax: Axes, results: Sequence[BaselineResult], comp: tuple[int, int]) -> None:
    """Box plots (whiskers 5–95 %) of one gradient component at each β, sample means, and the exact mean."""
    s, a = comp
    data = [r.samples[:, s, a] for r in results]
    box = ax.boxplot(data, whis=(5, 95), showfliers=False, patch_artist=True, widths=0.5)
    for j, patch in enumerate(box["boxes"]):
        patch.set(facecolor=style_cycle(j)["color"], alpha=0.35, linestyle=style_cycle(j)["linestyle"])
    ax.plot(range(1, len(data) + 1), [d.mean() for d in data], "o", color="black", label="sample mean")
    ax.axhline(results[0].exact_gradient[s, a], color="black", linewidth=1.5, linestyle="--",
               label="exact mean (every β)")
    ax.set_xticks(range(1, len(data) + 1), [rf"$\beta$ = {r.beta:.2f}" for r in results])
    ax.set_ylabel(rf"per-trajectory $\hat g$ for $\theta_{{{s},{ACTION_NAMES[a]}}}$")
    ax.legend(fontsize=9, loc="upper right")


def static_baseline_variance(
    betas: Sequence[float] = (0.0, 0.5, 1.0, 1.5), study: BaselineStudy | None = None
) -> Figure:
    """Variance against β (marks at ``betas``), and the spread of one gradient component at those β."""
    study = study or baseline_study()
    results = [baseline_variance(b, study) for b in betas]
    fig, (ax1, ax2) = _static_figure(2, (13, 4.6))
    with course_style():
        _draw_variance_curve(ax1, results[0], marks=[(r.beta, r.variance) for r in results])
        ax1.set_title("same episodes, different baselines")
        _draw_spread(ax2, results, _component(results[0]))
        ax2.set_title("the spread shrinks, the mean stays")
    return fig


def baseline_demo(study: BaselineStudy | None = None) -> SliderDemo:
    """Slider β ∈ [0, 1.5] → measured variance of the gradient estimate with b = β·V."""
    study = study or baseline_study()
    beta_slider = _slider(
        widgets.FloatSlider, "baseline strength β", heavy=True, min=0.0, max=1.5, step=0.05, value=0.0
    )
    zero = baseline_variance(0.0, study)
    comp = _component(zero)

    def compute(beta_slider: float) -> BaselineResult:
        return baseline_variance(beta_slider, study)

    def draw(fig: Figure, r: BaselineResult) -> None:
        ax1, ax2 = fig.subplots(1, 2)
        _draw_variance_curve(ax1, r)
        ax1.set_title(rf"$\beta$ = {r.beta:.2f}: variance {r.variance:.3f}")
        _draw_spread(ax2, [zero, r], comp)
        ax2.set_title("spread of one gradient component")

    def readout(r: BaselineResult) -> str:
        shift = np.abs(r.exact_mean - r.exact_gradient).max()
        return _table(
            [
                ("β", f"{r.beta:.2f}"),
                ("variance", f"{r.variance:.4f}"),
                ("vs no baseline", f"{r.variance / r.variance_zero:.0%}"),
                ("β* (minimum)", f"{r.beta_star:.3f}"),
                ("exact mean shift", f"{shift:.1e}"),
            ],
            "The exact mean never moves (shift ~ 1e-17, rounding). The best β is close to 1, not exactly 1.",
        )

    return SliderDemo({"beta_slider": beta_slider}, compute, draw, readout)


# ====================================================================== 4. GAE
@dataclass(frozen=True)
class GAEStudy:
    r"""Sampled corridor episodes in time-major layout for :func:`pgcourse.gae`, and exact values.

    ``xi`` is a fixed per-state noise vector with unit root-mean-square: the critic
    :math:`\hat V = V + \text{error}\cdot\xi` is off by ``error`` (RMS over states).
    """

    mdp: TabularMDP
    theta: np.ndarray
    traj: Trajectories
    V: np.ndarray
    Q: np.ndarray
    xi: np.ndarray
    lams: np.ndarray = field(default_factory=lambda: np.linspace(0.0, 1.0, 11))
    cache: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class GAEResult:
    r"""Bias and variance of GAE advantages with critic :math:`\hat V = V + \text{error}\cdot\xi`.

    The target is :math:`Q(s_t,a_t) - \hat V(s_t)`: the expectation of the λ = 1
    advantage :math:`G_t - \hat V(s_t)`. (Against the true advantage
    :math:`Q - V`, *every* λ would be off by the constant :math:`V - \hat V(s_t)`,
    which no λ can fix and which does not affect the policy gradient.)

    Per state–action pair ``(s, a)`` (weights ``w`` = visit frequencies):

    * ``bias`` :math:`= \sqrt{\sum w\,(\bar A_{sa} - (Q_{sa} - \hat V_s))^2}`, with
      :math:`\bar A_{sa}` the sample mean of :math:`\hat A_t` over visits of ``(s, a)``;
    * ``exact_bias``: the same with the exact :math:`E[\hat A_t|s,a]` (``exact_lambda_return``);
    * ``noise_floor``: the RMS standard error of :math:`\bar A_{sa}` (clustered by episode,
      since visits within one episode are correlated) — the size a measured bias has
      even when the exact bias is 0;
    * ``variance`` :math:`= \sum w\, \mathrm{Var}[\hat A_t | s, a]`; ``mse = bias² + variance``.

    ``*_curve`` are the same quantities at every λ of ``lams`` (this critic error).
    """

    lam: float
    critic_error: float
    bias: float
    exact_bias: float
    noise_floor: float
    variance: float
    mse: float
    pair_mean: np.ndarray
    pair_std: np.ndarray
    pair_count: np.ndarray
    pair_target: np.ndarray
    pair_exact: np.ndarray
    lams: np.ndarray
    bias_curve: np.ndarray
    exact_bias_curve: np.ndarray
    variance_curve: np.ndarray


@lru_cache(maxsize=4)
def _default_gae_study(n: int, seed: int, noise_seed: int) -> GAEStudy:
    return gae_study(n, seed, noise_seed, mdp=course_mdp(), theta=DEFAULT_THETA)


def gae_study(
    n: int = 2000,
    seed: int = 0,
    noise_seed: int = 1,
    mdp: TabularMDP | None = None,
    theta: np.ndarray | None = None,
) -> GAEStudy:
    """Sample ``n`` episodes once and fix the critic's per-state error direction ξ (from ``noise_seed``)."""
    n = int(_check_range(n, "n", 10, 1_000_000))
    if mdp is None and theta is None:
        return _default_gae_study(n, seed, noise_seed)
    mdp = course_mdp() if mdp is None else mdp
    theta = _theta(theta)
    traj = mdp.sample(theta, n, seed=seed)
    xi = np.random.default_rng(noise_seed).standard_normal(mdp.n_states)
    xi = xi / np.sqrt(np.mean(xi**2))
    return GAEStudy(mdp, theta, traj, mdp.values(theta), mdp.q_values(theta), xi)


def critic_values(study: GAEStudy, critic_error: float) -> np.ndarray:
    r"""The imperfect critic :math:`\hat V(s) = V(s) + \text{error}\cdot\xi(s)`, shape ``(S,)``."""
    critic_error = _check_range(critic_error, "critic_error", 0.0, 10.0)
    return study.V + critic_error * study.xi


def gae_inputs(traj: Trajectories, v_hat: np.ndarray) -> dict[str, np.ndarray]:
    r"""Arrays for :func:`pgcourse.gae` in time-major ``(T, n)`` layout.

    ``values[t]`` :math:`= \hat V(s_t)`, ``next_values[t]`` :math:`= \hat V(s_{t+1})`
    (0 where the step terminated), ``terminated[t] = 1`` at the last step of each
    episode (and on the padding after it, which therefore contributes nothing).
    """
    valid = traj.valid.T
    nxt = traj.next_states.T
    return {
        "rewards": np.where(valid, traj.rewards.T, 0.0),
        "values": np.where(valid, v_hat[traj.states.T], 0.0),
        "next_values": np.where(nxt >= 0, v_hat[np.maximum(nxt, 0)], 0.0),
        "terminated": ((~valid) | (nxt < 0)).astype(np.float64),
    }


def exact_lambda_return(mdp: TabularMDP, theta: np.ndarray, v_hat: np.ndarray, lam: float) -> np.ndarray:
    r"""Exact :math:`W(s,a) = E[G^\lambda_t \mid s_t=s, a_t=a]` for the critic ``v_hat``, shape ``(S, A)``.

    The λ-return :math:`G^\lambda_t = \hat A_t + \hat V(s_t)` satisfies
    :math:`G^\lambda_t = r_t + \gamma[(1-\lambda)\hat V(s_{t+1}) + \lambda G^\lambda_{t+1}]`
    (no future after termination), so with :math:`U(s) = \sum_a \pi(a|s) W(s,a)`:

    .. math:: U = (I - \gamma\lambda P_\pi)^{-1}\,(r_\pi + \gamma(1-\lambda) P_\pi \hat V), \qquad
              W = R + \gamma P\,[(1-\lambda)\hat V + \lambda U].

    At λ = 1, :math:`W = Q` for any critic; with :math:`\hat V = V`, :math:`W = Q` for any λ.
    The exact bias of :math:`\hat A_t` is therefore :math:`W(s_t,a_t) - Q(s_t,a_t)`.
    """
    lam = _check_range(lam, "lam", 0.0, 1.0)
    pi = mdp.policy(theta)
    g = mdp.gamma
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)
    r_pi = (pi * mdp.R).sum(-1)
    U = np.linalg.solve(np.eye(mdp.n_states) - g * lam * P_pi, r_pi + g * (1 - lam) * P_pi @ v_hat)
    return mdp.R + g * mdp.P @ ((1 - lam) * v_hat + lam * U)


def _gae_stats(study: GAEStudy, v_hat: np.ndarray, lam: float) -> dict[str, Any]:
    """Per-(s, a) mean, std and count of the GAE advantages, and the RMS summaries."""
    inp = gae_inputs(study.traj, v_hat)
    with torch_threads(1):
        adv, _ = gae(inp["rewards"], inp["values"], inp["next_values"], inp["terminated"], None, study.mdp.gamma, lam)
    adv = adv.numpy().astype(np.float64)
    valid = study.traj.valid.T
    S, A = study.Q.shape
    pair = (study.traj.states.T * A + study.traj.actions.T)[valid]
    x = adv[valid]
    count = np.bincount(pair, minlength=S * A).astype(float)
    safe = np.maximum(count, 1)
    mean = np.bincount(pair, weights=x, minlength=S * A) / safe
    var = np.bincount(pair, weights=(x - mean[pair]) ** 2, minlength=S * A) / np.maximum(count - 1, 1)
    # standard error of each pair mean, clustered by episode: visits within one episode share
    # their future rewards, so they are not independent samples
    n_ep = study.traj.n
    episode = np.broadcast_to(np.arange(n_ep), valid.shape)[valid]
    resid = np.bincount(pair * n_ep + episode, weights=x - mean[pair], minlength=S * A * n_ep)
    se2 = (resid.reshape(S * A, n_ep) ** 2).sum(1) / safe**2
    w = count / count.sum()
    target = (study.Q - v_hat[:, None]).ravel()
    exact = (exact_lambda_return(study.mdp, study.theta, v_hat, lam) - v_hat[:, None]).ravel()
    seen = count > 0
    return {
        "mean": mean.reshape(S, A),
        "std": np.sqrt(var).reshape(S, A),
        "count": count.reshape(S, A),
        "target": target.reshape(S, A),
        "exact": exact.reshape(S, A),
        "bias": float(np.sqrt((w * (mean - target) ** 2)[seen].sum())),
        "exact_bias": float(np.sqrt((w * (exact - target) ** 2).sum())),
        "noise_floor": float(np.sqrt((w * se2)[seen].sum())),
        "variance": float((w * var).sum()),
    }


def _gae_curves(study: GAEStudy, critic_error: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    key = ("curves", round(critic_error, 12))
    if key not in study.cache:
        v_hat = critic_values(study, critic_error)
        stats = [_gae_stats(study, v_hat, float(lam)) for lam in study.lams]
        study.cache[key] = tuple(np.array([s[k] for s in stats]) for k in ("bias", "exact_bias", "variance"))
    return study.cache[key]


def gae_bias_variance(lam: float, critic_error: float, study: GAEStudy | None = None) -> GAEResult:
    r"""Bias and variance of :math:`\hat A^{GAE(\gamma,\lambda)}_t` against :math:`Q(s_t,a_t) - \hat V(s_t)`.

    .. math:: \delta_t = r_t + \gamma(1-\mathrm{terminated}_t)\hat V(s_{t+1}) - \hat V(s_t), \qquad
              \hat A_t = \sum_{k\ge0} (\gamma\lambda)^k \delta_{t+k}.

    What the numbers show (see :class:`GAEResult` for the definitions):

    * **λ = 1 is unbiased for any critic error**: :math:`\hat A_t = G_t - \hat V(s_t)`,
      whose expectation given :math:`(s_t,a_t)` is exactly :math:`Q(s_t,a_t) - \hat V(s_t)`;
    * **with error 0 every λ is unbiased** (:math:`E[\delta_t|s_t,a_t] = Q - V` for the true V);
    * **the variance grows with λ** (more sampled rewards in the sum) for an accurate
      critic; a very wrong critic adds its own noise :math:`\gamma\hat V(s_{t+1})` to
      the TD error, so then the least variance may be at an intermediate λ.
    """
    study = study or gae_study()
    lam = _check_range(lam, "lam", 0.0, 1.0)
    critic_error = _check_range(critic_error, "critic_error", 0.0, 10.0)
    st = _gae_stats(study, critic_values(study, critic_error), lam)
    bias_curve, exact_curve, var_curve = _gae_curves(study, critic_error)
    return GAEResult(
        lam=lam,
        critic_error=critic_error,
        bias=st["bias"],
        exact_bias=st["exact_bias"],
        noise_floor=st["noise_floor"],
        variance=st["variance"],
        mse=st["bias"] ** 2 + st["variance"],
        pair_mean=st["mean"],
        pair_std=st["std"],
        pair_count=st["count"],
        pair_target=st["target"],
        pair_exact=st["exact"],
        lams=study.lams,
        bias_curve=bias_curve,
        exact_bias_curve=exact_curve,
        variance_curve=var_curve,
    )


def _draw_tradeoff(ax: Axes, r: GAEResult) -> None:
    ax.plot(r.lams, r.bias_curve**2, "o", color=OKABE_ITO[0], label="bias² (measured)")
    ax.plot(r.lams, r.exact_bias_curve**2, "-", color=OKABE_ITO[0], label="bias² (exact)")
    ax.plot(r.lams, r.variance_curve, "--", color=OKABE_ITO[1], label="variance")
    ax.plot(r.lams, r.bias_curve**2 + r.variance_curve, ":", color=OKABE_ITO[2], label="bias² + variance")
    ax.axvline(r.lam, color="0.3", linewidth=1)
    ax.set_xlabel(r"GAE $\lambda$")
    ax.set_ylabel("squared error of the advantage")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=9, loc="upper center")


def _draw_pairs(ax: Axes, r: GAEResult) -> None:
    x = np.arange(r.pair_mean.size)
    se = (r.pair_std / np.sqrt(np.maximum(r.pair_count, 1))).ravel()
    ax.errorbar(x, r.pair_mean.ravel(), yerr=2 * se, fmt="o", color=OKABE_ITO[0], capsize=2,
                label=r"mean $\hat A_t$ (±2 s.e.)")
    ax.scatter(x, r.pair_target.ravel(), marker="_", s=500, color="black", linewidths=2.5,
               label=r"target $Q - \hat V$", zorder=3)
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.set_xticks(x, _pair_labels(r.pair_mean.shape[0]))
    ax.set_xlabel("state, action")
    ax.set_ylabel("advantage")
    ax.legend(fontsize=9)


def _draw_gae(fig: Figure, r: GAEResult) -> None:
    ax1, ax2 = fig.subplots(1, 2)
    _draw_tradeoff(ax1, r)
    ax1.set_title(f"critic error {r.critic_error:.2f}")
    _draw_pairs(ax2, r)
    ax2.set_title(rf"$\lambda$ = {r.lam:.2f}: bias {r.bias:.3f}, std {math.sqrt(r.variance):.3f}")


def static_gae_bias_variance(
    critic_errors: Sequence[float] = (0.0, 0.1, 0.2, 0.4), study: GAEStudy | None = None
) -> Figure:
    """Bias and variance of the GAE advantage against λ, one line per critic error."""
    study = study or gae_study()
    fig, (ax1, ax2) = _static_figure(2, (13, 4.6))
    with course_style():
        for j, err in enumerate(critic_errors):
            r = gae_bias_variance(1.0, err, study)
            st = style_cycle(j)
            ax1.plot(r.lams, r.exact_bias_curve, color=st["color"], linestyle=st["linestyle"], label=f"{err:g}")
            ax1.plot(r.lams, r.bias_curve, "o", color=st["color"], markersize=4)
            ax2.plot(r.lams, r.variance_curve, marker="o", markersize=4, label=f"{err:g}", **st)
        ax1.set_title("bias (lines: exact, dots: measured)")
        ax1.set_xlabel(r"GAE $\lambda$")
        ax1.set_ylabel(r"RMS bias of $\hat A_t$")
        ax1.legend(title="critic error", fontsize=9)
        ax2.set_title("variance")
        ax2.set_xlabel(r"GAE $\lambda$")
        ax2.set_ylabel(r"Var[$\hat A_t$ | s, a]")
        ax2.set_ylim(bottom=0)
        ax2.legend(title="critic error", fontsize=9)
    return fig


def gae_demo(study: GAEStudy | None = None) -> SliderDemo:
    """Sliders λ and critic error → bias and variance of GAE advantages against the exact target."""
    study = study or gae_study()
    lam_slider = _slider(widgets.FloatSlider, "GAE λ (lambda)", heavy=True, min=0.0, max=1.0, step=0.05, value=0.9)
    error_slider = _slider(
        widgets.FloatSlider, "critic error (RMS)", heavy=True, min=0.0, max=0.5, step=0.05, value=0.2
    )

    def compute(lam_slider: float, error_slider: float) -> GAEResult:
        return gae_bias_variance(lam_slider, error_slider, study)

    def readout(r: GAEResult) -> str:
        return _table(
            [
                ("λ", f"{r.lam:.2f}"),
                ("critic error", f"{r.critic_error:.2f}"),
                ("bias (measured)", f"{r.bias:.4f}"),
                ("bias (exact)", f"{r.exact_bias:.4f}"),
                ("variance", f"{r.variance:.4f}"),
                ("bias² + variance", f"{r.mse:.4f}"),
            ],
            "λ = 1 is unbiased for any critic; λ = 0 trusts the critic most. With error 0 every λ is unbiased.",
        )

    return SliderDemo({"lam_slider": lam_slider, "error_slider": error_slider}, compute, _draw_gae, readout)


# ====================================================================== 8. KL estimators (notebook 08)
@dataclass(frozen=True)
class KLEstimates:
    r"""k1 and k3 estimates of :math:`\mathrm{KL}(\pi_{old}\|\pi_\theta)`, one per small batch, and their exact laws.

    The two "policies" are Gaussians of unit standard deviation, :math:`\pi_{old} = N(0, 1)`
    and :math:`\pi_\theta = N(\delta, 1)`: the new policy's mean moved by ``shift`` δ
    standard deviations, and :math:`\mathrm{KL} = \delta^2/2` exactly. Actions are
    sampled from :math:`\pi_{old}`, so :math:`\log r = \delta a - \delta^2/2`, and for a
    batch of ``batch_size`` B actions:

    * k1 :math:`= \mathrm{mean}(-\log r)` is Gaussian, with mean :math:`\delta^2/2`,
      standard deviation :math:`\delta/\sqrt B` (``k1_std_theory``) and probability
      :math:`\Phi(-\delta\sqrt B/2)` of being negative (``k1_negative_theory``);
    * k3 :math:`= \mathrm{mean}((r - 1) - \log r) \ge 0`, with mean :math:`\delta^2/2` and
      standard deviation :math:`\sqrt{(e^{\delta^2} - 1 - \delta^2)/B}` (``k3_std_theory``).

    k3 is less noisy while :math:`e^{\delta^2} - 1 - \delta^2 < \delta^2`, i.e. for
    :math:`\delta <` :data:`KL_CROSSOVER_SHIFT` ≈ 1.12 (KL < 0.63): everywhere PPO operates.
    ``k1``, ``k3``: the ``n_batches`` estimates, computed with :func:`pgcourse.approx_kl`.
    """

    shift: float
    batch_size: int
    exact: float
    k1: np.ndarray
    k3: np.ndarray
    k1_std_theory: float
    k3_std_theory: float
    k1_negative_theory: float

    @property
    def k1_mean(self) -> float:
        return float(self.k1.mean())

    @property
    def k3_mean(self) -> float:
        return float(self.k3.mean())

    @property
    def k1_std(self) -> float:
        return float(self.k1.std(ddof=1))

    @property
    def k3_std(self) -> float:
        return float(self.k3.std(ddof=1))

    @property
    def k1_negative(self) -> float:
        """Fraction of k1 estimates below 0 (a KL never is)."""
        return float((self.k1 < 0).mean())

    @property
    def k3_negative(self) -> float:
        return float((self.k3 < 0).mean())


def _crossover_shift() -> float:
    """δ at which :math:`e^{\\delta^2} - 1 - \\delta^2 = \\delta^2`: k1 and k3 are equally noisy."""
    lo, hi = 0.5, 2.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if math.expm1(mid**2) - 2 * mid**2 < 0 else (lo, mid)
    return 0.5 * (lo + hi)


#: Below this shift δ (in standard deviations of the policy) k3 has the smaller variance; above it, k1.
KL_CROSSOVER_SHIFT = _crossover_shift()


@lru_cache(maxsize=8)
def _standard_normal(n_batches: int, batch_size: int, seed: int) -> torch.Tensor:
    """The same actions (in units of σ) for every shift: common random numbers, so the slider moves smoothly."""
    return torch.randn(n_batches, batch_size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def kl_estimates(shift: float, batch_size: int = 16, n_batches: int = 2000, seed: int = 0) -> KLEstimates:
    r"""``n_batches`` k1 and k3 estimates of :math:`\mathrm{KL}(N(0,1) \| N(\delta,1)) = \delta^2/2`, B actions each.

    Each batch's log-probabilities go through :func:`pgcourse.approx_kl`, exactly as in
    training; the exact KL and the exact spread of both estimators come with them
    (see :class:`KLEstimates`). Results are cached: the static figure, the checks and
    the slider share them.
    """
    shift = _check_range(shift, "shift", 0.0, 3.0)
    batch_size = int(_check_range(batch_size, "batch_size", 1, 4096))
    n_batches = int(_check_range(n_batches, "n_batches", 2, 100_000))
    return _kl_estimates(shift, batch_size, n_batches, int(seed))


@lru_cache(maxsize=64)
def _kl_estimates(shift: float, batch_size: int, n_batches: int, seed: int) -> KLEstimates:
    a = _standard_normal(n_batches, batch_size, seed)
    old = torch.distributions.Normal(0.0, 1.0)
    new = torch.distributions.Normal(shift, 1.0)
    old_lp, new_lp = old.log_prob(a), new.log_prob(a)
    with torch_threads(1):
        k1 = np.array([float(approx_kl(o, n, "k1")) for o, n in zip(old_lp, new_lp)])
        k3 = np.array([float(approx_kl(o, n, "k3")) for o, n in zip(old_lp, new_lp)])
    k1.flags.writeable = k3.flags.writeable = False  # shared through the cache
    d2 = shift**2
    return KLEstimates(
        shift=shift,
        batch_size=batch_size,
        exact=d2 / 2,
        k1=k1,
        k3=k3,
        k1_std_theory=shift / math.sqrt(batch_size),
        k3_std_theory=math.sqrt(max(math.expm1(d2) - d2, 0.0) / batch_size),
        k1_negative_theory=0.5 * math.erfc(shift * math.sqrt(batch_size) / 2 / math.sqrt(2)) if shift > 0 else 0.0,
    )


def _draw_kl_hist(ax: Axes, r: KLEstimates, title: str | None = None) -> None:
    lo = min(np.percentile(r.k1, 0.5), 0.0)
    hi = max(np.percentile(r.k1, 99.5), np.percentile(r.k3, 99.5), 2 * r.exact, 1e-3)
    bins = np.linspace(lo, hi, 50)
    for j, (name, est) in enumerate((("k1", r.k1), ("k3", r.k3))):
        st = style_cycle(j)
        ax.hist(est, bins=bins, density=True, histtype="stepfilled", alpha=0.25, color=st["color"])
        label = f"{name} (std {est.std():.3g})"
        ax.hist(est, bins=bins, density=True, histtype="step", linewidth=1.8, label=label, **st)
    ax.axvline(r.exact, color="black", linewidth=2, label=f"exact KL {r.exact:.3g}")
    ax.axvline(0, color="0.5", linewidth=0.8)
    ax.set_xlabel(f"estimate from a batch of {r.batch_size} actions")
    ax.set_yticks([])
    ax.set_title(title or rf"shift $\delta$ = {r.shift:.2f}")
    ax.legend(fontsize=9)


def _draw_kl_spread(ax: Axes, r: KLEstimates) -> None:
    shifts = np.linspace(0.0, 2.0, 81)
    b = r.batch_size
    k1 = shifts / np.sqrt(b)
    k3 = np.sqrt(np.maximum(np.expm1(shifts**2) - shifts**2, 0.0) / b)
    ax.plot(shifts, k1, label="k1 (theory)", **style_cycle(0))
    ax.plot(shifts, k3, label="k3 (theory)", **style_cycle(1))
    ax.plot([r.shift], [r.k1_std], "o", color=OKABE_ITO[0], markersize=8, label="measured")
    ax.plot([r.shift], [r.k3_std], "o", color=OKABE_ITO[1], markersize=8)
    top = float(k1.max()) * 1.6
    ax.set_ylim(0, top)
    ax.axvline(KL_CROSSOVER_SHIFT, color="0.4", linestyle=":", linewidth=1.5)
    ax.text(KL_CROSSOVER_SHIFT, 0.55 * top, "k3 less noisy ←  ", fontsize=9, color="0.3", ha="right")
    ax.text(KL_CROSSOVER_SHIFT, 0.08 * top, "  → k1 less noisy", fontsize=9, color="0.3", ha="left")
    ax.set_xlabel(r"shift $\delta$ of the new policy (in $\sigma$)")
    ax.set_ylabel("std of the estimate")
    ax.legend(fontsize=9, loc="upper left")


def static_kl_estimators(
    shifts: Sequence[float] = (0.1, 0.3, 0.6, 1.5), batch_size: int = 16, n_batches: int = 2000
) -> Figure:
    """Histograms of k1 and k3 estimates at a few shifts, each with the exact KL (one panel per shift)."""
    fig, axes = _static_figure(len(shifts), (3.7 * len(shifts), 3.8))
    with course_style():
        for ax, s in zip(axes, shifts, strict=True):
            r = kl_estimates(s, batch_size, n_batches)
            _draw_kl_hist(ax, r, rf"$\delta$ = {s:g}: KL = {r.exact:.3g}")
    return fig


def kl_estimator_demo(batch_size: int = 16, n_batches: int = 2000) -> SliderDemo:
    """Sliders: shift δ of the new policy and batch size → the spread of k1 and k3 against the exact KL."""
    shift_slider = _slider(widgets.FloatSlider, "shift δ (in σ)", min=0.0, max=2.0, step=0.05, value=0.3)
    options = [2**k for k in range(1, 9)]
    batch_slider = _slider(
        widgets.SelectionSlider, "batch size B", options=options, value=batch_size if batch_size in options else 16
    )

    def compute(shift_slider: float, batch_slider: int) -> KLEstimates:
        return kl_estimates(shift_slider, batch_slider, n_batches)

    def draw(fig: Figure, r: KLEstimates) -> None:
        ax1, ax2 = fig.subplots(1, 2)
        _draw_kl_hist(ax1, r)
        _draw_kl_spread(ax2, r)
        ax2.set_title(f"spread of the estimates, B = {r.batch_size}")

    def readout(r: KLEstimates) -> str:
        return _table(
            [
                ("exact KL δ²/2", f"{r.exact:.4f}"),
                ("mean of k1 / k3", f"{r.k1_mean:.4f} / {r.k3_mean:.4f}"),
                ("std of k1 / k3", f"{r.k1_std:.4f} / {r.k3_std:.4f}"),
                ("k1 < 0", f"{r.k1_negative:.0%} of batches"),
                ("k3 < 0", f"{r.k3_negative:.0%} of batches"),
            ],
            "Both are unbiased (their means match the exact KL). k3 is never negative and, for "
            f"δ < {KL_CROSSOVER_SHIFT:.2f}, less noisy; past that its heavy tail makes it the noisier one.",
        )

    return SliderDemo({"shift_slider": shift_slider, "batch_slider": batch_slider}, compute, draw, readout)


# ====================================================================== 6. PPO: the clip range ε (notebook 06)
@dataclass(frozen=True)
class ClipObjective:
    r"""The per-sample clipped surrogate :math:`L^{CLIP}(r)` and its slope, for :math:`A = +|A|` and :math:`A = -|A|`.

    ``objective_pos[i]`` :math:`= \min(r_i A, \mathrm{clip}(r_i, 1-\epsilon, 1+\epsilon) A)` with
    :math:`A = +` ``advantage``; ``grad_pos[i]`` :math:`= \partial L^{CLIP} / \partial r` there (by autograd
    through :func:`pgcourse.algorithms.ppo.clipped_surrogate_loss`); ``*_neg`` the same for
    :math:`A = -` ``advantage``. ``unclipped_*`` :math:`= r A`, the importance-sampled surrogate
    without the clip. ``flat_pos`` / ``flat_neg`` mark where the slope is zero: :math:`r > 1+\epsilon`
    for :math:`A > 0` and :math:`r < 1-\epsilon` for :math:`A < 0`.
    """

    clip_eps: float
    advantage: float
    ratios: np.ndarray
    objective_pos: np.ndarray
    objective_neg: np.ndarray
    grad_pos: np.ndarray
    grad_neg: np.ndarray
    unclipped_pos: np.ndarray
    unclipped_neg: np.ndarray

    @property
    def flat_pos(self) -> np.ndarray:
        return self.grad_pos == 0

    @property
    def flat_neg(self) -> np.ndarray:
        return self.grad_neg == 0

    @property
    def window(self) -> tuple[float, float]:
        """The trust window :math:`[1-\\epsilon, 1+\\epsilon]`."""
        return 1.0 - self.clip_eps, 1.0 + self.clip_eps


def clip_objective(
    clip_eps: float, advantage: float = 1.0, ratios: Sequence[float] | np.ndarray | None = None
) -> ClipObjective:
    r"""Evaluate the package's :math:`L^{CLIP}` one sample at a time on a grid of ratios.

    .. math:: L^{CLIP}(r) = \min\big(r A,\ \mathrm{clip}(r, 1-\epsilon, 1+\epsilon)\, A\big)

    (the negative of :func:`~pgcourse.algorithms.ppo.clipped_surrogate_loss` for a batch of one).
    For :math:`A > 0` it stops rising at :math:`r = 1+\epsilon`; for :math:`A < 0` it stops rising
    (as :math:`r` falls) at :math:`r = 1-\epsilon`. In those flat regions the gradient is zero: the
    sample no longer pushes the policy. Everywhere else the slope is :math:`A`, as for :math:`r A`.
    """
    clip_eps = _check_range(clip_eps, "clip_eps", 1e-6, 1.0)
    advantage = _check_range(advantage, "advantage", 1e-6, 1e6)
    grid = np.linspace(0.0, 2.0, 401) if ratios is None else np.asarray(ratios, dtype=np.float64).ravel()
    if grid.size == 0 or not np.all(np.isfinite(grid)) or (grid < 0).any():
        raise ValueError("ratios must be a non-empty array of finite values >= 0 (probability ratios)")

    def per_sample(ri: torch.Tensor, ai: torch.Tensor) -> torch.Tensor:
        return -clipped_surrogate_loss(ri.reshape(1), ai.reshape(1), clip_eps)

    value = torch.func.vmap(per_sample, in_dims=(0, None))  # a batch of one per ratio
    out = {}
    with torch_threads(1):
        for name, a in (("pos", advantage), ("neg", -advantage)):
            r = torch.tensor(grid, dtype=torch.float64, requires_grad=True)
            adv = torch.full_like(r, a)
            out[f"objective_{name}"] = value(r.detach(), adv[0]).numpy()
            # the loss is -mean_i L_i and sample i only enters L_i, so dL_i/dr_i = -n * d(loss)/dr_i
            (g,) = torch.autograd.grad(clipped_surrogate_loss(r, adv, clip_eps), r)
            out[f"grad_{name}"] = (-grid.size * g).numpy() + 0.0  # + 0.0 turns -0.0 into 0.0
            out[f"unclipped_{name}"] = grid * a
    return ClipObjective(clip_eps=clip_eps, advantage=advantage, ratios=grid, **out)


def _draw_clip_panel(ax: Axes, res: ClipObjective, sign: str, style: Mapping[str, Any], label: str | None,
                     shade: bool = True, unclipped: bool = True) -> None:
    r = res.ratios
    obj = res.objective_pos if sign == "pos" else res.objective_neg
    flat = res.flat_pos if sign == "pos" else res.flat_neg
    if unclipped:
        raw = res.unclipped_pos if sign == "pos" else res.unclipped_neg
        ax.plot(r, raw, color="0.55", linestyle=(0, (2, 2)), linewidth=1.5, label=r"$r\,A$ (no clip)")
    ax.plot(r, obj, label=label, **style)
    if shade and flat.any():
        lo, hi = r[flat].min(), r[flat].max()
        ax.axvspan(lo, hi, color=style["color"], alpha=0.12, linewidth=0, label="flat: gradient 0")
    ax.axvline(1.0, color="0.3", linewidth=0.8)
    ax.set_xlabel(r"ratio $r = \pi_\theta(a|s)\,/\,\pi_{old}(a|s)$")


def _clip_titles(ax_pos: Axes, ax_neg: Axes) -> None:
    ax_pos.set_title(r"$A > 0$: a good action")
    ax_neg.set_title(r"$A < 0$: a bad action")
    ax_pos.set_ylabel(r"$L^{CLIP}$ of one sample")


def _draw_clip_objective(fig: Figure, res: ClipObjective) -> None:
    ax_pos, ax_neg = fig.subplots(1, 2, sharex=True)
    lo, hi = res.window
    for ax, sign, where in ((ax_pos, "pos", "upper left"), (ax_neg, "neg", "lower left")):
        _draw_clip_panel(ax, res, sign, {"color": OKABE_ITO[0], "linestyle": "-"}, r"$L^{CLIP}$")
        ax.axvline(lo, color=OKABE_ITO[1], linestyle="--", linewidth=1.2, label=r"$1 \pm \epsilon$")
        ax.axvline(hi, color=OKABE_ITO[1], linestyle="--", linewidth=1.2)
        ax.legend(fontsize=9, loc=where)
    _clip_titles(ax_pos, ax_neg)
    ax_pos.set_title(rf"$A > 0$: flat for $r > {hi:.2f}$")
    ax_neg.set_title(rf"$A < 0$: flat for $r < {lo:.2f}$")


def static_clip_objective(clip_eps_values: Sequence[float] = (0.1, 0.2, 0.3)) -> Figure:
    """:math:`L^{CLIP}(r)` for :math:`A = +1` and :math:`A = -1` at a few ε, with :math:`rA` for reference."""
    fig, (ax_pos, ax_neg) = _static_figure(2, (13, 4.6))
    with course_style():
        for j, eps in enumerate(clip_eps_values):
            res = clip_objective(eps)
            for ax, sign in ((ax_pos, "pos"), (ax_neg, "neg")):
                _draw_clip_panel(ax, res, sign, style_cycle(j), rf"$\epsilon$ = {eps:g}", shade=False,
                                 unclipped=(j == 0))
        _clip_titles(ax_pos, ax_neg)
        ax_pos.legend(fontsize=9, loc="upper left")
        ax_neg.legend(fontsize=9, loc="lower left")
    return fig


def clip_objective_demo(advantage: float = 1.0) -> SliderDemo:
    """Slider ε → :math:`L^{CLIP}(r)` for a good and a bad action, the flat (zero-gradient) regions shaded."""
    eps_slider = _slider(widgets.FloatSlider, "clip ε (epsilon)", heavy=True, min=0.05, max=0.5, step=0.05,
                         value=0.2, readout_format=".2f")

    def compute(eps_slider: float) -> ClipObjective:
        return clip_objective(eps_slider, advantage)

    def readout(res: ClipObjective) -> str:
        lo, hi = res.window
        return _table(
            [
                ("ε", f"{res.clip_eps:.2f}"),
                ("trust window", f"[{lo:.2f}, {hi:.2f}]"),
                ("A > 0: flat for", f"r > {hi:.2f}"),
                ("A < 0: flat for", f"r < {lo:.2f}"),
                ("most one sample can gain", f"(1 + ε)·A = {hi * res.advantage:.2f}"),
            ],
            "In the shaded region the slope is 0: that sample stops pulling the policy. "
            "Small ε: a tight leash. Large ε: closer to the unclipped r·A.",
        )

    return SliderDemo({"eps_slider": eps_slider}, compute, _draw_clip_objective, readout)


@dataclass(frozen=True)
class ClipUpdateStudy:
    r"""One fixed rollout and the policy :math:`\pi_{old}` that collected it, shared by every ε.

    ``batch`` comes from :func:`~pgcourse.algorithms.on_policy.prepare_batch` (GAE advantages);
    ``policy`` is never modified: each ε trains its own copy with its own Adam, on the same
    minibatch shuffles (common random numbers), so differences between two ε are due to ε.
    ``pretrain_mean_return``: the running mean return at the end of the short PPO run that
    produced ``policy`` (NaN for a fresh policy).
    """

    env_id: str
    seed: int
    config: PPOConfig
    policy: torch.nn.Module  # π_old, in eval mode; never trained by the demo
    batch: Batch
    pretrain_mean_return: float = math.nan
    cache: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ClipUpdateResult:
    r"""How far PPO's epochs on one rollout move the policy, for one clip range ε.

    Per epoch ``k = 1..n_epochs`` (measured on the whole rollout after that epoch):
    ``approx_kl[k-1]`` — the k3 estimate of :math:`\mathrm{KL}(\pi_{old}\|\pi_\theta)`;
    ``clip_fraction[k-1]`` — the fraction of samples with :math:`|r - 1| > \epsilon` (as PPO logs it).
    ``ratios``: every sample's :math:`r` after the last epoch.
    """

    clip_eps: float
    epochs: np.ndarray
    approx_kl: np.ndarray
    clip_fraction: np.ndarray
    ratios: np.ndarray

    @property
    def mean_ratio_change(self) -> float:
        """:math:`\\mathrm{mean}|r - 1|` after the last epoch: how far the average sample's probability moved."""
        return float(np.mean(np.abs(self.ratios - 1.0)))

    def fraction_outside(self, window: float) -> float:
        """Fraction of samples with :math:`|r - 1| >` ``window`` after the last epoch (a fixed yardstick)."""
        return float(np.mean(np.abs(self.ratios - 1.0) > window))


@lru_cache(maxsize=4)
def _cached_clip_update_study(env_id: str, seed: int, config: PPOConfig, pretrain_steps: int) -> ClipUpdateStudy:
    policy, pretrain_return = None, math.nan
    if pretrain_steps > 0:
        with torch.random.fork_rng(devices=[]):
            run = train_ppo(env_id, config, seed=seed, total_steps=pretrain_steps, progress=False)
        policy, pretrain_return = run.policy, run.history[-1]["mean_return"]
    envs = make_vec_env(env_id, config.n_envs, seed, config.normalize_reward, config.gamma)
    try:
        with torch.random.fork_rng(devices=[]), torch_threads(1):
            torch.manual_seed(seed)
            if policy is None:
                policy = build_actor_critic(envs.single_observation_space, envs.single_action_space, config.hidden,
                                            config.shared, config.normalize_obs, config.log_std_init)
            policy.eval()
            buf, _ = RolloutCollector(envs, policy, seed).collect(config.n_steps)
            batch = prepare_batch(policy, buf, config.gamma, config.gae_lambda)
    finally:
        envs.close()
    return ClipUpdateStudy(env_id, seed, config, policy, batch, pretrain_return)


def clip_update_study(
    env_id: str = "CartPole-v1", seed: int = 0, config: PPOConfig | None = None, pretrain_steps: int = 4000
) -> ClipUpdateStudy:
    """The policy of a short PPO run (``pretrain_steps`` env steps; 0: a fresh one) and one rollout of it.

    The rollout has ``config.n_envs`` × ``config.n_steps`` steps (the course defaults when
    ``config`` is ``None``): exactly what one PPO update sees, at a point where the agent
    has learned something (on CartPole after 4000 steps: mean return about 100) but not
    everything. Cached: the static figure and the slider share one study.
    """
    config = config or PPOConfig()
    pretrain_steps = int(_check_range(pretrain_steps, "pretrain_steps", 0, 1_000_000))
    return _cached_clip_update_study(env_id, int(seed), config, pretrain_steps)


def clip_update_stats(clip_eps: float, study: ClipUpdateStudy | None = None) -> ClipUpdateResult:
    r"""Run PPO's update (:func:`~pgcourse.algorithms.ppo.ppo_update`, one epoch at a time) with clip range ε.

    Starting from :math:`\pi_{old}` each time, the epochs of shuffled minibatch steps on the
    clipped surrogate move the policy; after each epoch we measure the k3 approx KL and the
    clip fraction on the whole rollout. A larger ε lets the ratios drift further from 1
    before their samples stop pulling: the KL grows with ε, and the ratios end up spread
    over roughly :math:`[1-\epsilon, 1+\epsilon]` (a little beyond: the other samples'
    gradients and Adam's momentum still move a clipped sample).
    """
    study = study or clip_update_study()
    clip_eps = _check_range(clip_eps, "clip_eps", 1e-6, 1.0)
    key = round(clip_eps, 12)
    if key in study.cache:
        return study.cache[key]
    cfg = replace(study.config, clip_eps=clip_eps, n_epochs=1, target_kl=None)
    policy = copy.deepcopy(study.policy)
    policy.train()
    optimizer = make_adam(policy.parameters(), cfg.lr)
    kl, cf = [], []
    with torch.random.fork_rng(devices=[]), torch_threads(1):
        torch.manual_seed(study.seed)
        for _ in range(study.config.n_epochs):
            out = ppo_update(policy, optimizer, study.batch, cfg, 1)
            kl.append(out["approx_kl"])
            cf.append(out["clip_fraction"])
        with torch.no_grad():
            new_lp = policy.distribution(study.batch.obs).log_prob(study.batch.actions)
    ratios = torch.exp(new_lp - study.batch.log_probs).double().numpy()
    result = ClipUpdateResult(
        clip_eps=clip_eps,
        epochs=np.arange(1, len(kl) + 1),
        approx_kl=np.array(kl),
        clip_fraction=np.array(cf),
        ratios=ratios,
    )
    study.cache[key] = result
    return result


#: The ε values of the static figure (and the grey context lines of the slider).
CLIP_UPDATE_EPS = (0.05, 0.1, 0.2, 0.4)


def _draw_update_curves(ax_kl: Axes, ax_cf: Axes, results: Sequence[ClipUpdateResult],
                        styles: Sequence[Mapping[str, Any]]) -> None:
    for res, st in zip(results, styles, strict=True):
        label = rf"$\epsilon$ = {res.clip_eps:g}"
        ax_kl.plot(res.epochs, res.approx_kl, marker="o", markersize=4, label=label, **st)
        ax_cf.plot(res.epochs, res.clip_fraction, marker="o", markersize=4, label=label, **st)
    ax_kl.set_xlabel("epoch on the same rollout")
    ax_kl.set_ylabel(r"approx. KL($\pi_{old}\,\|\,\pi_\theta$), k3")
    ax_kl.set_ylim(bottom=0)
    ax_cf.set_xlabel("epoch on the same rollout")
    ax_cf.set_ylabel(r"clip fraction: $|r - 1| > \epsilon$")
    ax_cf.set_ylim(bottom=0)


def _draw_ratio_boxes(ax: Axes, results: Sequence[ClipUpdateResult], styles: Sequence[Mapping[str, Any]]) -> None:
    data = [res.ratios for res in results]
    pos = np.arange(1, len(data) + 1)
    box = ax.boxplot(data, positions=pos, whis=(5, 95), showfliers=False, patch_artist=True, widths=0.5)
    for patch, st in zip(box["boxes"], styles, strict=True):
        patch.set(facecolor=st["color"], alpha=0.35)
    for p, res, st in zip(pos, results, styles, strict=True):
        ax.hlines([1 - res.clip_eps, 1 + res.clip_eps], p - 0.38, p + 0.38, color=st["color"], linewidth=2.5)
    ax.axhline(1.0, color="0.4", linewidth=0.8)
    ax.set_xticks(pos, [rf"$\epsilon$ = {r.clip_eps:g}" for r in results])
    ax.set_ylabel(r"ratio $r$ after the update")
    ax.set_title("ratios after the update (5–95 %)\nbars: the window 1 ± ε", fontsize=10)


def static_clip_updates(clip_eps_values: Sequence[float] = CLIP_UPDATE_EPS,
                        study: ClipUpdateStudy | None = None) -> Figure:
    """KL and clip fraction per epoch on one rollout, one line per ε; the ratios after the last epoch."""
    study = study or clip_update_study()
    results = [clip_update_stats(eps, study) for eps in clip_eps_values]
    styles = [style_cycle(j) for j in range(len(results))]
    fig, (ax_kl, ax_cf, ax_r) = _static_figure(3, (15, 4.6))
    with course_style():
        _draw_update_curves(ax_kl, ax_cf, results, styles)
        ax_kl.set_title("how far the policy moved", fontsize=12)
        ax_cf.set_title("share of samples at the clip", fontsize=12)
        ax_kl.legend(fontsize=9, loc="upper left")
        _draw_ratio_boxes(ax_r, results, styles)
    return fig


def clip_update_demo(study: ClipUpdateStudy | None = None) -> SliderDemo:
    """Slider ε → KL and clip fraction per epoch of PPO's update on one fixed rollout, and the final ratios."""
    study = study or clip_update_study()
    eps_slider = _slider(widgets.FloatSlider, "clip ε (epsilon), real update", heavy=True, min=0.05, max=0.5,
                         step=0.05, value=0.2, readout_format=".2f")
    grey = {"color": "0.75", "linestyle": "-", "linewidth": 1.2}

    def compute(eps_slider: float) -> ClipUpdateResult:
        return clip_update_stats(eps_slider, study)

    def draw(fig: Figure, res: ClipUpdateResult) -> None:
        ax_kl, ax_cf, ax_r = fig.subplots(1, 3, width_ratios=(1, 1, 0.7))
        context = [clip_update_stats(eps, study) for eps in CLIP_UPDATE_EPS]
        _draw_update_curves(ax_kl, ax_cf, context, [grey] * len(context))
        _draw_update_curves(ax_kl, ax_cf, [res], [{"color": OKABE_ITO[0], "linestyle": "-", "linewidth": 2.5}])
        top = max(max(r.approx_kl.max() for r in context), res.approx_kl.max())
        ax_kl.set_ylim(0, 1.1 * top)
        ax_cf.set_ylim(0, 1.1 * max(max(r.clip_fraction.max() for r in context), res.clip_fraction.max(), 0.05))
        ax_kl.set_title(rf"$\epsilon$ = {res.clip_eps:.2f}: KL {res.approx_kl[-1]:.4f}", fontsize=11)
        ax_cf.set_title("grey: ε = " + ", ".join(f"{e:g}" for e in CLIP_UPDATE_EPS), fontsize=10)
        _draw_ratio_boxes(ax_r, [res], [{"color": OKABE_ITO[0], "linestyle": "-"}])

    def readout(res: ClipUpdateResult) -> str:
        return _table(
            [
                ("ε", f"{res.clip_eps:.2f}"),
                ("KL, last epoch", f"{res.approx_kl[-1]:.4f}"),
                ("KL, largest", f"{res.approx_kl.max():.4f}"),
                ("clip fraction", f"{res.clip_fraction[-1]:.1%}"),
                ("mean |r − 1|", f"{res.mean_ratio_change:.3f}"),
            ],
            f"{study.config.n_epochs} epochs on one rollout of {len(study.batch)} transitions. "
            "A wider window lets the policy move further (higher KL) before its samples stop pulling.",
        )

    return SliderDemo({"eps_slider": eps_slider}, compute, draw, readout, figsize=(10.5, 3.8))
