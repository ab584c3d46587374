r"""Notebook 04 (GAE): bias and variance of GAE(γ, λ) against exact advantages."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

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
    pair_labels,
    policy_theta,
    readout_table,
    set_errorbar,
    static_figure,
)
from pgcourse.plots import OKABE_ITO, course_style, style_cycle
from pgcourse.returns import gae
from pgcourse.toy import DEFAULT_THETA, TabularMDP, Trajectories, course_mdp

__all__ = [
    "GAEStudy",
    "GAEResult",
    "gae_study",
    "critic_values",
    "gae_inputs",
    "exact_lambda_return",
    "gae_bias_variance",
    "static_gae_bias_variance",
    "gae_demo",
]


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
    n = int(check_range(n, "n", 10, 1_000_000))
    if mdp is None and theta is None:
        return _default_gae_study(n, seed, noise_seed)
    mdp = course_mdp() if mdp is None else mdp
    theta = policy_theta(theta)
    traj = mdp.sample(theta, n, seed=seed)
    xi = np.random.default_rng(noise_seed).standard_normal(mdp.n_states)
    xi = xi / np.sqrt(np.mean(xi**2))
    return GAEStudy(mdp, theta, traj, mdp.values(theta), mdp.q_values(theta), xi)


def critic_values(study: GAEStudy, critic_error: float) -> np.ndarray:
    r"""The imperfect critic :math:`\hat V(s) = V(s) + \text{error}\cdot\xi(s)`, shape ``(S,)``."""
    critic_error = check_range(critic_error, "critic_error", 0.0, 10.0)
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
    lam = check_range(lam, "lam", 0.0, 1.0)
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
    lam = check_range(lam, "lam", 0.0, 1.0)
    critic_error = check_range(critic_error, "critic_error", 0.0, 10.0)
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


def _draw_tradeoff(ax: Axes, r: GAEResult) -> dict[str, Any]:
    """Squared bias, variance and their sum against λ for this critic error; returns its lines by name."""
    lines = {
        "bias": ax.plot(r.lams, r.bias_curve**2, "o", color=OKABE_ITO[0], label="bias² (measured)")[0],
        "exact": ax.plot(r.lams, r.exact_bias_curve**2, "-", color=OKABE_ITO[0], label="bias² (exact)")[0],
        "variance": ax.plot(r.lams, r.variance_curve, "--", color=OKABE_ITO[1], label="variance")[0],
        "mse": ax.plot(r.lams, r.bias_curve**2 + r.variance_curve, ":", color=OKABE_ITO[2],
                       label="bias² + variance")[0],
        "lam": ax.axvline(r.lam, color="0.3", linewidth=1),
    }
    ax.set_xlabel(r"GAE $\lambda$")
    ax.set_ylabel("squared error of the advantage")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=9, loc="upper center")
    return lines


def _pair_se(r: GAEResult) -> np.ndarray:
    return (r.pair_std / np.sqrt(np.maximum(r.pair_count, 1))).ravel()


def _draw_pairs(ax: Axes, r: GAEResult) -> dict[str, Any]:
    """Mean GAE advantage per state-action pair (±2 s.e.) and its target; returns both by name."""
    x = np.arange(r.pair_mean.size)
    means = ax.errorbar(x, r.pair_mean.ravel(), yerr=2 * _pair_se(r), fmt="o", color=OKABE_ITO[0], capsize=2,
                        label=r"mean $\hat A_t$ (±2 s.e.)")
    target = ax.scatter(x, r.pair_target.ravel(), marker="_", s=500, color="black", linewidths=2.5,
                        label=r"target $Q - \hat V$", zorder=3)
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.set_xticks(x, pair_labels(r.pair_mean.shape[0]))
    ax.set_xlabel("state, action")
    ax.set_ylabel("advantage")
    ax.legend(fontsize=9)
    return {"means": means, "target": target}


def _gae_titles(r: GAEResult) -> tuple[str, str]:
    std = math.sqrt(r.variance)
    return f"critic error {r.critic_error:.2f}", rf"$\lambda$ = {r.lam:.2f}: bias {r.bias:.3f}, std {std:.3f}"


def _draw_gae(fig: Figure, r: GAEResult, ylims: Sequence[tuple[float, float]] | None = None) -> dict[str, Any]:
    """The demo's figure (``ylims``: both panels' y limits); returns the artists a move changes."""
    ax1, ax2 = fig.subplots(1, 2)
    artists = {**_draw_tradeoff(ax1, r), **_draw_pairs(ax2, r), "titles": [ax1.title, ax2.title]}
    artists["legend"] = ax1.get_legend()  # drawn after the λ line, which would cross it
    for title, text in zip(artists["titles"], _gae_titles(r), strict=True):
        title.set_text(text)
    for ax, ylim in zip((ax1, ax2), ylims or (), strict=False):
        ax.set_ylim(*ylim)
    return artists


def _gae_extent(r: GAEResult) -> tuple[np.ndarray, np.ndarray]:
    """The y ranges both panels need for ``r``: (0, top of the curves), (low, high) of the pairs ±2 s.e. and targets."""
    curves = np.concatenate([r.bias_curve**2, r.exact_bias_curve**2, r.variance_curve + r.bias_curve**2,
                             r.variance_curve])
    mean, se, target = r.pair_mean.ravel(), 2 * _pair_se(r), r.pair_target.ravel()
    low = min((mean - se).min(), target.min(), 0.0)
    return np.array([0.0, curves.max()]), np.array([low, max((mean + se).max(), target.max(), 0.0)])


def _refresh_gae(artists: dict[str, Any], r: GAEResult) -> None:
    curves = {"bias": r.bias_curve**2, "exact": r.exact_bias_curve**2, "variance": r.variance_curve}
    curves["mse"] = curves["bias"] + curves["variance"]
    for name, y in curves.items():
        artists[name].set_ydata(y)
    artists["lam"].set_xdata([r.lam, r.lam])
    for title, text in zip(artists["titles"], _gae_titles(r), strict=True):
        title.set_text(text)
    x, se = np.arange(r.pair_mean.size), 2 * _pair_se(r)
    set_errorbar(artists["means"], x, r.pair_mean.ravel(), se)
    artists["target"].set_offsets(np.column_stack([x, r.pair_target.ravel()]))
    for ax, (low, high) in zip((artists["lam"].axes, artists["target"].axes), _gae_extent(r), strict=True):
        keep_limits(ax, low, high, fill=0.0)  # the limits fit the whole grid already; they only grow


def static_gae_bias_variance(
    critic_errors: Sequence[float] = (0.0, 0.1, 0.2, 0.4), study: GAEStudy | None = None
) -> Figure:
    """Bias and variance of the GAE advantage against λ, one line per critic error."""
    study = study or gae_study()
    fig, (ax1, ax2) = static_figure(2, (13, 4.6))
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
    lam_slider = make_slider(widgets.FloatSlider, "GAE λ (lambda)", min=0.0, max=1.0, step=0.05, value=0.9)
    error_slider = make_slider(
        widgets.FloatSlider, "critic error (RMS)", min=0.0, max=0.5, step=0.05, value=0.2
    )

    errors = np.round(np.arange(error_slider.min, error_slider.max + error_slider.step / 2, error_slider.step), 10)
    for err in errors:
        _gae_curves(study, float(err))  # every critic error's curves, once, at build time
    # y limits that hold every (λ, critic error) of the grid: the corners of the grid span it (else they grow)
    corners = [_gae_extent(gae_bias_variance(lam, float(e), study)) for lam in (0.0, 1.0) for e in errors[[0, -1]]]
    ylims = [(min(c[k][0] for c in corners), 1.05 * max(c[k][1] for c in corners)) for k in (0, 1)]
    ylims[1] = (ylims[1][0] - 0.05 * (ylims[1][1] - ylims[1][0]), ylims[1][1])

    def compute(lam_slider: float, error_slider: float) -> GAEResult:
        return gae_bias_variance(lam_slider, error_slider, study)

    def readout(r: GAEResult) -> str:
        return readout_table(
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

    return SliderDemo({"lam_slider": lam_slider, "error_slider": error_slider}, compute,
                      lambda fig, r: _draw_gae(fig, r, ylims), readout, refresh=_refresh_gae)
