r"""Notebook 07 (PPO): the clipped surrogate loss."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from pgcourse.algorithms.ppo import clipped_surrogate_loss
from pgcourse.exercises.engine import SUM_HINT, Case, CheckResult, Exercise, Mistake, floats, randn, run_check

__all__ = ["check_clipped_surrogate"]


_clipped_surrogate_loss = clipped_surrogate_loss


CLIPPED = Exercise(
    name="clipped_surrogate",
    formula="L^CLIP = −mean( min( r·A, clip(r, 1 − ε, 1 + ε)·A ) ).",
    reference=_clipped_surrogate_loss,
    cases=(
        Case(
            "ratios inside and outside [1 − ε, 1 + ε], positive and negative advantages (ε = 0.2)",
            lambda: {
                "ratio": floats(0.5, 0.9, 1.0, 1.1, 1.5, 0.7, 1.3, 1.05),
                "advantages": floats(1, 1, -1, 2, 1, -1, -1, -0.5),
                "clip_eps": 0.2,
            },
            ("ratio",),
        ),
        Case(
            "16 random samples (ε = 0.1)",
            lambda: {"ratio": (0.3 * randn(40, 16)).exp(), "advantages": randn(41, 16), "clip_eps": 0.1},
            ("ratio",),
        ),
        Case(
            "first epoch: every ratio is 1 (ε = 0.2)",
            lambda: {"ratio": torch.ones(4), "advantages": floats(0.5, -2, 1, 3), "clip_eps": 0.2},
            ("ratio",),
        ),
    ),
    mistakes=(
        Mistake(
            "max_instead_of_min",
            "max instead of min",
            "L^CLIP takes the *minimum* of the unclipped and clipped terms: a pessimistic bound that removes "
            "any incentive to push r outside [1 − ε, 1 + ε]. With max, large policy moves are rewarded — "
            "exactly what PPO prevents.",
            (lambda r, a, e: -torch.max(r * a, r.clamp(1 - e, 1 + e) * a).mean(),),
        ),
        Mistake(
            "wrong_sign",
            "the loss has the wrong sign",
            "PPO *maximises* the surrogate and optimisers minimise, so the loss is its negative: "
            "−mean(min(r·A, clip(r, 1 − ε, 1 + ε)·A)).",
            (lambda r, a, e: torch.min(r * a, r.clamp(1 - e, 1 + e) * a).mean(),),
        ),
        Mistake(
            "no_clipping",
            "the ratio is not clipped",
            "Your loss is the plain importance-sampled surrogate −mean(r·A). Add the clipped term and take "
            "the minimum: −mean(min(r·A, clip(r, 1 − ε, 1 + ε)·A)).",
            (lambda r, a, e: -(r * a).mean(),),
        ),
        Mistake(
            "clipped_term_only",
            "only the clipped term is used",
            "Take the min of BOTH terms. With the clipped term alone, a ratio that moved the wrong way (e.g. "
            "r < 1 − ε although A > 0) gets zero gradient and is never corrected.",
            (lambda r, a, e: -(r.clamp(1 - e, 1 + e) * a).mean(),),
        ),
        Mistake(
            "clipped_advantage",
            "the advantage is clipped instead of the ratio",
            "Clip the probability ratio r = π_θ/π_old, not the advantage: the clipped term is clip(r, 1 − ε, 1 + ε)·A.",
            (lambda r, a, e: -torch.min(r * a, r * a.clamp(1 - e, 1 + e)).mean(),),
        ),
        Mistake(
            "clipped_product",
            "the product r·A is clipped instead of r",
            "Clip r alone, then multiply by A: clip(r, 1 − ε, 1 + ε)·A. Clipping r·A to [1 − ε, 1 + ε] mixes "
            "the scale of the advantages into the trust region.",
            (lambda r, a, e: -torch.min(r * a, (r * a).clamp(1 - e, 1 + e)).mean(),),
        ),
        Mistake(
            "clip_around_zero",
            "the ratio is clipped to [−ε, ε]",
            "The trust window is centred on 1 — the ratio of two identical policies: clip(r, 1 − ε, 1 + ε), "
            "not clip(r, −ε, ε).",
            (lambda r, a, e: -torch.min(r * a, r.clamp(-e, e) * a).mean(),),
        ),
        Mistake(
            "sum",
            "the loss sums instead of averaging",
            SUM_HINT,
            (lambda r, a, e: -torch.min(r * a, r.clamp(1 - e, 1 + e) * a).sum(),),
        ),
    ),
    scalar=True,
    differentiable=True,
)


def check_clipped_surrogate(fn: Callable[..., Any]) -> CheckResult:
    r"""Check ``fn(ratio, advantages, clip_eps) -> loss``, PPO's clipped surrogate loss.

    * ``ratio``: tensor ``(B,)`` of :math:`r = \pi_\theta(a|s)/\pi_{old}(a|s)` (requires grad);
    * ``advantages``: tensor ``(B,)`` of :math:`A`; ``clip_eps``: :math:`\epsilon > 0`;
    * returns :math:`-\mathrm{mean}\big(\min(r A,\ \mathrm{clip}(r, 1-\epsilon, 1+\epsilon) A)\big)`.

    Checks the value and the gradient w.r.t. ``ratio``. Detects: max instead of min,
    wrong sign, no clipping, the clipped term alone, clipping the advantage or the
    product r·A, clipping to [−ε, ε], sum instead of mean.
    """
    return run_check(CLIPPED, fn)
