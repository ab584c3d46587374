r"""Notebook 03 (baselines): baseline-subtracted, normalised advantages, and the derivation of β*."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from pgcourse.exercises.engine import EPS, Case, CheckResult, Exercise, Mistake, randn, run_check, standardize
from pgcourse.returns import normalize

__all__ = ["check_normalized_advantages", "check_optimal_baseline_scale", "optimal_baseline_scale"]


def _advantages_ok(returns: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    return normalize(returns - values)


def _per_axis(dim: int) -> tuple[Callable[..., Any], ...]:
    return tuple((lambda g, v, c=c: standardize(g - v.detach(), dim=dim, correction=c)) for c in (1, 0))


ADVANTAGES = Exercise(
    name="normalized_advantages",
    formula="A = G − V(s), then (A − mean(A)) / (std(A) + 1e-8) over ALL T·N elements; V(s) is a constant.",
    reference=_advantages_ok,
    cases=(
        Case(
            "(T, N) = (4, 3), values that require grad (straight from the critic)",
            lambda: {"returns": randn(4, 4, 3) + 1, "values": randn(5, 4, 3)},
            ("values",),
        ),
        Case(
            "(T, N) = (5, 2), environments with very different return scales",
            lambda: {
                "returns": torch.stack([randn(6, 5), 10 + 5 * randn(7, 5)], dim=1),
                "values": torch.stack([randn(8, 5) * 0.5, 9 + randn(9, 5)], dim=1),
            },
        ),
        Case("(T, N) = (2, 4)", lambda: {"returns": randn(10, 2, 4) * 3, "values": randn(11, 2, 4)}),
    ),
    mistakes=(
        Mistake(
            "per_column",
            "normalised per environment (over dim 0) instead of over all elements",
            "You normalised each column (each environment) separately. Use one mean and one std over all "
            "T·N elements: A.mean() and A.std() without a dim argument.",
            _per_axis(0),
        ),
        Mistake(
            "per_row",
            "normalised per time step (over dim 1) instead of over all elements",
            "You normalised each row (each time step, across environments) separately. Use one mean and one "
            "std over all T·N elements: A.mean() and A.std() without a dim argument.",
            _per_axis(1),
        ),
        Mistake(
            "wrong_sign",
            "the advantages have the wrong sign",
            "A = G − V(s): how much better the return was than the critic expected. You computed V − G, "
            "which would push the policy *away* from good actions.",
            (lambda g, v: standardize(v.detach() - g),),
        ),
        Mistake(
            "no_baseline",
            "the baseline is missing",
            "You normalised the returns G alone. Subtract the critic's values first, A = G − V(s), then normalise A.",
            (lambda g, v: standardize(g),),
        ),
        Mistake(
            "no_detach",
            "gradient flows into the values",
            "`values` come from the critic and require grad, but advantages are constants for the policy "
            "loss. Use values.detach() (or compute under torch.no_grad()); otherwise the policy loss would "
            "also train the critic.",
            (lambda g, v: standardize(g - v),),
        ),
        Mistake(
            "not_normalised",
            "the advantages are not normalised",
            "G − V(s) is right; now standardise it: (A − A.mean()) / (A.std() + 1e-8).",
            (lambda g, v: g - v.detach(),),
        ),
        Mistake(
            "not_centred",
            "the mean was not subtracted",
            "Standardising subtracts the mean before dividing by the std: (A − A.mean()) / (A.std() + 1e-8).",
            (lambda g, v: (g - v.detach()) / ((g - v.detach()).std() + EPS),),
        ),
        Mistake(
            "not_scaled",
            "the advantages were not divided by their standard deviation",
            "After subtracting the mean, divide by the std: (A − A.mean()) / (A.std() + 1e-8).",
            (lambda g, v: (g - v.detach()) - (g - v.detach()).mean(),),
        ),
        Mistake(
            "population_std",
            "population standard deviation",
            "You divided by the population std (÷ n); the package uses the sample std (÷ (n − 1), torch's "
            "default). Both are fine in practice: the difference vanishes for large batches.",
            (lambda g, v: standardize(g - v.detach(), correction=0),),
            acceptable=True,
        ),
    ),
)


def check_normalized_advantages(fn: Callable[..., Any]) -> CheckResult:
    r"""Check ``fn(returns, values) -> advantages``, baseline-subtracted and normalised.

    * ``returns`` :math:`G` and ``values`` :math:`V(s)`: tensors ``(T, N)`` (time, environment);
      ``values`` may require grad (they come from the critic);
    * returns ``(T, N)``: :math:`A = G - V(s)`, then :math:`(A - \mathrm{mean}(A)) / (\mathrm{std}(A) + 10^{-8})`
      over **all** :math:`T \cdot N` elements, with no gradient into ``values``.

    Detects: normalising per column or per row, wrong sign (V − G), no baseline,
    missing ``.detach()``, no normalisation, no centring, no scaling. The population
    std (÷ n instead of ÷ (n − 1)) is accepted with a note.
    """
    return run_check(ADVANTAGES, fn)


# --------------------------------------------------------------------------------------
# Derivation: the variance-minimising baseline scale β*
# --------------------------------------------------------------------------------------


def _moments(g0: torch.Tensor, h: torch.Tensor, correction: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Per component: :math:`\\mathrm{Cov}(g0_k, h_k)` and :math:`\\mathrm{Var}(h_k)` over the n episodes."""
    dg, dh = g0 - g0.mean(0), h - h.mean(0)
    n = g0.shape[0] - correction
    return (dg * dh).sum(0) / n, (dh * dh).sum(0) / n


def optimal_baseline_scale(g0: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    r"""The β minimising the total variance :math:`\sum_k \mathrm{Var}(g0_k - \beta h_k)` of n episodes.

    ``g0`` and ``h``: tensors ``(n, K)``, one row per episode, one column per component of θ.

    .. math:: \beta^* = \frac{\sum_k \mathrm{Cov}(g0_k, h_k)}{\sum_k \mathrm{Var}(h_k)}
    """
    cov, var_h = _moments(g0, h)
    return cov.sum() / var_h.sum()


def _uncentred(g0: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return (g0 * h).mean(0).sum() / (h * h).mean(0).sum()


def _beta_case(seed: int, n: int, scales: tuple[float, ...], shift: float) -> dict[str, torch.Tensor]:
    """n episodes of K = len(scales) components; h correlated with g0, components of different sizes."""
    k = len(scales)
    h = randn(seed, n, k) * torch.tensor(scales) + shift
    return {"g0": 0.8 * h + randn(seed + 1, n, k) * torch.tensor(scales[::-1]) + 0.5, "h": h}


BETA_STAR = Exercise(
    name="optimal_baseline_scale",
    formula="the β that minimises Σ_k Var(g0_k − β·h_k), the total variance over the n episodes (a number).",
    reference=optimal_baseline_scale,
    cases=(
        Case("n = 8 episodes, K = 3 components of different sizes", lambda: _beta_case(80, 8, (0.5, 1.0, 3.0), 0.3)),
        Case("n = 5 episodes, K = 2, h far from zero mean", lambda: _beta_case(90, 5, (2.0, 0.3), 1.5)),
        Case("n = 40 episodes, K = 4", lambda: _beta_case(100, 40, (1.0, 0.2, 0.7, 2.0), -0.2)),
    ),
    mistakes=(
        Mistake(
            "inverted",
            "the ratio is upside down",
            "Set the derivative of the variance with respect to β to zero: β multiplies Cov(g0, h) once and "
            "Var(h) twice, so Var(h) ends up in the denominator.",
            (lambda g0, h: _moments(g0, h)[1].sum() / _moments(g0, h)[0].sum(),),
        ),
        Mistake(
            "wrong_sign",
            "β* has the wrong sign",
            "Var(g0 − βh) = Var(g0) − 2β·Cov(g0, h) + β²·Var(h): mind the minus sign of the cross term when you "
            "differentiate.",
            (lambda g0, h: -optimal_baseline_scale(g0, h),),
        ),
        Mistake(
            "per_component",
            "a separate β per component, then averaged",
            "There is one β for all components, so the variance to minimise is the sum over components: sum "
            "the covariances and the variances first, then divide. The mean of per-component ratios weights "
            "every component equally, however small its variance.",
            (lambda g0, h: (_moments(g0, h)[0] / _moments(g0, h)[1]).mean(),),
        ),
        Mistake(
            "uncentred",
            "second moments instead of (co)variances",
            "You divided mean(g0·h) by mean(h²) without subtracting the means. That minimises the mean square "
            "of g0 − βh, not its variance; on these n episodes h does not have mean zero, so the two differ. "
            "Centre g0 and h first (it becomes the same in expectation, since the baseline term has mean zero).",
            (_uncentred,),
        ),
        Mistake(
            "mixed_normalisation",
            "the covariance and the variance are normalised differently",
            "One moment divides by n and the other by n − 1 (numpy's np.cov defaults to n − 1, np.var to n). "
            "The factor cancels in the ratio only if both use the same one.",
            (
                lambda g0, h: _moments(g0, h, 1)[0].sum() / _moments(g0, h, 0)[1].sum(),
                lambda g0, h: _moments(g0, h, 0)[0].sum() / _moments(g0, h, 1)[1].sum(),
            ),
        ),
        Mistake(
            "var_of_g0",
            "divided by Var(g0) instead of Var(h)",
            "β scales h, so the quadratic term of the variance is β²·Var(h): the denominator is the variance "
            "of h, not of g0.",
            (lambda g0, h: _moments(g0, h)[0].sum() / _moments(h, g0)[1].sum(),),
        ),
    ),
    scalar=True,
)


def check_optimal_baseline_scale(fn: Callable[..., Any]) -> CheckResult:
    r"""Check ``fn(g0, h) -> beta_star`` (notebook 03): the variance-minimising baseline scale.

    * ``g0`` and ``h``: tensors ``(n, K)`` of per-episode gradient estimates without baseline and of the
      baseline term (one column per component of θ), so that :math:`\hat g_i(\beta) = g0_i - \beta h_i`;
    * returns one number: the β minimising :math:`\sum_k \mathrm{Var}(g0_k - \beta h_k)`.

    Detects: the ratio upside down, the wrong sign, one β per component averaged,
    uncentred second moments, n and n − 1 mixed, Var(g0) in the denominator.
    """
    return run_check(BETA_STAR, fn)
