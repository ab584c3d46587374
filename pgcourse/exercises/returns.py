r"""Notebook 02 (REINFORCE): discounted returns and the REINFORCE loss."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from pgcourse.algorithms.reinforce import reinforce_loss
from pgcourse.exercises.engine import (
    SUM_HINT,
    Case,
    CheckResult,
    Exercise,
    Mistake,
    floats,
    mask,
    randn,
    run_check,
    scan_back,
    scan_forward,
    standardize,
)
from pgcourse.returns import discounted_returns, normalize

__all__ = ["check_discounted_returns", "check_reinforce_loss"]


def _returns_ok(r: torch.Tensor, gamma: float, dones: torch.Tensor) -> torch.Tensor:
    return scan_back(r, gamma * (1.0 - dones))


def _returns_forward_prev(r: torch.Tensor, gamma: float, dones: torch.Tensor) -> torch.Tensor:
    prev_done = torch.cat([torch.zeros(1), dones[:-1]])
    return scan_forward(r, gamma * (1.0 - prev_done))


def _returns_shifted(r: torch.Tensor, gamma: float, dones: torch.Tensor) -> torch.Tensor:
    g = _returns_ok(r, gamma, dones)
    return torch.cat([g[1:], torch.zeros(1)])


RETURNS = Exercise(
    name="discounted_returns",
    formula="G_t = r_t + γ(1 − done_t)·G_{t+1}, looping backwards from t = T − 1 with G_T = 0.",
    reference=lambda rewards, gamma, dones: discounted_returns(rewards, gamma, dones),
    cases=(
        Case("one short episode", lambda: {"rewards": floats(1, 2, 3), "gamma": 0.5, "dones": floats(0, 0, 1)}),
        Case(
            "two episodes back to back (done = 1 at step 1)",
            lambda: {"rewards": floats(1, 2, 3, 4, 5), "gamma": 0.9, "dones": floats(0, 1, 0, 0, 1)},
        ),
        Case(
            "three episodes, the last one cut off by the end of the batch (γ = 0.99)",
            lambda: {"rewards": randn(1, 8), "gamma": 0.99, "dones": mask(8, (2, 5))},
        ),
        Case(
            "γ = 0: returns equal rewards",
            lambda: {"rewards": floats(0.5, -1, 2), "gamma": 0.0, "dones": floats(0, 0, 0)},
        ),
        Case(
            "γ = 1, no episode end",
            lambda: {"rewards": floats(1, -2, 3, 0.5), "gamma": 1.0, "dones": floats(0, 0, 0, 0)},
        ),
        Case("a single step", lambda: {"rewards": floats(3), "gamma": 0.9, "dones": floats(1)}),
    ),
    mistakes=(
        Mistake(
            "ignores_dones",
            "your returns leak across episode boundaries",
            "At step {step} an episode ends (done = 1), yet your G_t still adds γ·G_{t+1} from the *next* "
            "episode. Multiply the carried return by (1 − done_t): G_t = r_t + γ(1 − done_t)·G_{t+1}.",
            (lambda r, gamma, d: scan_back(r, gamma * torch.ones_like(d)),),
        ),
        Mistake(
            "discounts_current_reward",
            "the current reward is discounted (off-by-one in the discounting)",
            "Your G_t is γ times the correct value: the reward r_t arrives *now* and is not discounted. "
            "Use G_t = r_t + γ(1 − done_t)·G_{t+1}, not γ·(r_t + …).",
            (lambda r, gamma, d: gamma * _returns_ok(r, gamma, d),),
        ),
        Mistake(
            "missing_current_reward",
            "your returns are off by one step (r_t is missing)",
            "Your G_t only counts the rewards from step t + 1 on. In the backward loop, first update the "
            "running return with r_t, then store it: running = r_t + γ(1 − done_t)·running; G_t = running.",
            (_returns_shifted, lambda r, gamma, d: _returns_ok(r, gamma, d) - r),
        ),
        Mistake(
            "not_reversed",
            "your returns accumulate forward in time",
            "G_t sums the rewards from step t to the END of its episode, so the loop must run backwards: "
            "for t in reversed(range(T)). Yours adds up the rewards that came before t.",
            (_returns_forward_prev, lambda r, gamma, d: scan_forward(r, gamma * (1.0 - d))),
        ),
        Mistake(
            "reversed_output",
            "your returns come out in reverse time order",
            "The values are right but G_{T−1} comes first. If you append while looping backwards, reverse "
            "the result at the end (list[::-1], or torch.flip(x, dims=[0])).",
            (lambda r, gamma, d: _returns_ok(r, gamma, d).flip(0),),
        ),
        Mistake(
            "normalised",
            "your returns are normalised",
            "You standardised the returns (mean 0, std 1). This exercise asks for the raw discounted "
            "returns; normalisation is a separate step that comes later.",
            (
                lambda r, gamma, d: normalize(_returns_ok(r, gamma, d)),
                lambda r, gamma, d: standardize(_returns_ok(r, gamma, d)),  # NaN for a single step
                lambda r, gamma, d: standardize(_returns_ok(r, gamma, d), correction=0),
            ),
        ),
    ),
    recursive=True,
)


# ---- 2. REINFORCE loss ------------------------------------------------------------------


_reinforce_loss = reinforce_loss


REINFORCE = Exercise(
    name="reinforce_loss",
    formula="L(θ) = −mean_t( log π_θ(a_t|s_t) · G_t ), with G_t treated as a constant (.detach()).",
    reference=_reinforce_loss,
    cases=(
        Case(
            "four steps of one episode",
            lambda: {"log_probs": torch.log(floats(0.5, 0.25, 0.8, 0.1)), "returns": floats(2, 1, -1, 0.5)},
            ("log_probs",),
        ),
        Case(
            "returns that require grad (e.g. produced by a network)",
            lambda: {"log_probs": -randn(2, 6).abs(), "returns": randn(3, 6) * 2},
            ("log_probs", "returns"),
        ),
        Case("a single step", lambda: {"log_probs": floats(-0.3), "returns": floats(5)}, ("log_probs",)),
    ),
    mistakes=(
        Mistake(
            "wrong_sign",
            "the loss has the wrong sign",
            "Optimisers *minimise*. To do gradient *ascent* on J(θ) the loss is the negative objective, "
            "L = −mean(log π(a_t|s_t)·G_t); with your sign, training makes good actions *less* likely.",
            (lambda lp, g: (lp * g.detach()).mean(),),
        ),
        Mistake(
            "no_detach",
            "gradient flows into the returns",
            "When `returns` require grad (e.g. they come from a critic), your loss also sends gradient "
            "into them. The returns are weights of the score function, constants for this loss: use "
            "returns.detach().",
            (lambda lp, g: -(lp * g).mean(),),
        ),
        Mistake("sum", "the loss sums instead of averaging", SUM_HINT, (lambda lp, g: -(lp * g.detach()).sum(),)),
        Mistake(
            "exp_log_probs",
            "probabilities used instead of log-probabilities",
            "The score-function estimator needs ∇ log π(a|s), so the loss multiplies the *log*-probabilities "
            "by the returns; you used exp(log_probs) = π(a|s).",
            (lambda lp, g: -(lp.exp() * g.detach()).mean(),),
        ),
    ),
    scalar=True,
    differentiable=True,
)


def check_discounted_returns(fn: Callable[..., Any]) -> CheckResult:
    r"""Check ``fn(rewards, gamma, dones) -> returns``, the discounted reward-to-go.

    * ``rewards``: float tensor ``(T,)``; ``gamma``: float in [0, 1];
    * ``dones``: float tensor ``(T,)`` of 0.0/1.0, ``done_t = 1`` when step ``t`` is the
      last of its episode (terminated or truncated);
    * returns a float tensor ``(T,)`` with :math:`G_t = r_t + \gamma (1 - \mathrm{done}_t) G_{t+1}`,
      :math:`G_T = 0` (several episodes may follow each other in one call).

    Detects: leaking across episode ends (dones ignored), discounting :math:`r_t`,
    an off-by-one that drops :math:`r_t`, a forward loop, output in reverse order,
    normalised returns.
    """
    return run_check(RETURNS, fn)


def check_reinforce_loss(fn: Callable[..., Any]) -> CheckResult:
    r"""Check ``fn(log_probs, returns) -> loss``, the REINFORCE loss.

    * ``log_probs``: tensor ``(T,)`` of :math:`\log \pi_\theta(a_t|s_t)` (requires grad);
    * ``returns``: tensor ``(T,)`` of :math:`G_t` (may require grad, must not receive any);
    * returns the scalar :math:`L(\theta) = -\frac{1}{T}\sum_t \log \pi_\theta(a_t|s_t)\, G_t`.

    Checks the value and the gradients. Detects: wrong sign, a missing ``.detach()``
    of the returns, sum instead of mean, probabilities instead of log-probabilities.
    """
    return run_check(REINFORCE, fn)
