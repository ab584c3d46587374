r"""Notebook 04 (GAE): generalised advantage estimation with terminated and truncated steps, and a loop to debug."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from pgcourse.exercises.engine import (
    Args,
    Bug,
    Case,
    CheckResult,
    Exercise,
    Mistake,
    floats,
    mask,
    randn,
    remaining_bugs,
    run_check,
    scan_back,
)
from pgcourse.returns import gae

__all__ = ["check_debug_gae", "check_gae"]


def _delta(r: Tensor, v: Tensor, nv: Tensor, term: Tensor, gamma: float) -> Tensor:
    return r + gamma * (1.0 - term) * nv - v


def _gae_ok(r: Tensor, v: Tensor, nv: Tensor, term: Tensor, trunc: Tensor, gamma: float, lam: float) -> Tensor:
    return scan_back(_delta(r, v, nv, term, gamma), gamma * lam * (1.0 - term) * (1.0 - trunc))


def _gae_recursion(carry: Callable[[float, float, Tensor, Tensor], Tensor]) -> Callable[..., Tensor]:
    """GAE with the right δ_t but the recursion factor ``carry(γ, λ, terminated, truncated)``."""

    def variant(r: Tensor, v: Tensor, nv: Tensor, term: Tensor, trunc: Tensor, gamma: float, lam: float) -> Tensor:
        return scan_back(_delta(r, v, nv, term, gamma), carry(gamma, lam, term, trunc))

    return variant


def _gae_trunc_as_term(
    r: Tensor, v: Tensor, nv: Tensor, term: Tensor, trunc: Tensor, gamma: float, lam: float
) -> Tensor:
    done = 1.0 - (1.0 - term) * (1.0 - trunc)
    return scan_back(_delta(r, v, nv, done, gamma), gamma * lam * (1.0 - done))


def _gae_next_row(last: str) -> Callable[..., Tensor]:
    """GAE that takes V(s_{t+1}) from the next row, ``values[t + 1]``; ``last`` says what is used at the end."""

    def variant(r: Tensor, v: Tensor, nv: Tensor, term: Tensor, trunc: Tensor, gamma: float, lam: float) -> Tensor:
        tail = nv[-1:] if last == "bootstrap" else torch.zeros(1)
        return _gae_ok(r, v, torch.cat([v[1:], tail]), term, trunc, gamma, lam)

    return variant


def _gae_case(seed: int, length: int, terminated: tuple[int, ...], truncated: tuple[int, ...]) -> Args:
    """A rollout in which next_values[t] = values[t + 1] except where an episode ended (or at the end)."""
    values = randn(seed, length + 1)
    next_values = values[1:].clone()
    for t in (*terminated, *truncated):
        next_values[t] = randn(seed + 100 + t, 1)  # V of the final observation, not of the next row
    return {
        "rewards": randn(seed + 1, length),
        "values": values[:-1].clone(),
        "next_values": next_values,
        "terminated": mask(length, terminated),
        "truncated": mask(length, truncated),
    }


GAE = Exercise(
    name="gae",
    formula=(
        "δ_t = r_t + γ(1 − terminated_t)·next_values_t − values_t and "
        "A_t = δ_t + γλ(1 − terminated_t)(1 − truncated_t)·A_{t+1}, backwards from A_T = 0."
    ),
    reference=lambda r, v, nv, term, trunc, gamma, lam: gae(r, v, nv, term, trunc, gamma, lam)[0],
    cases=(
        Case(
            "terminated at step 2, truncated at step 4, batch ends mid-episode (γ = 0.9, λ = 0.8)",
            lambda: {
                "rewards": floats(1, 0, 2, 1, 1, 0.5),
                "values": floats(0.5, 0.8, 1.1, 0.2, 0.4, 0.9),
                "next_values": floats(0.8, 1.1, 0.7, 0.4, 0.6, 1.0),
                "terminated": floats(0, 0, 1, 0, 0, 0),
                "truncated": floats(0, 0, 0, 0, 1, 0),
                "gamma": 0.9,
                "lam": 0.8,
            },
        ),
        Case(
            "ten steps: terminated at 3 and 9, truncated at 6 (γ = 0.99, λ = 0.95)",
            lambda: {**_gae_case(20, 10, terminated=(3, 9), truncated=(6,)), "gamma": 0.99, "lam": 0.95},
        ),
        Case(
            "λ = 0 (one-step TD), no episode end",
            lambda: {**_gae_case(30, 4, terminated=(), truncated=()), "gamma": 0.9, "lam": 0.0},
        ),
    ),
    mistakes=(
        Mistake(
            "no_terminal_mask",
            "you bootstrap from a terminal state",
            "At step {step} the episode terminated (terminated = 1): the next state is terminal and has no "
            "future, so δ_t = r_t − V(s_t). Multiply next_values by (1 − terminated_t) in δ_t.",
            (lambda r, v, nv, term, trunc, g, lam: scan_back(r + g * nv - v, g * lam * (1 - term) * (1 - trunc)),),
        ),
        Mistake(
            "truncation_as_termination",
            "truncation is treated as termination (no bootstrap at a time limit)",
            "At step {step} the episode was *truncated* (time limit), not terminated: the future exists, we "
            "just did not see it, so δ_t must still bootstrap from next_values_t. Use only (1 − terminated_t) "
            "in δ_t; truncation only cuts the recursion.",
            (_gae_trunc_as_term,),
        ),
        Mistake(
            "leak_everywhere",
            "your advantages leak across episode boundaries",
            "An episode ends at step {step}, yet your A_t still adds γλ·A_{t+1} from the next episode. Cut "
            "the recursion at every episode end: A_t = δ_t + γλ(1 − terminated_t)(1 − truncated_t)·A_{t+1}.",
            (_gae_recursion(lambda g, lam, term, trunc: g * lam * torch.ones_like(term)),),
        ),
        Mistake(
            "leak_at_truncation",
            "your advantages leak across a truncation",
            "You cut the recursion where an episode terminated but not where it was truncated: at step {step} "
            "(truncated = 1) the next row belongs to a new episode. Multiply by (1 − truncated_t) too in the "
            "recursion (and keep the bootstrap in δ_t).",
            (_gae_recursion(lambda g, lam, term, trunc: g * lam * (1 - term)),),
        ),
        Mistake(
            "next_row_values",
            "you used values[t + 1] instead of next_values[t] (off by one)",
            "values[t + 1] is the next *row* of the buffer; where an episode ends or the batch stops (here "
            "step {step}) that is not the successor of s_t. The successor's value is next_values[t]: "
            "δ_t = r_t + γ(1 − terminated_t)·next_values_t − values_t.",
            (_gae_next_row("bootstrap"), _gae_next_row("zero")),
        ),
        Mistake(
            "lambda_in_delta",
            "γ and λ are swapped in the TD error",
            "δ_t discounts the next value with γ (the MDP's discount), not λ: "
            "δ_t = r_t + γ(1 − terminated_t)·next_values_t − values_t. λ only appears in the recursion, as γλ.",
            (lambda r, v, nv, term, trunc, g, lam: _gae_ok(r, v, nv, term, trunc, lam, g),),
        ),
        Mistake(
            "missing_gamma",
            "γ is missing from the recursion",
            "The advantages decay with γλ, not λ alone: A_t = δ_t + γλ(1 − terminated_t)(1 − truncated_t)·A_{t+1}.",
            (_gae_recursion(lambda g, lam, term, trunc: lam * (1 - term) * (1 - trunc)),),
        ),
        Mistake(
            "missing_lambda",
            "λ is missing from the recursion",
            "The advantages decay with γλ, not γ alone (γ alone is λ = 1: the high-variance Monte Carlo "
            "advantage): A_t = δ_t + γλ(1 − terminated_t)(1 − truncated_t)·A_{t+1}.",
            (_gae_recursion(lambda g, lam, term, trunc: g * (1 - term) * (1 - trunc)),),
        ),
        Mistake(
            "td_errors_only",
            "you returned the TD errors δ_t",
            "δ_t is only the first ingredient: accumulate it backwards, "
            "A_t = δ_t + γλ(1 − terminated_t)(1 − truncated_t)·A_{t+1}, starting from A_T = 0.",
            (lambda r, v, nv, term, trunc, g, lam: _delta(r, v, nv, term, g),),
        ),
        Mistake(
            "returns_instead",
            "you returned the λ-returns instead of the advantages",
            "Your output equals A_t + V(s_t), the critic's target. The exercise asks for the advantages A_t "
            "themselves (do not add values back).",
            (lambda r, v, nv, term, trunc, g, lam: _gae_ok(r, v, nv, term, trunc, g, lam) + v,),
        ),
    ),
    recursive=True,
)


def check_gae(fn: Callable[..., Any]) -> CheckResult:
    r"""Check ``fn(rewards, values, next_values, terminated, truncated, gamma, lam) -> advantages``.

    Same conventions as :func:`pgcourse.returns.gae`, all tensors ``(T,)``:
    ``values[t]`` = :math:`V(s_t)`, ``next_values[t]`` = :math:`V` of the true successor of
    step ``t`` (the final observation where an episode ended), ``terminated``/``truncated``
    0.0/1.0. Returns the advantages ``(T,)`` only:

    .. math::
        \delta_t = r_t + \gamma (1 - \mathrm{terminated}_t)\, \mathrm{next\_values}_t - \mathrm{values}_t

        A_t = \delta_t + \gamma \lambda (1 - \mathrm{terminated}_t)(1 - \mathrm{truncated}_t) A_{t+1}

    Detects: bootstrapping from a terminal state, truncation treated as termination,
    leaking across episode ends (everywhere, or only at truncations), ``values[t+1]``
    instead of ``next_values[t]``, γ and λ swapped in δ, γ or λ missing from the
    recursion, TD errors or λ-returns returned instead of advantages.
    """
    return run_check(GAE, fn)


# --------------------------------------------------------------------------------------
# Debugging: a GAE loop with three truncation bugs
# --------------------------------------------------------------------------------------


def _gae_with(bugs: frozenset[str]) -> Callable[..., Tensor]:
    """The GAE loop of the notebook's cell with the ``bugs`` still in it (keys of :data:`GAE_BUGS`)."""

    def loop(r: Tensor, v: Tensor, nv: Tensor, term: Tensor, trunc: Tensor, gamma: float, lam: float) -> Tensor:
        successor = torch.cat([v[1:], nv[-1:]]) if "next_row" in bugs else nv
        cut = (1.0 - term) if "leak" in bugs else (1.0 - term) * (1.0 - trunc)
        delta, carry = _delta(r, v, successor, term, gamma), gamma * lam * cut
        if "last_step" in bugs:
            return torch.cat([scan_back(delta[:-1], carry[:-1]), torch.zeros(1)])
        return scan_back(delta, carry)

    return loop


GAE_BUGS = (
    Bug(
        "last_step",
        "the last step of the rollout gets no advantage",
        "Look at the last row of the batch (t = T − 1): its advantage stays 0. The rollout merely stopped "
        "there — a truncation by the batch — and next_values[T − 1] holds the value of the state that "
        "follows, so that step has a TD error like any other.",
    ),
    Bug(
        "next_row",
        "the bootstrap value comes from the next row of the buffer",
        "Where an episode was truncated, the next row of the buffer is the first state of the *next* episode, "
        "not the successor of s_t: its value is the wrong bootstrap. The successor's value is passed in its own "
        "argument.",
    ),
    Bug(
        "leak",
        "the advantage leaks across a truncation",
        "At a truncation the recursion still adds γλ·A_{t+1}, the advantage of the next episode's first step. "
        "Truncation keeps the bootstrap in δ_t but must stop the recursion, like termination does.",
    ),
)


DEBUG_GAE = Exercise(
    name="debug_gae",
    formula=GAE.formula,
    reference=GAE.reference,
    cases=GAE.cases[:2]
    + (
        Case(
            "eight steps: truncated at 2 and 5, batch ends mid-episode (γ = 0.95, λ = 0.9)",
            lambda: {**_gae_case(40, 8, terminated=(), truncated=(2, 5)), "gamma": 0.95, "lam": 0.9},
        ),
    ),
    mistakes=remaining_bugs(GAE_BUGS, _gae_with),
    recursive=True,
)


def check_debug_gae(fn: Callable[..., Any]) -> CheckResult:
    r"""Check the repaired GAE loop ``fn(rewards, values, next_values, terminated, truncated, gamma, lam)``.

    Same arguments and result as :func:`check_gae` (notebook 04). Says which of the three
    planted truncation bugs remain (no advantage for the rollout's last step, the
    bootstrap taken from the next row of the buffer, the recursion not cut at a
    truncation) and hints at the first of them.
    """
    return run_check(DEBUG_GAE, fn)
