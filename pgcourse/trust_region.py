r"""Trust-region policy updates on a tabular MDP, computed exactly (notebook 06).

Symbols follow :mod:`pgcourse.toy`: :math:`d` the unnormalised discounted visitation, :math:`\rho = d/\sum_s d`,
:math:`A_{old}` the exact advantage of :math:`\pi_{old} = \pi_{\theta_{old}}`, :math:`r(s,a) =
\pi_\theta(a|s)/\pi_{old}(a|s)` the probability ratio, :math:`F` the Fisher matrix, :math:`g = \nabla_\theta J`.
Every quantity is an exact expectation over states and actions; nothing is sampled. One idea per function:

* :func:`surrogate_gradient`, :func:`mean_kl_gradient`, :func:`clipped_objective` and its gradient: the
  objectives TRPO and PPO optimise, and their exact gradients;
* :func:`fisher_vector_product` and :func:`conjugate_gradient`: :math:`F^+ g` without forming :math:`F`;
* :func:`kl_step_size` and :func:`trpo_step`: the natural direction scaled to the KL radius δ, then a
  backtracking line search;
* :func:`ppo_clip_update`, :func:`ppo_penalty_update`, :func:`adapt_kl_coef`: PPO's two first-order heuristics;
* :func:`step_curves`: true improvement, surrogate, clipped objective and KL along :math:`\theta_{old} + \alpha u`;
* :func:`reparametrised_step`: one vanilla or natural step in the coordinates :math:`\theta = c \odot \phi`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pgcourse.toy import TabularMDP, pseudo_inverse

__all__ = [
    "check_in_range",
    "surrogate_gradient",
    "mean_kl_gradient",
    "clipped_objective",
    "clipped_objective_gradient",
    "fisher_vector_product",
    "CGResult",
    "conjugate_gradient",
    "kl_step_size",
    "TRPOStep",
    "trpo_step",
    "PPOUpdate",
    "ppo_clip_update",
    "ppo_penalty_update",
    "adapt_kl_coef",
    "StepCurves",
    "step_curves",
    "reparametrised_step",
]


def check_in_range(value: float, name: str, low: float, high: float, low_open: bool = False) -> float:
    """``value`` as a float if it is a finite number in the range; else a ValueError naming it and the range."""
    text = f"{'(' if low_open else '['}{low:g}, {high:g}]"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number in {text}, got {value!r}")
    ok = math.isfinite(value) and (low < value if low_open else low <= value) and value <= high
    if not ok:
        raise ValueError(f"{name}={value!r} is outside the allowed range {text}")
    return float(value)


def _as_theta(mdp: TabularMDP, x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"{name} must have shape (S, A) = {(mdp.n_states, mdp.n_actions)}, got {x.shape}")
    return x


# ------------------------------------------------------------------ objectives and their gradients
def surrogate_gradient(mdp: TabularMDP, theta_old: np.ndarray, theta: np.ndarray) -> np.ndarray:
    r""":math:`\partial L_{\theta_{old}}/\partial\theta_{s,a} = d_{old}(s)\,\pi_\theta(a|s)\,(A_{old}(s,a) -
    \sum_b \pi_\theta(b|s) A_{old}(s,b))`; at :math:`\theta = \theta_{old}` this is the exact gradient of J."""
    pi, adv = mdp.policy(theta), mdp.advantages(theta_old)
    centred = adv - (pi * adv).sum(-1, keepdims=True)
    return mdp.visitation(theta_old)[:, None] * pi * centred


def mean_kl_gradient(mdp: TabularMDP, theta_old: np.ndarray, theta: np.ndarray) -> np.ndarray:
    r""":math:`\partial \overline{\mathrm{KL}}/\partial\theta_{s,a} = \rho_{old}(s)\,(\pi_\theta(a|s) -
    \pi_{old}(a|s))` (softmax table)."""
    return mdp.state_weights(theta_old)[:, None] * (mdp.policy(theta) - mdp.policy(theta_old))


def _clip_terms(mdp: TabularMDP, theta_old: np.ndarray, theta: np.ndarray, clip_eps: float):
    clip_eps = check_in_range(clip_eps, "clip_eps", 0.0, 10.0, low_open=True)
    pi_old, pi, adv = mdp.policy(theta_old), mdp.policy(theta), mdp.advantages(theta_old)
    ratio = pi / pi_old
    objective = np.minimum(ratio * adv, np.clip(ratio, 1 - clip_eps, 1 + clip_eps) * adv)
    # the unclipped term is the active one unless the ratio left the window on the side the advantage favours
    active = ~(((adv > 0) & (ratio > 1 + clip_eps)) | ((adv < 0) & (ratio < 1 - clip_eps)))
    return pi_old, pi, adv, objective, active


def clipped_objective(mdp: TabularMDP, theta_old: np.ndarray, theta: np.ndarray, clip_eps: float = 0.2) -> float:
    r"""PPO's clipped objective in exact expectation, on the scale of the surrogate:

    .. math:: L^{CLIP}_{\theta_{old}}(\theta) = \sum_s d_{old}(s) \sum_a \pi_{old}(a|s)\,
              \min\big(r A_{old},\ \mathrm{clip}(r, 1-\epsilon, 1+\epsilon) A_{old}\big).

    Without the clip, :math:`\sum_a \pi_{old}\, r\, A_{old} = \sum_a \pi_\theta A_{old}`: the surrogate.
    """
    pi_old, _, _, objective, _ = _clip_terms(mdp, theta_old, theta, clip_eps)
    return float(mdp.visitation(theta_old) @ (pi_old * objective).sum(-1))


def clipped_objective_gradient(
    mdp: TabularMDP, theta_old: np.ndarray, theta: np.ndarray, clip_eps: float = 0.2
) -> np.ndarray:
    r"""Gradient of :func:`clipped_objective`: the surrogate's, restricted to the active (unclipped) pairs.

    .. math:: \partial L^{CLIP}/\partial\theta_{s,b} = d_{old}(s)\,\big(\pi_b A_b m_b - \pi_b \sum_a \pi_a A_a m_a\big),

    with :math:`m_a = 1` where the unclipped term :math:`r A` is the minimum and 0 where the clip is flat.
    """
    _, pi, adv, _, active = _clip_terms(mdp, theta_old, theta, clip_eps)
    w = pi * adv * active
    return mdp.visitation(theta_old)[:, None] * (w - pi * w.sum(-1, keepdims=True))


# ------------------------------------------------------------------ the natural direction without F
def fisher_vector_product(mdp: TabularMDP, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
    r""":math:`F v` without forming :math:`F`: row s is :math:`\rho(s)\,(\pi_s \odot v_s - \pi_s\,(\pi_s \cdot v_s))`.

    ``v`` is shaped like ``theta``; so is the result. This is what TRPO computes (by a second
    backward pass through the KL) when :math:`F` is too big to store.
    """
    v = _as_theta(mdp, v, "v")
    pi, rho = mdp.policy(theta), mdp.state_weights(theta)
    return rho[:, None] * (pi * v - pi * (pi * v).sum(-1, keepdims=True))


@dataclass(frozen=True)
class CGResult:
    """The solution ``x`` of :math:`F x = g` and the residual norm :math:`\\|g - F x\\|` after each iteration."""

    x: np.ndarray
    residuals: np.ndarray

    @property
    def n_iters(self) -> int:
        return len(self.residuals)


def conjugate_gradient(
    fvp: Callable[[np.ndarray], np.ndarray], g: np.ndarray, n_iters: int = 10, tol: float = 1e-12
) -> CGResult:
    r"""Solve :math:`F x = g` by conjugate gradient, using only products :math:`v \mapsto F v`.

    Started at :math:`x_0 = 0`, every iterate lies in the Krylov space :math:`\mathrm{span}\{g, Fg, F^2g, ...\}`;
    when :math:`g` is in the range of a singular :math:`F` (a policy gradient always is), that space is
    orthogonal to the null space, so CG converges to the minimum-norm solution :math:`F^+ g`, in at most as
    many iterations as :math:`F` has distinct non-zero eigenvalues. Stops when :math:`\|r\| \le` ``tol``.
    """
    n_iters = int(check_in_range(n_iters, "n_iters", 1, 10_000))
    g = np.asarray(g, dtype=np.float64)
    x = np.zeros_like(g)
    r = g.copy()
    p = r.copy()
    rr = float((r * r).sum())
    residuals = []
    for _ in range(n_iters):
        if math.sqrt(rr) <= tol:
            break
        Fp = fvp(p)
        step = rr / float((p * Fp).sum())
        x = x + step * p
        r = r - step * Fp
        rr_new = float((r * r).sum())
        residuals.append(math.sqrt(rr_new))
        p = r + (rr_new / rr) * p
        rr = rr_new
    return CGResult(x, np.array(residuals))


def kl_step_size(mdp: TabularMDP, theta: np.ndarray, direction: np.ndarray, delta: float) -> float:
    r"""The scale :math:`\beta = \sqrt{2\delta / (u^\top F u)}` that puts the quadratic KL model
    :math:`\tfrac12 (\beta u)^\top F (\beta u)` exactly on the radius δ."""
    delta = check_in_range(delta, "delta", 0.0, 10.0, low_open=True)
    curvature = float((direction * fisher_vector_product(mdp, theta, direction)).sum())
    if curvature <= 0:
        raise ValueError("the direction has no KL curvature (it lies in the Fisher null space); nothing to scale")
    return math.sqrt(2 * delta / curvature)


# ------------------------------------------------------------------ TRPO
@dataclass(frozen=True)
class TRPOStep:
    """One TRPO update, with what the line search tried and the exact outcome.

    ``direction`` is the CG solution of :math:`F u = g`; ``full_step`` :math:`= \\beta u` sits on the
    quadratic KL radius δ; the line search tried ``fractions`` of it (with the ``surrogates`` and ``kls``
    it measured) and accepted ``fraction`` (0 if nothing was accepted). ``true_improvement`` is
    :math:`J(\\theta) - J(\\theta_{old})`, which TRPO itself cannot see.
    """

    theta_old: np.ndarray
    theta: np.ndarray
    direction: np.ndarray
    full_step: np.ndarray
    delta: float
    fractions: np.ndarray
    surrogates: np.ndarray
    kls: np.ndarray
    fraction: float
    surrogate: float
    mean_kl: float
    true_improvement: float

    @property
    def accepted(self) -> bool:
        return self.fraction > 0

    @property
    def n_backtracks(self) -> int:
        return len(self.fractions) - 1


def trpo_step(
    mdp: TabularMDP,
    theta_old: np.ndarray,
    delta: float = 0.01,
    backtrack: float = 0.5,
    max_backtracks: int = 10,
    cg_iters: int = 10,
) -> TRPOStep:
    r"""TRPO's update: maximise :math:`L_{\theta_{old}}(\theta)` subject to :math:`\overline{\mathrm{KL}} \le \delta`.

    1. :math:`u \approx F^{-1} g` by :func:`conjugate_gradient` with :func:`fisher_vector_product`;
    2. the full step :math:`\beta u` with :math:`\beta = \sqrt{2\delta/u^\top F u}` (:func:`kl_step_size`);
    3. backtracking: try fractions :math:`1, b, b^2, \dots` of it and accept the first with
       :math:`L_{\theta_{old}} > 0` and the *exact* mean KL :math:`\le \delta`.
    """
    theta_old = _as_theta(mdp, theta_old, "theta_old")
    backtrack = check_in_range(backtrack, "backtrack", 0.0, 1.0, low_open=True)
    if backtrack == 1.0:
        raise ValueError("backtrack=1.0 is outside the allowed range (0, 1)")
    max_backtracks = int(check_in_range(max_backtracks, "max_backtracks", 0, 100))
    g = mdp.exact_gradient(theta_old)
    u = conjugate_gradient(lambda v: fisher_vector_product(mdp, theta_old, v), g, n_iters=cg_iters).x
    full = kl_step_size(mdp, theta_old, u, delta) * u
    fractions, surrogates, kls = [], [], []
    accepted = 0.0
    for k in range(max_backtracks + 1):
        f = backtrack**k
        candidate = theta_old + f * full
        fractions.append(f)
        surrogates.append(mdp.surrogate(theta_old, candidate))
        kls.append(mdp.mean_kl(theta_old, candidate))
        if surrogates[-1] > 0 and kls[-1] <= delta:
            accepted = f
            break
    theta = theta_old + accepted * full
    return TRPOStep(
        theta_old=theta_old,
        theta=theta,
        direction=u,
        full_step=full,
        delta=delta,
        fractions=np.array(fractions),
        surrogates=np.array(surrogates),
        kls=np.array(kls),
        fraction=accepted,
        surrogate=mdp.surrogate(theta_old, theta),
        mean_kl=mdp.mean_kl(theta_old, theta),
        true_improvement=mdp.objective(theta) - mdp.objective(theta_old),
    )


# ------------------------------------------------------------------ PPO's first-order heuristics
@dataclass(frozen=True)
class PPOUpdate:
    """One PPO update (``n_epochs`` exact gradient-ascent steps from θ_old), measured after every step.

    ``kls[k]``, ``surrogates[k]``, ``true_improvements[k]`` are the mean KL, surrogate and
    :math:`J - J_{old}` after step ``k + 1``; ``kl_coef`` the penalty coefficient used (PPO-Penalty only).
    """

    theta: np.ndarray
    kls: np.ndarray
    surrogates: np.ndarray
    true_improvements: np.ndarray
    kl_coef: float = float("nan")

    @property
    def mean_kl(self) -> float:
        return float(self.kls[-1])

    @property
    def true_improvement(self) -> float:
        return float(self.true_improvements[-1])


def _ascent(mdp: TabularMDP, theta_old: np.ndarray, grad: Callable[[np.ndarray], np.ndarray], lr: float,
            n_epochs: int, kl_coef: float = float("nan")) -> PPOUpdate:
    theta_old = _as_theta(mdp, theta_old, "theta_old")
    lr = check_in_range(lr, "lr", 0.0, 1e6, low_open=True)
    n_epochs = int(check_in_range(n_epochs, "n_epochs", 1, 100_000))
    j_old = mdp.objective(theta_old)
    theta = theta_old.copy()
    kls, surrogates, gains = [], [], []
    for _ in range(n_epochs):
        theta = theta + lr * grad(theta)
        kls.append(mdp.mean_kl(theta_old, theta))
        surrogates.append(mdp.surrogate(theta_old, theta))
        gains.append(mdp.objective(theta) - j_old)
    return PPOUpdate(theta, np.array(kls), np.array(surrogates), np.array(gains), kl_coef)


def ppo_clip_update(
    mdp: TabularMDP, theta_old: np.ndarray, clip_eps: float = 0.2, lr: float = 10.0, n_epochs: int = 10
) -> PPOUpdate:
    r"""PPO-Clip: ``n_epochs`` exact ascent steps on the clipped objective.

    .. math:: \theta \leftarrow \theta + \mathrm{lr}\,\nabla L^{CLIP}_{\theta_{old}}(\theta)

    Nothing here bounds the KL: the clip only zeroes the gradient of pairs whose ratio has left the
    window; one large step can land anywhere.
    """
    return _ascent(mdp, theta_old, lambda th: clipped_objective_gradient(mdp, theta_old, th, clip_eps), lr, n_epochs)


def ppo_penalty_update(
    mdp: TabularMDP, theta_old: np.ndarray, kl_coef: float = 1.0, lr: float = 10.0, n_epochs: int = 10
) -> PPOUpdate:
    r"""PPO-Penalty: ``n_epochs`` exact ascent steps on the penalised surrogate.

    .. math:: L_{\theta_{old}}(\theta) - \beta\,\overline{\mathrm{KL}}(\theta_{old}, \theta)
    """
    beta = check_in_range(kl_coef, "kl_coef", 0.0, 1e6)
    return _ascent(
        mdp,
        theta_old,
        lambda th: surrogate_gradient(mdp, theta_old, th) - beta * mean_kl_gradient(mdp, theta_old, th),
        lr,
        n_epochs,
        beta,
    )


def adapt_kl_coef(kl_coef: float, kl: float, target_kl: float) -> float:
    r"""PPO-Penalty's rule (Schulman et al. 2017): :math:`\beta \times 2` if KL > 1.5·target, :math:`\beta / 2`
    if KL < target/1.5, else unchanged."""
    target_kl = check_in_range(target_kl, "target_kl", 0.0, 10.0, low_open=True)
    if kl > 1.5 * target_kl:
        return 2.0 * kl_coef
    if kl < target_kl / 1.5:
        return kl_coef / 2.0
    return kl_coef


# ------------------------------------------------------------------ along a line; under a reparametrisation
@dataclass(frozen=True)
class StepCurves:
    r"""Exact curves along :math:`\theta_{old} + \alpha u` at every α of ``alphas``.

    ``true_improvement`` :math:`J - J_{old}`; ``surrogate`` :math:`L_{\theta_{old}}`; ``clipped``
    :math:`L^{CLIP}_{\theta_{old}}` at ``clip_eps``; ``mean_kl`` :math:`\overline{\mathrm{KL}}(\theta_{old}, \theta)`.
    """

    alphas: np.ndarray
    true_improvement: np.ndarray
    surrogate: np.ndarray
    clipped: np.ndarray
    mean_kl: np.ndarray
    clip_eps: float

    def at(self, alpha: float) -> dict[str, float]:
        """The four values at the grid point nearest ``alpha``."""
        i = int(np.argmin(np.abs(self.alphas - alpha)))
        return {
            "alpha": float(self.alphas[i]),
            "true_improvement": float(self.true_improvement[i]),
            "surrogate": float(self.surrogate[i]),
            "clipped": float(self.clipped[i]),
            "mean_kl": float(self.mean_kl[i]),
        }


def step_curves(
    mdp: TabularMDP, theta_old: np.ndarray, direction: np.ndarray, alphas: Sequence[float], clip_eps: float = 0.2
) -> StepCurves:
    """True improvement, surrogate, clipped objective and mean KL at ``theta_old + alpha * direction``."""
    theta_old = _as_theta(mdp, theta_old, "theta_old")
    direction = _as_theta(mdp, direction, "direction")
    alphas = np.asarray(alphas, dtype=np.float64)
    j_old = mdp.objective(theta_old)
    rows = []
    for a in alphas:
        th = theta_old + a * direction
        rows.append(
            (
                mdp.objective(th) - j_old,
                mdp.surrogate(theta_old, th),
                clipped_objective(mdp, theta_old, th, clip_eps),
                mdp.mean_kl(theta_old, th),
            )
        )
    cols = np.array(rows).T
    return StepCurves(alphas, cols[0], cols[1], cols[2], cols[3], float(clip_eps))


def reparametrised_step(
    mdp: TabularMDP, theta: np.ndarray, scale: np.ndarray, alpha: float, natural: bool
) -> np.ndarray:
    r"""One gradient step of size α taken in the coordinates φ with :math:`\theta = c \odot \phi`; returns the new θ.

    In φ the gradient is :math:`c \odot g` and the Fisher matrix :math:`D F D` (:math:`D = \mathrm{diag}\,c`).
    Vanilla: :math:`\Delta\theta = c \odot (\alpha\, c \odot g)`, which depends on c. Natural:
    :math:`\Delta\theta = c \odot \alpha (DFD)^+ (c \odot g)`, which differs from :math:`\alpha F^+ g` only by a
    per-state constant in the logits, so the new *policy* is the same for every c.
    """
    theta = _as_theta(mdp, theta, "theta")
    c = _as_theta(mdp, scale, "scale")
    if np.any(c == 0) or not np.all(np.isfinite(c)):
        raise ValueError("scale must be finite and non-zero everywhere (θ = scale ⊙ φ must be invertible)")
    g_phi = (c * mdp.exact_gradient(theta)).ravel()
    if natural:
        D = np.diag(c.ravel())
        step_phi = pseudo_inverse(D @ mdp.fisher(theta) @ D) @ g_phi
    else:
        step_phi = g_phi
    return theta + c * (alpha * step_phi.reshape(theta.shape))
