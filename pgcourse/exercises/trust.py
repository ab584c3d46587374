r"""Notebook 06 (trust regions): the surrogate objective on the tabular corridor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from pgcourse.exercises.engine import Case, CheckResult, Exercise, Mistake, randn, run_check
from pgcourse.toy import DEFAULT_THETA, course_mdp

__all__ = ["check_surrogate", "surrogate_reference"]


def surrogate_reference(theta: torch.Tensor, visitation: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    r""":math:`L_{\theta_{old}}(\theta) = \sum_s d_{old}(s) \sum_a \pi_\theta(a|s)\, A_{old}(s,a)`, a torch scalar.

    The same number as :meth:`pgcourse.toy.TabularMDP.surrogate`, differentiable in ``theta``.
    """
    pi = torch.softmax(theta, dim=-1)
    return (visitation[:, None] * pi * advantages).sum()


def _corridor(step: float) -> dict[str, torch.Tensor]:
    """θ = θ_old + step·(a fixed direction) on the course corridor, with the exact d and A of θ_old."""
    mdp = course_mdp()
    direction = np.array([[0.5, -1.0], [0.7, 0.2], [-0.3, 0.9], [1.1, -0.4]])
    f32 = {"dtype": torch.float32}
    return {
        "theta": torch.tensor(DEFAULT_THETA + step * direction, **f32),
        "visitation": torch.tensor(mdp.visitation(DEFAULT_THETA), **f32),
        "advantages": torch.tensor(mdp.advantages(DEFAULT_THETA), **f32),
    }


def _random_case() -> dict[str, torch.Tensor]:
    return {"theta": randn(60, 3, 3), "visitation": randn(61, 3).abs() * 2 + 0.1, "advantages": randn(62, 3, 3)}


def _weights(theta: torch.Tensor, d: torch.Tensor, adv: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    return (d[:, None] * probs * adv).sum()


SURROGATE = Exercise(
    name="surrogate",
    formula="L = Σ_s d_old(s) Σ_a π_θ(a|s) A_old(s, a), with π_θ = softmax(θ) over the actions of each state.",
    reference=surrogate_reference,
    cases=(
        Case("the course corridor, θ a step away from θ_old", lambda: _corridor(0.5), ("theta",)),
        Case("the course corridor at θ = θ_old (L = 0, gradient = ∇J)", lambda: _corridor(0.0), ("theta",)),
        Case("3 states × 3 actions, random", _random_case, ("theta",)),
    ),
    mistakes=(
        Mistake(
            "normalised_visitation",
            "the visitation is normalised to a distribution",
            "Use the unnormalised discounted visitation d(s) = Σ_t γ^t Pr(s_t = s) as given: the lemma and the "
            "surrogate weight states by d, whose total Σ_s d(s) is the expected discounted episode length, not 1. "
            "Normalising divides L and its gradient by that length.",
            (lambda t, d, a: _weights(t, d / d.sum(), a, torch.softmax(t, -1)),),
        ),
        Mistake(
            "no_visitation",
            "the states are not weighted by the visitation d(s)",
            "Each state counts as often as the old policy visits it: multiply the inner sum Σ_a π_θ(a|s) A(s, a) "
            "by d_old(s) before summing over states.",
            (lambda t, d, a: _weights(t, torch.ones_like(d), a, torch.softmax(t, -1)),),
        ),
        Mistake(
            "softmax_over_states",
            "the softmax runs over the states (dim 0) instead of the actions",
            "π_θ(·|s) is a distribution over the actions of state s: torch.softmax(theta, dim=-1), one softmax "
            "per row, not per column.",
            (lambda t, d, a: _weights(t, d, a, torch.softmax(t, 0)),),
        ),
        Mistake(
            "log_probabilities",
            "log π is used instead of π",
            "The surrogate weights the advantages by the probabilities π_θ(a|s) (the importance-sampled form "
            "Σ π_old · (π_θ/π_old) · A is the same thing). Σ log π · A is the policy-gradient 'loss' "
            "of REINFORCE, a different function with a different gradient here.",
            (lambda t, d, a: _weights(t, d, a, torch.log_softmax(t, -1)),),
        ),
        Mistake(
            "logits_as_probabilities",
            "θ is used as if it were the probabilities",
            "θ holds the logits; the policy is π_θ = softmax(θ) over each state's actions.",
            (lambda t, d, a: _weights(t, d, a, t),),
        ),
        Mistake(
            "mean_instead_of_sum",
            "the terms are averaged instead of summed",
            "The weights d_old(s) π_θ(a|s) already do the averaging: L is a plain sum over states and actions. "
            ".mean() divides it by S·A.",
            (lambda t, d, a: (d[:, None] * torch.softmax(t, -1) * a).mean(),),
        ),
        Mistake(
            "wrong_sign",
            "the surrogate has the wrong sign",
            "Return the surrogate itself, the improvement it predicts (to maximise), not a loss: no minus sign.",
            (lambda t, d, a: -_weights(t, d, a, torch.softmax(t, -1)),),
        ),
    ),
    scalar=True,
    differentiable=True,
)


def check_surrogate(fn: Callable[..., Any]) -> CheckResult:
    r"""Check ``fn(theta, visitation, advantages) -> L``, the surrogate objective on a tabular MDP.

    * ``theta``: tensor ``(S, A)`` of logits of the new policy (requires grad);
    * ``visitation``: tensor ``(S,)``, the old policy's *unnormalised* discounted visitation :math:`d_{old}`;
    * ``advantages``: tensor ``(S, A)``, the old policy's exact advantages :math:`A_{old}`;
    * returns :math:`L = \sum_s d_{old}(s) \sum_a \pi_\theta(a|s) A_{old}(s,a)`, a scalar tensor.

    Checks the value and the gradient w.r.t. ``theta``. Detects: a normalised visitation, no visitation
    weights, the softmax over states, log π instead of π, logits used as probabilities, mean instead of
    sum, the wrong sign.
    """
    return run_check(SURROGATE, fn)
