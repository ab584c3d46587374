r"""Notebook 09 (diagnostics): the k3 KL estimate and explained variance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from pgcourse.diagnostics import approx_kl, explained_variance
from pgcourse.exercises.engine import Case, CheckResult, Exercise, Mistake, corr, floats, pop_var, randn, run_check

__all__ = ["check_approx_kl", "check_explained_variance"]


def _kl_terms(old: torch.Tensor, new: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    log_r = new - old
    return log_r.exp(), log_r


KL = Exercise(
    name="approx_kl",
    formula="KL(π_old‖π_θ) ≈ mean( (r − 1) − log r ), with r = exp(new_log_probs − old_log_probs) (k3).",
    reference=lambda old, new: approx_kl(old, new),
    cases=(
        Case(
            "a small policy update (8 samples)",
            lambda: {
                "old_log_probs": -randn(60, 8).abs(),
                "new_log_probs": -randn(60, 8).abs() + 0.1 * randn(61, 8),
            },
        ),
        Case(
            "a large policy update (8 samples)",
            lambda: {
                "old_log_probs": -randn(62, 8).abs(),
                "new_log_probs": -randn(62, 8).abs() + 0.8 * randn(63, 8),
            },
        ),
        Case(
            "identical policies: KL = 0",
            lambda: {"old_log_probs": floats(-0.5, -1, -2), "new_log_probs": floats(-0.5, -1, -2)},
        ),
    ),
    mistakes=(
        Mistake(
            "k1",
            "this is the k1 estimator",
            "mean(old − new) = mean(−log r) is the k1 estimator: unbiased but noisy, and a single estimate can "
            "be negative although a KL never is. The exercise asks for k3, mean((r − 1) − log r) with "
            "r = exp(new − old): every term is ≥ 0.",
            (lambda old, new: (old - new).mean(),),
        ),
        Mistake(
            "naive_mean_log_ratio",
            "you returned mean(new − old) = mean(log r)",
            "mean(log r) is k1 with the wrong sign (it estimates −KL). Use k3: mean((r − 1) − log r) with "
            "r = exp(new − old).",
            (lambda old, new: (new - old).mean(),),
        ),
        Mistake(
            "inverted_ratio",
            "the ratio is inverted (r = π_old/π_θ)",
            "r = exp(new_log_probs − old_log_probs) = π_θ/π_old; you used its inverse, which estimates the "
            "other direction of the KL. With actions sampled by π_old, k3 = mean((r − 1) − log r).",
            (lambda old, new: ((1 / _kl_terms(old, new)[0] - 1) + _kl_terms(old, new)[1]).mean(),),
        ),
        Mistake(
            "missing_minus_one",
            "the −1 is missing",
            "k3 = (r − 1) − log r: each term is ≥ 0 and exactly 0 when the policies agree. Without the −1 your "
            "estimate is 1 for identical policies.",
            (lambda old, new: (_kl_terms(old, new)[0] - _kl_terms(old, new)[1]).mean(),),
        ),
        Mistake(
            "k2",
            "this is the k2 estimator ½·mean((log r)²)",
            "½·mean((log r)²) is the (biased) k2 estimator. The exercise asks for k3: mean((r − 1) − log r).",
            (lambda old, new: 0.5 * ((new - old) ** 2).mean(),),
        ),
        Mistake(
            "sum",
            "summed instead of averaged",
            "The estimator is an average over samples: .mean(), not .sum() (a sum grows with the batch size).",
            (lambda old, new: ((_kl_terms(old, new)[0] - 1) - _kl_terms(old, new)[1]).sum(),),
        ),
    ),
    scalar=True,
)


# ---- 8. explained variance --------------------------------------------------------------

EV = Exercise(
    name="explained_variance",
    formula="EV = 1 − Var[G − V] / Var[G].",
    reference=lambda values, returns: explained_variance(values, returns),
    cases=(
        Case(
            "a decent critic with an offset of +1",
            lambda: {"values": 3 * randn(70, 10) + 5 + 0.5 * randn(71, 10) + 1, "returns": 3 * randn(70, 10) + 5},
        ),
        Case(
            "a critic that predicts half the return",
            lambda: {"values": 0.5 * randn(72, 8), "returns": randn(72, 8)},
        ),
        Case("a poor critic", lambda: {"values": randn(73, 6), "returns": 2 * randn(74, 6) - 1}),
    ),
    mistakes=(
        Mistake(
            "divides_by_var_values",
            "divided by Var[V] instead of Var[G] (or the arguments are swapped)",
            "EV = 1 − Var[G − V]/Var[G]: divide by the variance of the *returns* (the targets), not of the "
            "predictions. Mind the argument order too: fn(values, returns).",
            (lambda v, g: 1 - pop_var(g - v) / pop_var(v),),
        ),
        Mistake(
            "missing_one_minus",
            "you returned the unexplained fraction",
            "Var[G − V]/Var[G] is the fraction of the variance the critic does NOT explain; EV = 1 − that.",
            (lambda v, g: pop_var(g - v) / pop_var(g),),
        ),
        Mistake(
            "correlation",
            "correlation instead of explained variance",
            "Correlation ignores scale and offset: a critic predicting 0.5·G has correlation 1 but explains "
            "only 75 % of the variance. Use EV = 1 − Var[G − V]/Var[G].",
            (lambda v, g: corr(v, g), lambda v, g: corr(v, g) ** 2),
        ),
        Mistake(
            "uncentred_residual",
            "the residual variance is not centred (MSE instead of Var)",
            "Var[G − V] subtracts the mean residual; mean((G − V)²) does not (it is the MSE, which also "
            "counts a constant offset). Use (returns − values).var().",
            (lambda v, g: 1 - ((g - v) ** 2).mean() / pop_var(g), lambda v, g: 1 - ((g - v) ** 2).mean() / g.var()),
        ),
        Mistake(
            "ratio_of_variances",
            "you returned Var[V]/Var[G]",
            "Var[V]/Var[G] compares how spread out the predictions and returns are, not how well they match. "
            "EV looks at the residual: 1 − Var[G − V]/Var[G].",
            (lambda v, g: pop_var(v) / pop_var(g),),
        ),
    ),
    scalar=True,
)


def check_approx_kl(fn: Callable[..., Any]) -> CheckResult:
    r"""Check ``fn(old_log_probs, new_log_probs) -> kl``, the k3 estimate of :math:`\mathrm{KL}(\pi_{old}\|\pi_\theta)`.

    * both: tensors ``(B,)`` of log-probabilities of actions sampled by :math:`\pi_{old}`;
    * returns the scalar :math:`\mathrm{mean}\big((r - 1) - \log r\big)`, :math:`r = \exp(\mathrm{new} - \mathrm{old})`
      (a tensor or a Python float).

    Detects: k1 (mean(old − new)), mean(new − old), the inverted ratio, a missing −1,
    k2, sum instead of mean.
    """
    return run_check(KL, fn)


def check_explained_variance(fn: Callable[..., Any]) -> CheckResult:
    r"""Check ``fn(values, returns) -> ev``, the critic's explained variance.

    * ``values`` :math:`V` and ``returns`` :math:`G`: tensors ``(B,)``;
    * returns the scalar :math:`1 - \mathrm{Var}[G - V] / \mathrm{Var}[G]` (a tensor or a Python float).

    Detects: dividing by Var[V] (or swapped arguments), a missing "1 −", correlation
    (or its square), the uncentred MSE instead of Var[G − V], Var[V]/Var[G].
    """
    return run_check(EV, fn)
