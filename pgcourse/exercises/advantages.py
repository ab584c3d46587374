r"""Notebook 03 (baselines): baseline-subtracted, normalised advantages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from pgcourse.exercises.engine import EPS, Case, CheckResult, Exercise, Mistake, randn, run_check, standardize
from pgcourse.returns import normalize

__all__ = ["check_normalized_advantages"]


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
