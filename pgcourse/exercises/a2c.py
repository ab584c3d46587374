r"""Notebook 05 (A2C): the combined loss of policy, value and entropy terms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import Tensor

from pgcourse.algorithms.a2c import a2c_loss
from pgcourse.exercises.engine import SUM_HINT, Case, CheckResult, Exercise, Mistake, floats, randn, run_check

__all__ = ["check_a2c_loss"]


def _terms(
    lp: Tensor, v: Tensor, ent: Tensor, adv: Tensor, ret: Tensor, detach: bool = True, half: bool = True
) -> tuple[Tensor, Tensor, Tensor]:
    """Policy loss, value loss and mean entropy (the building blocks of the mistakes)."""
    a = adv.detach() if detach else adv
    return -(lp * a).mean(), (0.5 if half else 1.0) * ((v - ret) ** 2).mean(), ent.mean()


def _a2c(signs: tuple[float, float, float] = (1.0, 1.0, -1.0), swap: bool = False, **kw: bool) -> Callable[..., Tensor]:
    """The loss ``s_pg·L^PG + s_v·c_v·L^V + s_e·c_e·H`` (``swap`` exchanges the coefficients)."""

    def loss(lp: Tensor, v: Tensor, ent: Tensor, adv: Tensor, ret: Tensor, c_v: float, c_e: float) -> Tensor:
        pg, value, h = _terms(lp, v, ent, adv, ret, **kw)
        c_v, c_e = (c_e, c_v) if swap else (c_v, c_e)
        return signs[0] * pg + signs[1] * c_v * value + signs[2] * c_e * h

    return loss


def _a2c_case(seed: int, b: int) -> dict[str, Tensor]:
    """A rollout of ``b`` transitions: log-probs ≤ 0, entropies ≥ 0, advantages that require grad."""
    return {
        "log_probs": -randn(seed, b).abs() - 0.1,
        "values": randn(seed + 1, b),
        "entropy": randn(seed + 2, b).abs() + 0.2,
        "advantages": randn(seed + 3, b),
        "returns": randn(seed + 4, b) + 1.0,
    }


A2C_LOSS = Exercise(
    name="a2c_loss",
    formula=(
        "L = −mean(log π·Â) + c_v·½·mean((V − R̂)²) − c_e·mean(H), with Â a constant (no gradient into advantages)."
    ),
    reference=lambda lp, v, ent, adv, ret, c_v, c_e: a2c_loss(lp, v, ent, adv, ret, c_v, c_e)[0],
    cases=(
        Case(
            "B = 6 transitions (c_v = 0.5, c_e = 0.01)",
            lambda: {**_a2c_case(110, 6), "vf_coef": 0.5, "ent_coef": 0.01},
            ("log_probs", "values", "entropy", "advantages"),
        ),
        Case(
            "B = 4 transitions, large entropy coefficient (c_v = 1.0, c_e = 0.3)",
            lambda: {**_a2c_case(120, 4), "vf_coef": 1.0, "ent_coef": 0.3},
            ("log_probs", "values", "entropy", "advantages"),
        ),
        Case(
            "B = 3 hand-made transitions (c_v = 0.25, c_e = 0.05)",
            lambda: {
                "log_probs": floats(-0.1, -1.2, -0.7),
                "values": floats(0.5, 2.0, -1.0),
                "entropy": floats(0.69, 0.4, 0.1),
                "advantages": floats(1.0, -2.0, 0.5),
                "returns": floats(1.5, 0.0, -0.5),
                "vf_coef": 0.25,
                "ent_coef": 0.05,
            },
            ("log_probs", "values", "entropy", "advantages"),
        ),
    ),
    mistakes=(
        Mistake(
            "entropy_sign",
            "the entropy term has the wrong sign",
            "The entropy is a bonus: it should make the loss *smaller* when the policy is more random, so it "
            "is subtracted, −c_e·mean(H). Adding it pushes the policy towards determinism.",
            (_a2c(signs=(1.0, 1.0, 1.0)),),
        ),
        Mistake(
            "policy_sign",
            "the policy term has the wrong sign",
            "Optimisers minimise, and we want to climb the objective mean(log π·Â): the policy loss is its "
            "negative, −mean(log π·Â).",
            (_a2c(signs=(-1.0, 1.0, -1.0)),),
        ),
        Mistake(
            "value_sign",
            "the value term has the wrong sign",
            "The critic's regression error must be minimised: + c_v·½·mean((V − R̂)²). With a minus the loss "
            "rewards a worse critic.",
            (_a2c(signs=(1.0, -1.0, -1.0)),),
        ),
        Mistake(
            "no_detach",
            "gradient flows into the advantages",
            "Â comes out of the critic (through GAE), but in the policy term it is a constant weight: use "
            "advantages.detach(). Otherwise the policy loss would also train the critic.",
            (_a2c(detach=False),),
        ),
        Mistake(
            "missing_half",
            "the factor ½ of the value loss is missing",
            "The course's value loss is ½·mean((V − R̂)²) (torch's mse_loss has no ½): without it c_v "
            "effectively doubles.",
            (_a2c(half=False),),
        ),
        Mistake(
            "swapped_coefficients",
            "c_v and c_e are swapped",
            "vf_coef (c_v) weights the value loss and ent_coef (c_e) the entropy bonus.",
            (_a2c(swap=True),),
        ),
        Mistake(
            "sum",
            "the loss sums instead of averaging",
            SUM_HINT,
            (
                lambda lp, v, ent, adv, ret, c_v, c_e: (
                    -(lp * adv.detach()).sum() + c_v * 0.5 * ((v - ret) ** 2).sum() - c_e * ent.sum()
                ),
            ),
        ),
    ),
    scalar=True,
    differentiable=True,
)


def check_a2c_loss(fn: Callable[..., Any]) -> CheckResult:
    r"""Check ``fn(log_probs, values, entropy, advantages, returns, vf_coef, ent_coef) -> loss`` (notebook 05).

    * ``log_probs`` :math:`\log\pi_\theta(a_t|s_t)`, ``values`` :math:`V_\phi(s_t)`, ``entropy``
      :math:`H[\pi_\theta(\cdot|s_t)]`, ``advantages`` :math:`\hat A_t`, ``returns`` :math:`\hat R_t`:
      tensors ``(B,)``; all but ``returns`` require grad; ``vf_coef`` :math:`c_v`, ``ent_coef`` :math:`c_e`;
    * returns the scalar :math:`L` of :func:`pgcourse.algorithms.a2c.a2c_loss` (its total only).

    Checks the value and the gradients. Detects: the wrong sign of the entropy, policy or
    value term, gradient into the advantages, a missing ½, swapped coefficients, sums
    instead of means.
    """
    return run_check(A2C_LOSS, fn)
