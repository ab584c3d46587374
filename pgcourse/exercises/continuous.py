r"""Notebook 08 (continuous control): the log-probability of a diagonal Gaussian policy."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor
from torch.distributions import Normal

from pgcourse.exercises.engine import Case, CheckResult, Exercise, Mistake, floats, randn, run_check

__all__ = ["check_gaussian_log_prob"]


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
