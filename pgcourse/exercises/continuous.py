r"""Notebook 08 (continuous control): the log-probability of a diagonal Gaussian policy, plain and tanh-squashed."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor
from torch.distributions import Independent, Normal, TanhTransform, TransformedDistribution

from pgcourse.exercises.engine import Case, CheckResult, Exercise, Mistake, floats, randn, run_check

__all__ = ["check_gaussian_log_prob", "check_tanh_gaussian_log_prob", "tanh_gaussian_log_prob"]


_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _gaussian_log_prob(actions: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    return Normal(mean, log_std.exp()).log_prob(actions).sum(-1)


def _gauss_terms(
    a: Tensor,
    mu: Tensor,
    log_std: Tensor,
    denom: Tensor | None = None,
    log_term: bool = True,
    const: bool = True,
    half: bool = True,
) -> Tensor:
    """Per-dimension log-density with optional parts left out or changed (the building block of the mistakes)."""
    denom = log_std.exp() ** 2 if denom is None else denom
    quad = (a - mu) ** 2 / denom * (0.5 if half else 1.0)
    return -quad - (log_std if log_term else 0.0) - (_HALF_LOG_2PI if const else 0.0)


GAUSSIAN = Exercise(
    name="gaussian_log_prob",
    formula="log π(a|s) = Σ_i [ −(a_i − μ_i)²/(2σ_i²) − log σ_i − ½ log 2π ], with σ = exp(log_std).",
    reference=_gaussian_log_prob,
    cases=(
        Case(
            "B = 4 actions with D = 2 dimensions",
            lambda: {"actions": randn(50, 4, 2), "mean": randn(51, 4, 2) * 0.5, "log_std": floats(-0.5, 0.3)},
            ("mean", "log_std"),
        ),
        Case(
            "D = 1 (e.g. Pendulum), B = 3",
            lambda: {"actions": floats(0.5, -1.0, 2.0)[:, None], "mean": torch.zeros(3, 1), "log_std": floats(0.4)},
            ("mean", "log_std"),
        ),
        Case(
            "B = 2 actions far from the mean, D = 3",
            lambda: {"actions": randn(52, 2, 3) * 3, "mean": randn(53, 2, 3), "log_std": floats(-1.0, 0.0, 0.7)},
            ("mean", "log_std"),
        ),
    ),
    mistakes=(
        Mistake(
            "no_sum",
            "the log-probability is not summed over the action dimensions",
            "The D action dimensions are independent, so log π(a|s) = Σ_i log N(a_i; μ_i, σ_i): sum over the "
            "last axis (.sum(-1)) to get one number per action vector, shape (B,).",
            (lambda a, mu, ls: _gauss_terms(a, mu, ls),),
        ),
        Mistake(
            "mean_over_dims",
            "averaged over the action dimensions instead of summed",
            "Independent dimensions multiply their probabilities, so their log-probabilities add: .sum(-1), "
            "not .mean(-1).",
            (lambda a, mu, ls: _gauss_terms(a, mu, ls).mean(-1),),
        ),
        Mistake(
            "sum_over_batch",
            "summed over the batch axis instead of the action dimensions",
            "Sum over the action dimensions (the last axis, -1), not over the batch (axis 0): one "
            "log-probability per sample, shape (B,).",
            (lambda a, mu, ls: _gauss_terms(a, mu, ls).sum(0),),
        ),
        Mistake(
            "missing_log_std",
            "the −log σ term is missing",
            "The density's normaliser 1/(σ√(2π)) contributes −log σ_i = −log_std_i per dimension. Without it "
            "the gradient always pushes σ up, since a wider Gaussian is never penalised.",
            (lambda a, mu, ls: _gauss_terms(a, mu, ls, log_term=False).sum(-1),),
        ),
        Mistake(
            "std_in_denominator",
            "σ instead of σ² in the denominator",
            "The Gaussian exponent is −(a − μ)²/(2σ²), with the variance σ² = exp(log_std)² = exp(2·log_std).",
            (lambda a, mu, ls: _gauss_terms(a, mu, ls, denom=ls.exp()).sum(-1),),
        ),
        Mistake(
            "exp_of_square",
            "σ² computed as exp(log_std²)",
            "σ² = exp(log_std)² = exp(2·log_std), not exp(log_std²).",
            (lambda a, mu, ls: _gauss_terms(a, mu, ls, denom=(ls**2).exp()).sum(-1),),
        ),
        Mistake(
            "missing_half",
            "the factor ½ of the quadratic term is missing",
            "The exponent is −(a − μ)²/(2σ²): note the 2 in the denominator.",
            (lambda a, mu, ls: _gauss_terms(a, mu, ls, half=False).sum(-1),),
        ),
        Mistake(
            "missing_constant",
            "the constant −½ log 2π is missing",
            "Each dimension contributes −½ log 2π ≈ −0.919. It does not change the gradient, but without it "
            "the values are not log-probabilities (they disagree with torch.distributions.Normal(...).log_prob).",
            (lambda a, mu, ls: _gauss_terms(a, mu, ls, const=False).sum(-1),),
        ),
    ),
    differentiable=True,
)


def check_gaussian_log_prob(fn: Callable[..., Any]) -> CheckResult:
    r"""Check ``fn(actions, mean, log_std) -> log_probs`` of a diagonal Gaussian policy.

    * ``actions`` :math:`a` and ``mean`` :math:`\mu`: tensors ``(B, D)``; ``log_std``: tensor ``(D,)``,
      :math:`\sigma = \exp(\mathrm{log\_std})` (``mean`` and ``log_std`` require grad);
    * returns ``(B,)``: :math:`\sum_i \big[-\frac{(a_i-\mu_i)^2}{2\sigma_i^2} - \log\sigma_i - \tfrac12\log 2\pi\big]`.

    Checks values and gradients against ``torch.distributions.Normal``. Detects: no sum
    over action dimensions, mean instead of sum, sum over the batch, missing
    :math:`-\log\sigma`, σ instead of σ², :math:`\exp(\mathrm{log\_std}^2)`, missing ½,
    missing :math:`-\tfrac12\log 2\pi`.
    """
    return run_check(GAUSSIAN, fn)


# --------------------------------------------------------------------------------------
# A tanh-squashed Gaussian
# --------------------------------------------------------------------------------------


def tanh_gaussian_log_prob(u: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    r"""Log-probability of :math:`a = \tanh(u)`, :math:`u \sim \mathcal N(\mu, \sigma^2)` per dimension, ``(B,)``.

    .. math:: \log\pi(a|s) = \sum_i \big[\log\mathcal N(u_i; \mu_i, \sigma_i^2) - \log(1 - \tanh^2 u_i)\big],
              \quad \log(1 - \tanh^2 u) = 2\,(\log 2 - u - \mathrm{softplus}(-2u))

    (torch's ``TanhTransform`` uses this stable form; the cached transform returns ``u`` for ``tanh(u)``
    exactly, so no ``atanh`` of a saturated action is ever taken).
    """
    squash = TanhTransform(cache_size=1)
    dist = TransformedDistribution(Independent(Normal(mean, log_std.exp()), 1), [squash])
    return dist.log_prob(squash(u))


def _log1m_tanh2(u: Tensor, eps: float | None = None) -> Tensor:
    """:math:`\\log(1 - \\tanh^2 u)`: the stable form, or the naive one with ``eps`` added inside the log."""
    if eps is None:
        return 2.0 * (math.log(2.0) - u - torch.nn.functional.softplus(-2.0 * u))
    return torch.log(1.0 - torch.tanh(u) ** 2 + eps)


def _tanh_variant(
    gauss_at: str = "u", correction: str = "sum", sign: float = -1.0, eps: float | None = None
) -> Callable[..., Tensor]:
    """Gaussian log-density at ``u`` or at ``tanh(u)``, and the correction summed over ``correction``."""

    def log_prob(u: Tensor, mu: Tensor, ls: Tensor) -> Tensor:
        x = u if gauss_at == "u" else torch.tanh(u)
        gauss = _gauss_terms(x, mu, ls).sum(-1)
        corr = _log1m_tanh2(u, eps)
        if correction == "none":
            return gauss
        if correction == "per_dim":
            return gauss[:, None] + sign * corr
        if correction == "all":
            return gauss + sign * corr.sum()
        return gauss + sign * corr.sum(-1)

    return log_prob


def _tanh_case(seed: int, b: int, d: int, scale: float) -> dict[str, Tensor]:
    mean = randn(seed + 1, b, d) * 0.5
    return {"u": mean + randn(seed, b, d) * scale, "mean": mean, "log_std": randn(seed + 2, d) * 0.3}


TANH_GAUSSIAN = Exercise(
    name="tanh_gaussian_log_prob",
    formula=(
        "log π(a|s) = Σ_i [ log N(u_i; μ_i, σ_i²) − log(1 − tanh² u_i) ] for a = tanh(u), with the correction "
        "computed in a form that stays finite when tanh(u) rounds to ±1."
    ),
    reference=tanh_gaussian_log_prob,
    cases=(
        Case("B = 4 samples, D = 2, moderate u", lambda: _tanh_case(130, 4, 2, 1.0), ("mean", "log_std")),
        Case("B = 3 samples, D = 3, wide: some |u| > 2", lambda: _tanh_case(140, 3, 3, 2.5), ("mean", "log_std")),
        Case(
            "B = 2 saturated samples, D = 2: u = ±10 and ±12, where float32 tanh(u) is exactly ±1",
            lambda: {
                "u": floats(10.0, -0.5, -12.0, 0.3).reshape(2, 2),
                "mean": torch.zeros(2, 2),
                "log_std": floats(2.0, 0.0),
            },
            ("mean", "log_std"),
        ),
    ),
    mistakes=(
        Mistake(
            "no_correction",
            "the change-of-variables correction is missing",
            "This is the log-density of u, not of a = tanh(u). Squashing compresses probability near ±1, so the "
            "density of a picks up the factor 1/|da/du| = 1/(1 − tanh² u): subtract Σ_i log(1 − tanh² u_i).",
            (_tanh_variant(correction="none"),),
        ),
        Mistake(
            "correction_not_summed",
            "the correction is not summed over the action dimensions",
            "Each dimension is squashed on its own, so the correction is a sum over the D dimensions, like the "
            "Gaussian part: one number per sample, shape (B,).",
            (_tanh_variant(correction="per_dim"),),
        ),
        Mistake(
            "correction_summed_over_batch",
            "the correction is summed over the whole batch",
            "You summed log(1 − tanh² u) over all elements, batch included, and subtracted it from every "
            "sample. Sum over the action dimensions only (the last axis, -1).",
            (_tanh_variant(correction="all"),),
        ),
        Mistake(
            "gaussian_at_action",
            "the Gaussian density is evaluated at a = tanh(u) instead of u",
            "The Gaussian is the distribution of u, before squashing: evaluate log N(u; μ, σ²) at u, then "
            "correct for the squash. a = tanh(u) lives in (−1, 1), a different variable.",
            (_tanh_variant(gauss_at="a"), _tanh_variant(gauss_at="a", correction="none")),
        ),
        Mistake(
            "correction_sign",
            "the correction is added instead of subtracted",
            "p(a) = p(u) / |da/du|: the log-Jacobian log(1 − tanh² u) is subtracted. (It is ≤ 0, so the "
            "correction raises the log-density near ±1, where squashing piles up the probability.)",
            (_tanh_variant(sign=1.0),),
        ),
        Mistake(
            "unstable_correction",
            "the correction is computed as log(1 − tanh(u)²)",
            "Right formula, but in float32 tanh(u) rounds to exactly ±1 once |u| ≳ 9, so 1 − tanh² u is 0 (log → "
            "−inf) or only a clamp/epsilon keeps it finite, and wrong. Rewrite log(1 − tanh² u) = −2·log cosh u "
            "without computing tanh: log cosh u = u + softplus(−2u) − log 2 (torch.nn.functional.softplus is stable).",
            (_tanh_variant(eps=0.0), _tanh_variant(eps=1e-6), _tanh_variant(eps=1e-7)),
        ),
    ),
    differentiable=True,
)


def check_tanh_gaussian_log_prob(fn: Callable[..., Any]) -> CheckResult:
    r"""Check ``fn(u, mean, log_std) -> log_probs`` of the squashed action :math:`a = \tanh(u)` (notebook 08).

    * ``u`` and ``mean`` :math:`\mu`: tensors ``(B, D)``, ``u`` the Gaussian sample before squashing;
      ``log_std``: tensor ``(D,)`` (``mean`` and ``log_std`` require grad);
    * returns ``(B,)``: :math:`\log\pi(a|s)` of :math:`a = \tanh(u)`.

    Checks values and gradients against ``torch.distributions`` (a ``TransformedDistribution`` with a
    ``TanhTransform``), on saturated samples too. Detects: no correction, the correction not
    summed or summed over the batch, the Gaussian at :math:`a` instead of :math:`u`, the
    correction's sign, and the unstable :math:`\log(1 - \tanh^2 u)` (with or without an epsilon).
    """
    return run_check(TANH_GAUSSIAN, fn)
