r"""Notebook 07 (PPO): the clipped surrogate loss, and a PPO update to debug."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from pgcourse.algorithms.ppo import clipped_surrogate_loss, value_loss
from pgcourse.exercises.engine import (
    SUM_HINT,
    Bug,
    Case,
    CheckResult,
    Exercise,
    Mistake,
    floats,
    randn,
    remaining_bugs,
    run_check,
    standardize,
)
from pgcourse.returns import normalize

__all__ = ["check_clipped_surrogate", "check_debug_ppo_update", "fixed_ppo_update"]


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
            "any incentive to push r outside [1 − ε, 1 + ε]. With max, pushing r outside the window is rewarded: "
            "the very incentive the min removes (the clip does not bound the move itself, notebook 06).",
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


# --------------------------------------------------------------------------------------
# Debugging: a PPO update with three silent bugs
# --------------------------------------------------------------------------------------


def _log_probs(logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """:math:`\\log\\pi(a|s)` of a softmax policy: ``logits`` (..., A), integer ``actions`` (...)."""
    return torch.log_softmax(logits, dim=-1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)


def fixed_ppo_update(
    params: torch.Tensor, actions: torch.Tensor, returns: torch.Tensor, clip_eps: float, lr: float, n_epochs: int
) -> torch.Tensor:
    r"""``n_epochs`` SGD steps of PPO on a tabular actor-critic; returns the updated parameters.

    ``params`` (T, N, A + 1) holds, for the state of step t in environment n, the policy's A logits and then
    :math:`V(s)`. :math:`\pi_{old}` and the advantages :math:`\hat A = \mathrm{normalize}(R - V)` (over all T·N
    elements, constants) are fixed before the first step; each step minimises
    :math:`L^{CLIP}(r, \hat A) + \tfrac12 \mathrm{mean}(V - R)^2` with :math:`r = \pi_\theta / \pi_{old}`.
    """
    params = params.detach().clone().requires_grad_(True)
    optimizer = torch.optim.SGD([params], lr=lr)
    with torch.no_grad():  # the policy that collected the data, and its advantages: fixed for the whole update
        old_log_probs = _log_probs(params[..., :-1], actions)
        advantages = normalize(returns - params[..., -1])
    for _epoch in range(n_epochs):
        logits, values = params[..., :-1], params[..., -1]
        ratio = torch.exp(_log_probs(logits, actions) - old_log_probs)
        loss = clipped_surrogate_loss(ratio, advantages, clip_eps) + value_loss(values, returns, None, None)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return params.detach()


def _ppo_with(bugs: frozenset[str]) -> Callable[..., torch.Tensor]:
    """The update of the notebook's cell with the ``bugs`` still in it (keys of :data:`PPO_BUGS`)."""

    def update(
        params: torch.Tensor, actions: torch.Tensor, returns: torch.Tensor, clip_eps: float, lr: float, n_epochs: int
    ) -> torch.Tensor:
        params = params.detach().clone().requires_grad_(True)
        optimizer = torch.optim.SGD([params], lr=lr)
        start = params[..., -1] if "no_detach" in bugs else params[..., -1].detach()
        raw = returns - start
        fixed_old = _log_probs(params[..., :-1], actions).detach()
        for _epoch in range(n_epochs):
            logits, values = params[..., :-1], params[..., -1]
            log_probs = _log_probs(logits, actions)
            old = log_probs.detach() if "old_after_update" in bugs else fixed_old
            ratio = torch.exp(log_probs - old)
            adv = standardize(raw, dim=0) if "wrong_axis" in bugs else standardize(raw)
            clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps)
            loss = -torch.min(ratio * adv, clipped * adv).mean() + 0.5 * ((values - returns) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return params.detach()

    return update


PPO_BUGS = (
    Bug(
        "old_after_update",
        "π_old is recomputed after the update has started",
        "The old log-probabilities must be those of the policy that collected the data. Taken inside the epoch "
        "loop, they are the current policy's: the ratio is always exactly 1, the clip never acts, and PPO "
        "becomes plain policy gradient on a reused batch. Compute them once, before the first optimizer step.",
    ),
    Bug(
        "no_detach",
        "the policy loss trains the critic",
        "The advantages are built from the critic's values and still carry their gradient, so the policy loss "
        "also moves V(s), which only the value loss should fit. Advantages must be constants: build them from "
        "values that carry no gradient.",
        hidden_by="old_after_update",  # at r ≡ 1 the gradient into V is −mean of standardised values: zero
    ),
    Bug(
        "wrong_axis",
        "the advantages are normalised over the wrong axis",
        "advantages has shape (T, N): a mean and std over dim 0 standardise each environment on its own, so an "
        "environment whose returns were all poor still gets positive advantages, since its own mean is "
        "subtracted. The course normalises over all T·N elements of the batch together.",
    ),
)


def _ppo_case(seed: int, t: int, n: int, a: int, scales: tuple[float, ...]) -> dict[str, Any]:
    """Random tabular parameters and integer actions; the returns of environment j have scale ``scales[j]``."""
    returns = randn(seed + 1, t, n) * torch.tensor(scales) + torch.tensor(scales)
    return {
        "params": randn(seed, t, n, a + 1) * 0.5,
        "actions": torch.randint(a, (t, n), generator=torch.Generator().manual_seed(seed + 2)),
        "returns": returns,
    }


DEBUG_PPO = Exercise(
    name="debug_ppo_update",
    formula=(
        "π_old and Â = normalize(R − V) (over all T·N elements, no gradient) fixed before the first step; then "
        "n_epochs SGD steps on −mean(min(r·Â, clip(r, 1 − ε, 1 + ε)·Â)) + ½·mean((V − R)²), r = π_θ/π_old."
    ),
    reference=fixed_ppo_update,
    cases=(
        Case(
            "(T, N, A) = (4, 3, 2), environments with return scales 1, 5 and 20, 4 epochs (ε = 0.2)",
            lambda: {**_ppo_case(60, 4, 3, 2, (1.0, 5.0, 20.0)), "clip_eps": 0.2, "lr": 4.0, "n_epochs": 4},
        ),
        Case(
            "(T, N, A) = (3, 2, 3), 3 epochs (ε = 0.1)",
            lambda: {**_ppo_case(70, 3, 2, 3, (2.0, 0.5)), "clip_eps": 0.1, "lr": 3.0, "n_epochs": 3},
        ),
    ),
    mistakes=remaining_bugs(PPO_BUGS, _ppo_with),
)


def check_debug_ppo_update(fn: Callable[..., Any]) -> CheckResult:
    r"""Check the repaired ``fn(params, actions, returns, clip_eps, lr, n_epochs) -> new_params`` (notebook 07).

    * ``params``: tensor ``(T, N, A + 1)``, per state the A policy logits, then :math:`V(s)`;
    * ``actions``: integer tensor ``(T, N)``; ``returns``: tensor ``(T, N)`` of targets :math:`R`;
    * returns the parameters after ``n_epochs`` SGD steps of PPO (the input is not changed).

    Says which of the three planted bugs remain (gradient into the critic through the
    advantages, normalisation per environment, :math:`\pi_{old}` recomputed after the
    update started) and hints at the first of them.
    """
    return run_check(DEBUG_PPO, fn)
