"""Checks for the "your turn" exercises: a friendly verdict, and a hint that names the mistake.

In a notebook::

    def my_returns(rewards, gamma, dones):
        raise NotImplementedError      # <- replace with your code

    check_discounted_returns(my_returns)   # shows a green or red box

Each ``check_*`` runs your function on a few small, seeded, hand-designed cases
(episode boundaries in the middle, truncated steps, a ``(T, N)`` vector-env layout,
inputs that require grad, ...) and compares the result -- and, where gradients matter,
its gradient -- with the package's reference implementation. A wrong result is
compared with a table of *known mistakes* (each one a small wrong implementation)
and the hint names the one it matches. A check never raises for a wrong answer:
an error inside your function is reported in one line, without a traceback.

``show_source(obj)`` reveals the package's own implementation after the exercise.

Symbols are those of :mod:`pgcourse.returns` and :mod:`pgcourse.diagnostics`:
``r_t`` reward, ``γ`` discount, ``λ`` GAE weight, ``G_t`` return, ``V(s_t)`` value,
``A_t`` advantage, ``r = π_θ/π_old`` probability ratio, ``ε`` clip range,
``μ`` and ``σ = exp(log_std)`` the mean and standard deviation of a Gaussian policy.
"""

from __future__ import annotations

import html
import inspect
import math
import numbers
import textwrap
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch.distributions import Normal

from pgcourse.algorithms.ppo import clipped_surrogate_loss
from pgcourse.algorithms.reinforce import reinforce_loss
from pgcourse.diagnostics import approx_kl, explained_variance
from pgcourse.returns import discounted_returns, gae, normalize

__all__ = [
    "CheckResult",
    "SourceView",
    "check_discounted_returns",
    "check_reinforce_loss",
    "check_normalized_advantages",
    "check_gae",
    "check_clipped_surrogate",
    "check_gaussian_log_prob",
    "check_approx_kl",
    "check_explained_variance",
    "show_source",
]

EPS = 1e-8  # the advantage-normalisation epsilon of the course
RTOL, ATOL = 1e-4, 1e-5  # float32 comparison tolerances
MAX_SHOWN = 24  # tensors with more elements are described by their shape only

Args = dict[str, Any]


# --------------------------------------------------------------------------------------
# The verdict
# --------------------------------------------------------------------------------------


@dataclass(repr=False)
class CheckResult:
    """The verdict of a ``check_*`` call; Jupyter shows it as a green (passed) or red box.

    ``mistake`` is the key of the known mistake your output matched (``None`` when
    passed or when no known mistake matched); ``details`` holds the inputs, expected
    and actual output of the first case that differed. ``bool(result)`` is ``passed``.
    """

    exercise: str
    passed: bool
    message: str
    hint: str | None = None
    mistake: str | None = None
    details: str | None = None

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        lines = [f"{'✔ PASSED' if self.passed else '✘ NOT YET'} [{self.exercise}] {self.message}"]
        if self.details:
            lines.append(textwrap.indent(self.details, "    "))
        if self.hint:
            lines.append(f"{'Note' if self.passed else 'Hint'}: {self.hint}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        border, background = ("#2e7d32", "#e8f5e9") if self.passed else ("#c62828", "#ffebee")
        title = "✔ Correct" if self.passed else "✘ Not yet"
        parts = [
            f'<div style="border-left:6px solid {border};background:{background};color:#1b1b1b;'
            'padding:8px 12px;margin:4px 0;border-radius:4px;font-family:sans-serif;line-height:1.4">',
            f"<b>{title}</b> <code>{html.escape(self.exercise)}</code><br>{html.escape(self.message)}",
        ]
        if self.details:
            parts.append(
                '<pre style="background:rgba(255,255,255,0.6);color:#1b1b1b;padding:6px;margin:6px 0;'
                f'white-space:pre-wrap">{html.escape(self.details)}</pre>'
            )
        if self.hint:
            parts.append(f"<div>💡 <b>{'Note' if self.passed else 'Hint'}:</b> {html.escape(self.hint)}</div>")
        parts.append("</div>")
        return "".join(parts)


# --------------------------------------------------------------------------------------
# Exercise tables: cases, reference, known mistakes
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Case:
    """One test input. ``make`` builds fresh arguments (in call order); ``grad_args`` get requires_grad."""

    label: str
    make: Callable[[], Args]
    grad_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Mistake:
    """A known wrong answer: any of ``variants`` reproduces it. ``{step}`` in the hint is filled in.

    ``acceptable`` marks a legitimate alternative: it passes, with the hint as a note.
    """

    key: str
    title: str
    hint: str
    variants: tuple[Callable[..., Any], ...]
    acceptable: bool = False


@dataclass(frozen=True)
class _Exercise:
    name: str
    formula: str  # the maths to implement, shown for an untouched stub and with generic failures
    reference: Callable[..., Any]
    cases: tuple[_Case, ...]
    mistakes: tuple[_Mistake, ...]
    scalar: bool = False  # output is one number
    differentiable: bool = False  # output must be a tensor connected to the autograd graph (a loss)
    recursive: bool = False  # backward-in-time recursion: report the *latest* differing step


def _t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def _randn(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _mask(length: int, ones: tuple[int, ...]) -> torch.Tensor:
    m = torch.zeros(length)
    m[list(ones)] = 1.0
    return m


def _scan_back(x: torch.Tensor, carry: torch.Tensor) -> torch.Tensor:
    """:math:`y_t = x_t + c_t\\, y_{t+1}` with :math:`y_T = 0` (backward along the first axis)."""
    out, running = [], torch.zeros_like(x[0])
    for t in range(x.shape[0] - 1, -1, -1):
        running = x[t] + carry[t] * running
        out.append(running)
    return torch.stack(out[::-1])


def _scan_forward(x: torch.Tensor, carry: torch.Tensor) -> torch.Tensor:
    """:math:`y_t = x_t + c_t\\, y_{t-1}` with :math:`y_{-1} = 0` (the loop of a forgotten reversal)."""
    out, running = [], torch.zeros_like(x[0])
    for t in range(x.shape[0]):
        running = x[t] + carry[t] * running
        out.append(running)
    return torch.stack(out)


def _standardize(x: torch.Tensor, dim: int | None = None, correction: int = 1) -> torch.Tensor:
    """:math:`(x - \\mathrm{mean}(x)) / (\\mathrm{std}(x) + 10^{-8})`, over all elements or along ``dim``."""
    if dim is None:
        return (x - x.mean()) / (x.std(correction=correction) + EPS)
    return (x - x.mean(dim, keepdim=True)) / (x.std(dim, keepdim=True, correction=correction) + EPS)


def _var(x: torch.Tensor) -> torch.Tensor:
    return x.var(correction=0)


def _corr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    a, b = a - a.mean(), b - b.mean()
    return (a * b).mean() / (_var(a).sqrt() * _var(b).sqrt())


# ---- 1. discounted returns ------------------------------------------------------------


def _returns_ok(r: torch.Tensor, gamma: float, dones: torch.Tensor) -> torch.Tensor:
    return _scan_back(r, gamma * (1.0 - dones))


def _returns_forward_prev(r: torch.Tensor, gamma: float, dones: torch.Tensor) -> torch.Tensor:
    prev_done = torch.cat([torch.zeros(1), dones[:-1]])
    return _scan_forward(r, gamma * (1.0 - prev_done))


def _returns_shifted(r: torch.Tensor, gamma: float, dones: torch.Tensor) -> torch.Tensor:
    g = _returns_ok(r, gamma, dones)
    return torch.cat([g[1:], torch.zeros(1)])


_RETURNS = _Exercise(
    name="discounted_returns",
    formula="G_t = r_t + γ(1 − done_t)·G_{t+1}, looping backwards from t = T − 1 with G_T = 0.",
    reference=lambda rewards, gamma, dones: discounted_returns(rewards, gamma, dones),
    cases=(
        _Case("one short episode", lambda: {"rewards": _t(1, 2, 3), "gamma": 0.5, "dones": _t(0, 0, 1)}),
        _Case(
            "two episodes back to back (done = 1 at step 1)",
            lambda: {"rewards": _t(1, 2, 3, 4, 5), "gamma": 0.9, "dones": _t(0, 1, 0, 0, 1)},
        ),
        _Case(
            "three episodes, the last one cut off by the end of the batch (γ = 0.99)",
            lambda: {"rewards": _randn(1, 8), "gamma": 0.99, "dones": _mask(8, (2, 5))},
        ),
        _Case("γ = 0: returns equal rewards", lambda: {"rewards": _t(0.5, -1, 2), "gamma": 0.0, "dones": _t(0, 0, 0)}),
        _Case("γ = 1, no episode end", lambda: {"rewards": _t(1, -2, 3, 0.5), "gamma": 1.0, "dones": _t(0, 0, 0, 0)}),
        _Case("a single step", lambda: {"rewards": _t(3), "gamma": 0.9, "dones": _t(1)}),
    ),
    mistakes=(
        _Mistake(
            "ignores_dones",
            "your returns leak across episode boundaries",
            "At step {step} an episode ends (done = 1), yet your G_t still adds γ·G_{t+1} from the *next* "
            "episode. Multiply the carried return by (1 − done_t): G_t = r_t + γ(1 − done_t)·G_{t+1}.",
            (lambda r, gamma, d: _scan_back(r, gamma * torch.ones_like(d)),),
        ),
        _Mistake(
            "discounts_current_reward",
            "the current reward is discounted (off-by-one in the discounting)",
            "Your G_t is γ times the correct value: the reward r_t arrives *now* and is not discounted. "
            "Use G_t = r_t + γ(1 − done_t)·G_{t+1}, not γ·(r_t + …).",
            (lambda r, gamma, d: gamma * _returns_ok(r, gamma, d),),
        ),
        _Mistake(
            "missing_current_reward",
            "your returns are off by one step (r_t is missing)",
            "Your G_t only counts the rewards from step t + 1 on. In the backward loop, first update the "
            "running return with r_t, then store it: running = r_t + γ(1 − done_t)·running; G_t = running.",
            (_returns_shifted, lambda r, gamma, d: _returns_ok(r, gamma, d) - r),
        ),
        _Mistake(
            "not_reversed",
            "your returns accumulate forward in time",
            "G_t sums the rewards from step t to the END of its episode, so the loop must run backwards: "
            "for t in reversed(range(T)). Yours adds up the rewards that came before t.",
            (_returns_forward_prev, lambda r, gamma, d: _scan_forward(r, gamma * (1.0 - d))),
        ),
        _Mistake(
            "reversed_output",
            "your returns come out in reverse time order",
            "The values are right but G_{T−1} comes first. If you append while looping backwards, reverse "
            "the result at the end (list[::-1], or torch.flip(x, dims=[0])).",
            (lambda r, gamma, d: _returns_ok(r, gamma, d).flip(0),),
        ),
        _Mistake(
            "normalised",
            "your returns are normalised",
            "You standardised the returns (mean 0, std 1). This exercise asks for the raw discounted "
            "returns; normalisation is a separate step that comes later.",
            (
                lambda r, gamma, d: normalize(_returns_ok(r, gamma, d)),
                lambda r, gamma, d: _standardize(_returns_ok(r, gamma, d)),  # NaN for a single step
                lambda r, gamma, d: _standardize(_returns_ok(r, gamma, d), correction=0),
            ),
        ),
    ),
    recursive=True,
)


# ---- 2. REINFORCE loss ------------------------------------------------------------------


_reinforce_loss = reinforce_loss


_SUM_HINT = (
    "Sum and mean differ only by the factor T, but that factor multiplies the gradient: it acts like a "
    "learning rate that grows with the batch size. The course convention is the mean (.mean())."
)

_REINFORCE = _Exercise(
    name="reinforce_loss",
    formula="L(θ) = −mean_t( log π_θ(a_t|s_t) · G_t ), with G_t treated as a constant (.detach()).",
    reference=_reinforce_loss,
    cases=(
        _Case(
            "four steps of one episode",
            lambda: {"log_probs": torch.log(_t(0.5, 0.25, 0.8, 0.1)), "returns": _t(2, 1, -1, 0.5)},
            ("log_probs",),
        ),
        _Case(
            "returns that require grad (e.g. produced by a network)",
            lambda: {"log_probs": -_randn(2, 6).abs(), "returns": _randn(3, 6) * 2},
            ("log_probs", "returns"),
        ),
        _Case("a single step", lambda: {"log_probs": _t(-0.3), "returns": _t(5)}, ("log_probs",)),
    ),
    mistakes=(
        _Mistake(
            "wrong_sign",
            "the loss has the wrong sign",
            "Optimisers *minimise*. To do gradient *ascent* on J(θ) the loss is the negative objective, "
            "L = −mean(log π(a_t|s_t)·G_t); with your sign, training makes good actions *less* likely.",
            (lambda lp, g: (lp * g.detach()).mean(),),
        ),
        _Mistake(
            "no_detach",
            "gradient flows into the returns",
            "When `returns` require grad (e.g. they come from a critic), your loss also sends gradient "
            "into them. The returns are weights of the score function, constants for this loss: use "
            "returns.detach().",
            (lambda lp, g: -(lp * g).mean(),),
        ),
        _Mistake("sum", "the loss sums instead of averaging", _SUM_HINT, (lambda lp, g: -(lp * g.detach()).sum(),)),
        _Mistake(
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


# ---- 3. normalised advantages -----------------------------------------------------------


def _advantages_ok(returns: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    return normalize(returns - values)


def _per_axis(dim: int) -> tuple[Callable[..., Any], ...]:
    return tuple((lambda g, v, c=c: _standardize(g - v.detach(), dim=dim, correction=c)) for c in (1, 0))


_ADVANTAGES = _Exercise(
    name="normalized_advantages",
    formula="A = G − V(s), then (A − mean(A)) / (std(A) + 1e-8) over ALL T·N elements; V(s) is a constant.",
    reference=_advantages_ok,
    cases=(
        _Case(
            "(T, N) = (4, 3), values that require grad (straight from the critic)",
            lambda: {"returns": _randn(4, 4, 3) + 1, "values": _randn(5, 4, 3)},
            ("values",),
        ),
        _Case(
            "(T, N) = (5, 2), environments with very different return scales",
            lambda: {
                "returns": torch.stack([_randn(6, 5), 10 + 5 * _randn(7, 5)], dim=1),
                "values": torch.stack([_randn(8, 5) * 0.5, 9 + _randn(9, 5)], dim=1),
            },
        ),
        _Case("(T, N) = (2, 4)", lambda: {"returns": _randn(10, 2, 4) * 3, "values": _randn(11, 2, 4)}),
    ),
    mistakes=(
        _Mistake(
            "per_column",
            "normalised per environment (over dim 0) instead of over all elements",
            "You normalised each column (each environment) separately. Use one mean and one std over all "
            "T·N elements: A.mean() and A.std() without a dim argument.",
            _per_axis(0),
        ),
        _Mistake(
            "per_row",
            "normalised per time step (over dim 1) instead of over all elements",
            "You normalised each row (each time step, across environments) separately. Use one mean and one "
            "std over all T·N elements: A.mean() and A.std() without a dim argument.",
            _per_axis(1),
        ),
        _Mistake(
            "wrong_sign",
            "the advantages have the wrong sign",
            "A = G − V(s): how much better the return was than the critic expected. You computed V − G, "
            "which would push the policy *away* from good actions.",
            (lambda g, v: _standardize(v.detach() - g),),
        ),
        _Mistake(
            "no_baseline",
            "the baseline is missing",
            "You normalised the returns G alone. Subtract the critic's values first, A = G − V(s), then normalise A.",
            (lambda g, v: _standardize(g),),
        ),
        _Mistake(
            "no_detach",
            "gradient flows into the values",
            "`values` come from the critic and require grad, but advantages are constants for the policy "
            "loss. Use values.detach() (or compute under torch.no_grad()); otherwise the policy loss would "
            "also train the critic.",
            (lambda g, v: _standardize(g - v),),
        ),
        _Mistake(
            "not_normalised",
            "the advantages are not normalised",
            "G − V(s) is right; now standardise it: (A − A.mean()) / (A.std() + 1e-8).",
            (lambda g, v: g - v.detach(),),
        ),
        _Mistake(
            "not_centred",
            "the mean was not subtracted",
            "Standardising subtracts the mean before dividing by the std: (A − A.mean()) / (A.std() + 1e-8).",
            (lambda g, v: (g - v.detach()) / ((g - v.detach()).std() + EPS),),
        ),
        _Mistake(
            "not_scaled",
            "the advantages were not divided by their standard deviation",
            "After subtracting the mean, divide by the std: (A − A.mean()) / (A.std() + 1e-8).",
            (lambda g, v: (g - v.detach()) - (g - v.detach()).mean(),),
        ),
        _Mistake(
            "population_std",
            "population standard deviation",
            "You divided by the population std (÷ n); the package uses the sample std (÷ (n − 1), torch's "
            "default). Both are fine in practice: the difference vanishes for large batches.",
            (lambda g, v: _standardize(g - v.detach(), correction=0),),
            acceptable=True,
        ),
    ),
)


# ---- 4. GAE -------------------------------------------------------------------------------


def _delta(r: Tensor, v: Tensor, nv: Tensor, term: Tensor, gamma: float) -> Tensor:
    return r + gamma * (1.0 - term) * nv - v


def _gae_ok(r: Tensor, v: Tensor, nv: Tensor, term: Tensor, trunc: Tensor, gamma: float, lam: float) -> Tensor:
    return _scan_back(_delta(r, v, nv, term, gamma), gamma * lam * (1.0 - term) * (1.0 - trunc))


def _gae_recursion(carry: Callable[[float, float, Tensor, Tensor], Tensor]) -> Callable[..., Tensor]:
    """GAE with the right δ_t but the recursion factor ``carry(γ, λ, terminated, truncated)``."""

    def variant(r: Tensor, v: Tensor, nv: Tensor, term: Tensor, trunc: Tensor, gamma: float, lam: float) -> Tensor:
        return _scan_back(_delta(r, v, nv, term, gamma), carry(gamma, lam, term, trunc))

    return variant


def _gae_trunc_as_term(
    r: Tensor, v: Tensor, nv: Tensor, term: Tensor, trunc: Tensor, gamma: float, lam: float
) -> Tensor:
    done = 1.0 - (1.0 - term) * (1.0 - trunc)
    return _scan_back(_delta(r, v, nv, done, gamma), gamma * lam * (1.0 - done))


def _gae_next_row(last: str) -> Callable[..., Tensor]:
    """GAE that takes V(s_{t+1}) from the next row, ``values[t + 1]``; ``last`` says what is used at the end."""

    def variant(r: Tensor, v: Tensor, nv: Tensor, term: Tensor, trunc: Tensor, gamma: float, lam: float) -> Tensor:
        tail = nv[-1:] if last == "bootstrap" else torch.zeros(1)
        return _gae_ok(r, v, torch.cat([v[1:], tail]), term, trunc, gamma, lam)

    return variant


def _gae_case(seed: int, length: int, terminated: tuple[int, ...], truncated: tuple[int, ...]) -> Args:
    """A rollout in which next_values[t] = values[t + 1] except where an episode ended (or at the end)."""
    values = _randn(seed, length + 1)
    next_values = values[1:].clone()
    for t in (*terminated, *truncated):
        next_values[t] = _randn(seed + 100 + t, 1)  # V of the final observation, not of the next row
    return {
        "rewards": _randn(seed + 1, length),
        "values": values[:-1].clone(),
        "next_values": next_values,
        "terminated": _mask(length, terminated),
        "truncated": _mask(length, truncated),
    }


_GAE = _Exercise(
    name="gae",
    formula=(
        "δ_t = r_t + γ(1 − terminated_t)·next_values_t − values_t and "
        "A_t = δ_t + γλ(1 − terminated_t)(1 − truncated_t)·A_{t+1}, backwards from A_T = 0."
    ),
    reference=lambda r, v, nv, term, trunc, gamma, lam: gae(r, v, nv, term, trunc, gamma, lam)[0],
    cases=(
        _Case(
            "terminated at step 2, truncated at step 4, batch ends mid-episode (γ = 0.9, λ = 0.8)",
            lambda: {
                "rewards": _t(1, 0, 2, 1, 1, 0.5),
                "values": _t(0.5, 0.8, 1.1, 0.2, 0.4, 0.9),
                "next_values": _t(0.8, 1.1, 0.7, 0.4, 0.6, 1.0),
                "terminated": _t(0, 0, 1, 0, 0, 0),
                "truncated": _t(0, 0, 0, 0, 1, 0),
                "gamma": 0.9,
                "lam": 0.8,
            },
        ),
        _Case(
            "ten steps: terminated at 3 and 9, truncated at 6 (γ = 0.99, λ = 0.95)",
            lambda: {**_gae_case(20, 10, terminated=(3, 9), truncated=(6,)), "gamma": 0.99, "lam": 0.95},
        ),
        _Case(
            "λ = 0 (one-step TD), no episode end",
            lambda: {**_gae_case(30, 4, terminated=(), truncated=()), "gamma": 0.9, "lam": 0.0},
        ),
    ),
    mistakes=(
        _Mistake(
            "no_terminal_mask",
            "you bootstrap from a terminal state",
            "At step {step} the episode terminated (terminated = 1): the next state is terminal and has no "
            "future, so δ_t = r_t − V(s_t). Multiply next_values by (1 − terminated_t) in δ_t.",
            (lambda r, v, nv, term, trunc, g, lam: _scan_back(r + g * nv - v, g * lam * (1 - term) * (1 - trunc)),),
        ),
        _Mistake(
            "truncation_as_termination",
            "truncation is treated as termination (no bootstrap at a time limit)",
            "At step {step} the episode was *truncated* (time limit), not terminated: the future exists, we "
            "just did not see it, so δ_t must still bootstrap from next_values_t. Use only (1 − terminated_t) "
            "in δ_t; truncation only cuts the recursion.",
            (_gae_trunc_as_term,),
        ),
        _Mistake(
            "leak_everywhere",
            "your advantages leak across episode boundaries",
            "An episode ends at step {step}, yet your A_t still adds γλ·A_{t+1} from the next episode. Cut "
            "the recursion at every episode end: A_t = δ_t + γλ(1 − terminated_t)(1 − truncated_t)·A_{t+1}.",
            (_gae_recursion(lambda g, lam, term, trunc: g * lam * torch.ones_like(term)),),
        ),
        _Mistake(
            "leak_at_truncation",
            "your advantages leak across a truncation",
            "You cut the recursion where an episode terminated but not where it was truncated: at step {step} "
            "(truncated = 1) the next row belongs to a new episode. Multiply by (1 − truncated_t) too in the "
            "recursion (and keep the bootstrap in δ_t).",
            (_gae_recursion(lambda g, lam, term, trunc: g * lam * (1 - term)),),
        ),
        _Mistake(
            "next_row_values",
            "you used values[t + 1] instead of next_values[t] (off by one)",
            "values[t + 1] is the next *row* of the buffer; where an episode ends or the batch stops (here "
            "step {step}) that is not the successor of s_t. The successor's value is next_values[t]: "
            "δ_t = r_t + γ(1 − terminated_t)·next_values_t − values_t.",
            (_gae_next_row("bootstrap"), _gae_next_row("zero")),
        ),
        _Mistake(
            "lambda_in_delta",
            "γ and λ are swapped in the TD error",
            "δ_t discounts the next value with γ (the MDP's discount), not λ: "
            "δ_t = r_t + γ(1 − terminated_t)·next_values_t − values_t. λ only appears in the recursion, as γλ.",
            (lambda r, v, nv, term, trunc, g, lam: _gae_ok(r, v, nv, term, trunc, lam, g),),
        ),
        _Mistake(
            "missing_gamma",
            "γ is missing from the recursion",
            "The advantages decay with γλ, not λ alone: A_t = δ_t + γλ(1 − terminated_t)(1 − truncated_t)·A_{t+1}.",
            (_gae_recursion(lambda g, lam, term, trunc: lam * (1 - term) * (1 - trunc)),),
        ),
        _Mistake(
            "missing_lambda",
            "λ is missing from the recursion",
            "The advantages decay with γλ, not γ alone (γ alone is λ = 1: the high-variance Monte Carlo "
            "advantage): A_t = δ_t + γλ(1 − terminated_t)(1 − truncated_t)·A_{t+1}.",
            (_gae_recursion(lambda g, lam, term, trunc: g * (1 - term) * (1 - trunc)),),
        ),
        _Mistake(
            "td_errors_only",
            "you returned the TD errors δ_t",
            "δ_t is only the first ingredient: accumulate it backwards, "
            "A_t = δ_t + γλ(1 − terminated_t)(1 − truncated_t)·A_{t+1}, starting from A_T = 0.",
            (lambda r, v, nv, term, trunc, g, lam: _delta(r, v, nv, term, g),),
        ),
        _Mistake(
            "returns_instead",
            "you returned the λ-returns instead of the advantages",
            "Your output equals A_t + V(s_t), the critic's target. The exercise asks for the advantages A_t "
            "themselves (do not add values back).",
            (lambda r, v, nv, term, trunc, g, lam: _gae_ok(r, v, nv, term, trunc, g, lam) + v,),
        ),
    ),
    recursive=True,
)


# ---- 5. PPO clipped surrogate -----------------------------------------------------------


_clipped_surrogate_loss = clipped_surrogate_loss


_CLIPPED = _Exercise(
    name="clipped_surrogate",
    formula="L^CLIP = −mean( min( r·A, clip(r, 1 − ε, 1 + ε)·A ) ).",
    reference=_clipped_surrogate_loss,
    cases=(
        _Case(
            "ratios inside and outside [1 − ε, 1 + ε], positive and negative advantages (ε = 0.2)",
            lambda: {
                "ratio": _t(0.5, 0.9, 1.0, 1.1, 1.5, 0.7, 1.3, 1.05),
                "advantages": _t(1, 1, -1, 2, 1, -1, -1, -0.5),
                "clip_eps": 0.2,
            },
            ("ratio",),
        ),
        _Case(
            "16 random samples (ε = 0.1)",
            lambda: {"ratio": (0.3 * _randn(40, 16)).exp(), "advantages": _randn(41, 16), "clip_eps": 0.1},
            ("ratio",),
        ),
        _Case(
            "first epoch: every ratio is 1 (ε = 0.2)",
            lambda: {"ratio": torch.ones(4), "advantages": _t(0.5, -2, 1, 3), "clip_eps": 0.2},
            ("ratio",),
        ),
    ),
    mistakes=(
        _Mistake(
            "max_instead_of_min",
            "max instead of min",
            "L^CLIP takes the *minimum* of the unclipped and clipped terms: a pessimistic bound that removes "
            "any incentive to push r outside [1 − ε, 1 + ε]. With max, large policy moves are rewarded — "
            "exactly what PPO prevents.",
            (lambda r, a, e: -torch.max(r * a, r.clamp(1 - e, 1 + e) * a).mean(),),
        ),
        _Mistake(
            "wrong_sign",
            "the loss has the wrong sign",
            "PPO *maximises* the surrogate and optimisers minimise, so the loss is its negative: "
            "−mean(min(r·A, clip(r, 1 − ε, 1 + ε)·A)).",
            (lambda r, a, e: torch.min(r * a, r.clamp(1 - e, 1 + e) * a).mean(),),
        ),
        _Mistake(
            "no_clipping",
            "the ratio is not clipped",
            "Your loss is the plain importance-sampled surrogate −mean(r·A). Add the clipped term and take "
            "the minimum: −mean(min(r·A, clip(r, 1 − ε, 1 + ε)·A)).",
            (lambda r, a, e: -(r * a).mean(),),
        ),
        _Mistake(
            "clipped_term_only",
            "only the clipped term is used",
            "Take the min of BOTH terms. With the clipped term alone, a ratio that moved the wrong way (e.g. "
            "r < 1 − ε although A > 0) gets zero gradient and is never corrected.",
            (lambda r, a, e: -(r.clamp(1 - e, 1 + e) * a).mean(),),
        ),
        _Mistake(
            "clipped_advantage",
            "the advantage is clipped instead of the ratio",
            "Clip the probability ratio r = π_θ/π_old, not the advantage: the clipped term is clip(r, 1 − ε, 1 + ε)·A.",
            (lambda r, a, e: -torch.min(r * a, r * a.clamp(1 - e, 1 + e)).mean(),),
        ),
        _Mistake(
            "clipped_product",
            "the product r·A is clipped instead of r",
            "Clip r alone, then multiply by A: clip(r, 1 − ε, 1 + ε)·A. Clipping r·A to [1 − ε, 1 + ε] mixes "
            "the scale of the advantages into the trust region.",
            (lambda r, a, e: -torch.min(r * a, (r * a).clamp(1 - e, 1 + e)).mean(),),
        ),
        _Mistake(
            "clip_around_zero",
            "the ratio is clipped to [−ε, ε]",
            "The trust window is centred on 1 — the ratio of two identical policies: clip(r, 1 − ε, 1 + ε), "
            "not clip(r, −ε, ε).",
            (lambda r, a, e: -torch.min(r * a, r.clamp(-e, e) * a).mean(),),
        ),
        _Mistake(
            "sum",
            "the loss sums instead of averaging",
            _SUM_HINT,
            (lambda r, a, e: -torch.min(r * a, r.clamp(1 - e, 1 + e) * a).sum(),),
        ),
    ),
    scalar=True,
    differentiable=True,
)


# ---- 6. Gaussian log-probability --------------------------------------------------------

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


_GAUSSIAN = _Exercise(
    name="gaussian_log_prob",
    formula="log π(a|s) = Σ_i [ −(a_i − μ_i)²/(2σ_i²) − log σ_i − ½ log 2π ], with σ = exp(log_std).",
    reference=_gaussian_log_prob,
    cases=(
        _Case(
            "B = 4 actions with D = 2 dimensions",
            lambda: {"actions": _randn(50, 4, 2), "mean": _randn(51, 4, 2) * 0.5, "log_std": _t(-0.5, 0.3)},
            ("mean", "log_std"),
        ),
        _Case(
            "D = 1 (e.g. Pendulum), B = 3",
            lambda: {"actions": _t(0.5, -1.0, 2.0)[:, None], "mean": torch.zeros(3, 1), "log_std": _t(0.4)},
            ("mean", "log_std"),
        ),
        _Case(
            "B = 2 actions far from the mean, D = 3",
            lambda: {"actions": _randn(52, 2, 3) * 3, "mean": _randn(53, 2, 3), "log_std": _t(-1.0, 0.0, 0.7)},
            ("mean", "log_std"),
        ),
    ),
    mistakes=(
        _Mistake(
            "no_sum",
            "the log-probability is not summed over the action dimensions",
            "The D action dimensions are independent, so log π(a|s) = Σ_i log N(a_i; μ_i, σ_i): sum over the "
            "last axis (.sum(-1)) to get one number per action vector, shape (B,).",
            (lambda a, mu, ls: _gauss_terms(a, mu, ls),),
        ),
        _Mistake(
            "mean_over_dims",
            "averaged over the action dimensions instead of summed",
            "Independent dimensions multiply their probabilities, so their log-probabilities add: .sum(-1), "
            "not .mean(-1).",
            (lambda a, mu, ls: _gauss_terms(a, mu, ls).mean(-1),),
        ),
        _Mistake(
            "sum_over_batch",
            "summed over the batch axis instead of the action dimensions",
            "Sum over the action dimensions (the last axis, -1), not over the batch (axis 0): one "
            "log-probability per sample, shape (B,).",
            (lambda a, mu, ls: _gauss_terms(a, mu, ls).sum(0),),
        ),
        _Mistake(
            "missing_log_std",
            "the −log σ term is missing",
            "The density's normaliser 1/(σ√(2π)) contributes −log σ_i = −log_std_i per dimension. Without it "
            "the gradient always pushes σ up, since a wider Gaussian is never penalised.",
            (lambda a, mu, ls: _gauss_terms(a, mu, ls, log_term=False).sum(-1),),
        ),
        _Mistake(
            "std_in_denominator",
            "σ instead of σ² in the denominator",
            "The Gaussian exponent is −(a − μ)²/(2σ²), with the variance σ² = exp(log_std)² = exp(2·log_std).",
            (lambda a, mu, ls: _gauss_terms(a, mu, ls, denom=ls.exp()).sum(-1),),
        ),
        _Mistake(
            "exp_of_square",
            "σ² computed as exp(log_std²)",
            "σ² = exp(log_std)² = exp(2·log_std), not exp(log_std²).",
            (lambda a, mu, ls: _gauss_terms(a, mu, ls, denom=(ls**2).exp()).sum(-1),),
        ),
        _Mistake(
            "missing_half",
            "the factor ½ of the quadratic term is missing",
            "The exponent is −(a − μ)²/(2σ²): note the 2 in the denominator.",
            (lambda a, mu, ls: _gauss_terms(a, mu, ls, half=False).sum(-1),),
        ),
        _Mistake(
            "missing_constant",
            "the constant −½ log 2π is missing",
            "Each dimension contributes −½ log 2π ≈ −0.919. It does not change the gradient, but without it "
            "the values are not log-probabilities (they disagree with torch.distributions.Normal(...).log_prob).",
            (lambda a, mu, ls: _gauss_terms(a, mu, ls, const=False).sum(-1),),
        ),
    ),
    differentiable=True,
)


# ---- 7. approximate KL (k3) -------------------------------------------------------------


def _kl_terms(old: torch.Tensor, new: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    log_r = new - old
    return log_r.exp(), log_r


_KL = _Exercise(
    name="approx_kl",
    formula="KL(π_old‖π_θ) ≈ mean( (r − 1) − log r ), with r = exp(new_log_probs − old_log_probs) (k3).",
    reference=lambda old, new: approx_kl(old, new),
    cases=(
        _Case(
            "a small policy update (8 samples)",
            lambda: {
                "old_log_probs": -_randn(60, 8).abs(),
                "new_log_probs": -_randn(60, 8).abs() + 0.1 * _randn(61, 8),
            },
        ),
        _Case(
            "a large policy update (8 samples)",
            lambda: {
                "old_log_probs": -_randn(62, 8).abs(),
                "new_log_probs": -_randn(62, 8).abs() + 0.8 * _randn(63, 8),
            },
        ),
        _Case(
            "identical policies: KL = 0",
            lambda: {"old_log_probs": _t(-0.5, -1, -2), "new_log_probs": _t(-0.5, -1, -2)},
        ),
    ),
    mistakes=(
        _Mistake(
            "k1",
            "this is the k1 estimator",
            "mean(old − new) = mean(−log r) is the k1 estimator: unbiased but noisy, and a single estimate can "
            "be negative although a KL never is. The exercise asks for k3, mean((r − 1) − log r) with "
            "r = exp(new − old): every term is ≥ 0.",
            (lambda old, new: (old - new).mean(),),
        ),
        _Mistake(
            "naive_mean_log_ratio",
            "you returned mean(new − old) = mean(log r)",
            "mean(log r) is k1 with the wrong sign (it estimates −KL). Use k3: mean((r − 1) − log r) with "
            "r = exp(new − old).",
            (lambda old, new: (new - old).mean(),),
        ),
        _Mistake(
            "inverted_ratio",
            "the ratio is inverted (r = π_old/π_θ)",
            "r = exp(new_log_probs − old_log_probs) = π_θ/π_old; you used its inverse, which estimates the "
            "other direction of the KL. With actions sampled by π_old, k3 = mean((r − 1) − log r).",
            (lambda old, new: ((1 / _kl_terms(old, new)[0] - 1) + _kl_terms(old, new)[1]).mean(),),
        ),
        _Mistake(
            "missing_minus_one",
            "the −1 is missing",
            "k3 = (r − 1) − log r: each term is ≥ 0 and exactly 0 when the policies agree. Without the −1 your "
            "estimate is 1 for identical policies.",
            (lambda old, new: (_kl_terms(old, new)[0] - _kl_terms(old, new)[1]).mean(),),
        ),
        _Mistake(
            "k2",
            "this is the k2 estimator ½·mean((log r)²)",
            "½·mean((log r)²) is the (biased) k2 estimator. The exercise asks for k3: mean((r − 1) − log r).",
            (lambda old, new: 0.5 * ((new - old) ** 2).mean(),),
        ),
        _Mistake(
            "sum",
            "summed instead of averaged",
            "The estimator is an average over samples: .mean(), not .sum() (a sum grows with the batch size).",
            (lambda old, new: ((_kl_terms(old, new)[0] - 1) - _kl_terms(old, new)[1]).sum(),),
        ),
    ),
    scalar=True,
)


# ---- 8. explained variance --------------------------------------------------------------

_EV = _Exercise(
    name="explained_variance",
    formula="EV = 1 − Var[G − V] / Var[G].",
    reference=lambda values, returns: explained_variance(values, returns),
    cases=(
        _Case(
            "a decent critic with an offset of +1",
            lambda: {"values": 3 * _randn(70, 10) + 5 + 0.5 * _randn(71, 10) + 1, "returns": 3 * _randn(70, 10) + 5},
        ),
        _Case(
            "a critic that predicts half the return",
            lambda: {"values": 0.5 * _randn(72, 8), "returns": _randn(72, 8)},
        ),
        _Case("a poor critic", lambda: {"values": _randn(73, 6), "returns": 2 * _randn(74, 6) - 1}),
    ),
    mistakes=(
        _Mistake(
            "divides_by_var_values",
            "divided by Var[V] instead of Var[G] (or the arguments are swapped)",
            "EV = 1 − Var[G − V]/Var[G]: divide by the variance of the *returns* (the targets), not of the "
            "predictions. Mind the argument order too: fn(values, returns).",
            (lambda v, g: 1 - _var(g - v) / _var(v),),
        ),
        _Mistake(
            "missing_one_minus",
            "you returned the unexplained fraction",
            "Var[G − V]/Var[G] is the fraction of the variance the critic does NOT explain; EV = 1 − that.",
            (lambda v, g: _var(g - v) / _var(g),),
        ),
        _Mistake(
            "correlation",
            "correlation instead of explained variance",
            "Correlation ignores scale and offset: a critic predicting 0.5·G has correlation 1 but explains "
            "only 75 % of the variance. Use EV = 1 − Var[G − V]/Var[G].",
            (lambda v, g: _corr(v, g), lambda v, g: _corr(v, g) ** 2),
        ),
        _Mistake(
            "uncentred_residual",
            "the residual variance is not centred (MSE instead of Var)",
            "Var[G − V] subtracts the mean residual; mean((G − V)²) does not (it is the MSE, which also "
            "counts a constant offset). Use (returns − values).var().",
            (lambda v, g: 1 - ((g - v) ** 2).mean() / _var(g), lambda v, g: 1 - ((g - v) ** 2).mean() / g.var()),
        ),
        _Mistake(
            "ratio_of_variances",
            "you returned Var[V]/Var[G]",
            "Var[V]/Var[G] compares how spread out the predictions and returns are, not how well they match. "
            "EV looks at the residual: 1 − Var[G − V]/Var[G].",
            (lambda v, g: _var(v) / _var(g),),
        ),
    ),
    scalar=True,
)

_EXERCISES: dict[str, _Exercise] = {
    ex.name: ex for ex in (_RETURNS, _REINFORCE, _ADVANTAGES, _GAE, _CLIPPED, _GAUSSIAN, _KL, _EV)
}


# --------------------------------------------------------------------------------------
# The engine: run, compare, diagnose
# --------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    """What a function produced on one case: its value and the gradients w.r.t. the case's ``grad_args``."""

    value: torch.Tensor
    grads: dict[str, torch.Tensor]


class _LearnerProblem(Exception):
    """A problem with the learner's output that is reported as is (wrong type, modified input)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def _weights(shape: torch.Size) -> torch.Tensor:
    """Fixed positive weights that turn an output into a scalar whose gradient sees every element."""
    return torch.rand(shape, generator=torch.Generator().manual_seed(1234)) + 0.5


def _a(noun: str) -> str:
    """``noun`` with its indefinite article: "a float", "an int"."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _as_output(ex: _Exercise, out: Any) -> torch.Tensor:
    """Accept the learner's return value as a tensor, or explain what is wrong with it."""
    what = "the loss" if ex.differentiable and ex.scalar else "the result"
    if out is None:
        raise _LearnerProblem("Your function returned None.", "Did you forget the `return` statement?")
    if isinstance(out, tuple):
        raise _LearnerProblem(
            f"Your function returned a tuple of {len(out)} items; this exercise expects only {what}.",
            "Return a single tensor.",
        )
    if not isinstance(out, torch.Tensor):
        if ex.scalar and not ex.differentiable and isinstance(out, numbers.Real) and not isinstance(out, bool):
            return torch.tensor(float(out))
        if ex.differentiable:
            raise _LearnerProblem(
                f"Your function returned {_a(type(out).__name__)}, not a torch.Tensor, so {what} has no gradient.",
                "Keep every step in torch: .item(), float(), .numpy() and torch.tensor(...) cut the autograd graph.",
            )
        raise _LearnerProblem(
            f"Your function returned {_a(type(out).__name__)}; a torch.Tensor is expected.",
            "Convert at the end, e.g. torch.stack(list_of_tensors) or torch.as_tensor(array, dtype=torch.float32).",
        )
    if not out.is_floating_point():
        raise _LearnerProblem(
            f"Your function returned a tensor of dtype {out.dtype}; a floating-point tensor is expected.",
            "Build outputs with torch.zeros_like(rewards) or torch.zeros(T, dtype=torch.float32), not from "
            "integer values.",
        )
    if ex.scalar and out.numel() == 1:
        return out.reshape(())
    return out


def _evaluate(ex: _Exercise, fn: Callable[..., Any], case: _Case, learner: bool = False) -> _Outcome:
    """Call ``fn`` on fresh inputs of ``case``; for the learner, also validate the output and the inputs."""
    args = case.make()
    for name in case.grad_args:
        args[name].requires_grad_(True)
    before = {k: v.detach().clone() for k, v in args.items() if isinstance(v, torch.Tensor)}
    out = fn(*args.values())
    if learner:
        for name, original in before.items():
            if not torch.equal(original, args[name].detach()):
                raise _LearnerProblem(
                    f"Your function changed its input `{name}` in place.",
                    f"The caller still needs `{name}`: build a new tensor (e.g. torch.zeros_like({name})) "
                    "instead of writing into the input (x[t] = …, x += …, x.mul_(…)).",
                )
        out = _as_output(ex, out)
    elif ex.scalar:
        out = torch.as_tensor(out).reshape(())
    grads: dict[str, torch.Tensor] = {}
    if case.grad_args:
        inputs = [args[n] for n in case.grad_args]
        if out.requires_grad:
            found = torch.autograd.grad((out * _weights(out.shape)).sum(), inputs, allow_unused=True)
        else:
            found = (None,) * len(inputs)
        grads = {
            n: (g if g is not None else torch.zeros_like(x)).detach()
            for n, g, x in zip(case.grad_args, found, inputs, strict=True)
        }
    return _Outcome(out.detach().to(torch.float32), grads)


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True)


def _same(a: _Outcome, b: _Outcome, grads: bool = True) -> bool:
    return _close(a.value, b.value) and (not grads or all(_close(a.grads[k], b.grads[k]) for k in a.grads))


def _diagnose(ex: _Exercise, mine: list[_Outcome], refs: list[_Outcome]) -> _Mistake | None:
    """The first known mistake that reproduces the learner's outputs on every case.

    A mistake whose values equal the reference everywhere (e.g. a missing ``.detach()``)
    is told apart by its gradients; other mistakes are matched on values only, so a
    learner with the same bug matches whatever they did about gradients.
    """
    for mistake in ex.mistakes:
        for variant in mistake.variants:
            outs = [_evaluate(ex, variant, case) for case in ex.cases]
            gradient_only = all(_same(o, r, grads=False) for o, r in zip(outs, refs, strict=True))
            if all(_same(m, o, grads=gradient_only) for m, o in zip(mine, outs, strict=True)):
                return mistake
    return None


def _fmt(x: Any) -> str:
    """Short, readable text for a number or a small tensor (a shape for a large one)."""
    if not isinstance(x, torch.Tensor):
        return repr(x)
    x = x.detach()
    if x.numel() > MAX_SHOWN or x.dim() > 2:
        return f"<tensor of shape {tuple(x.shape)}>"
    if x.dim() == 0:
        return f"{x.item():.5g}"
    if x.dim() == 1:
        return "[" + ", ".join(f"{v:.4g}" for v in x.tolist()) + "]"
    return "[" + ", ".join(_fmt(row) for row in x) + "]"


def _differing_index(a: torch.Tensor, b: torch.Tensor, last: bool) -> tuple[int, ...] | None:
    """Index of the first (or last) element where ``a`` and ``b`` differ; None for scalars or shape mismatch."""
    if a.shape != b.shape or a.dim() == 0:
        return None
    bad = (~torch.isclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True)).nonzero()
    if len(bad) == 0:
        return None
    return tuple(int(i) for i in bad[-1 if last else 0])


def _index_text(index: tuple[int, ...]) -> str:
    return str(index[0]) if len(index) == 1 else str(index)


def _details(case: _Case, expected: torch.Tensor | None = None, got: torch.Tensor | None = None) -> str:
    inputs = ", ".join(f"{k}={_fmt(v)}" for k, v in case.make().items())
    lines = [f"case:     {case.label}", f"inputs:   {inputs}"]
    if expected is not None and got is not None:
        lines += [f"expected: {_fmt(expected)}", f"got:      {_fmt(got)}"]
    return "\n".join(lines)


def _shape_text(shape: torch.Size) -> str:
    return "() — a single number" if len(shape) == 0 else str(tuple(shape))


def _generic_failure(ex: _Exercise, case: _Case, mine: _Outcome, ref: _Outcome) -> tuple[str, str, str]:
    """(message, hint, details) for a wrong output that matches no known mistake."""
    got, expected = mine.value, ref.value
    where = f"in case “{case.label}”"
    if got.shape != expected.shape:
        if expected.dim() == 0:
            hint = "Reduce to one number, e.g. with .mean()."
        elif got.dim() > expected.dim():
            hint = "You probably forgot to reduce over an axis (e.g. .sum(-1))."
        elif got.numel() == expected.numel():
            hint = "Same number of elements, different layout: keep the layout of the inputs (no flatten/transpose)."
        else:
            hint = "Return one value per element of the inputs' time/batch axes."
        return (
            f"Your output has shape {_shape_text(got.shape)} {where}, but the expected shape is "
            f"{_shape_text(expected.shape)}.",
            hint,
            _details(case),
        )
    if not _close(got, expected):
        index = _differing_index(got, expected, last=ex.recursive)
        if index is None:
            at = f"expected {expected.item():.5g}, got {got.item():.5g}"
        else:
            at = f"at index {_index_text(index)}: expected {expected[index].item():.5g}, got {got[index].item():.5g}"
        note = " (the latest differing step: in a backward recursion, errors spread to earlier steps)"
        return (
            f"Your output differs from the reference {where}, {at}{note if ex.recursive and index else ''}.",
            f"Check your code against the formula: {ex.formula}",
            _details(case, expected, got),
        )
    for name, want in ref.grads.items():
        have = mine.grads[name]
        if _close(have, want):
            continue
        details = _details(case) + f"\nexpected ∂/∂{name}: {_fmt(want)}\ngot ∂/∂{name}:      {_fmt(have)}"
        if not have.any():
            return (
                f"The value is right, but no gradient reaches `{name}` {where}: your output is cut from the "
                "autograd graph.",
                "Don't use .item(), float(), .numpy(), .detach() or torch.tensor(...) on anything the result "
                "depends on — stay in torch operations.",
                details,
            )
        if not want.any():
            return (
                f"The value is right, but gradient flows into `{name}` {where}, which should be a constant.",
                f"Use {name}.detach() in your computation.",
                details,
            )
        return (
            f"The value is right but its gradient with respect to `{name}` differs from the reference {where}.",
            f"Check your code against the formula: {ex.formula}",
            details,
        )
    raise AssertionError("unreachable: outcomes differ but no difference was found")  # pragma: no cover


_ERROR_HINTS = (
    ("numpy() on Tensor that requires grad", "Call .detach() before .numpy() — or better, stay in torch."),
    (
        "leaf Variable that requires grad",
        "Don't write into an input tensor; build a new one (torch.zeros_like(x), torch.stack, torch.cat).",
    ),
    (
        "out of bounds",
        "An index ran past the end: `for t in reversed(range(T))` visits T − 1 … 0, so x[t + 1] does not "
        "exist at the last step.",
    ),
    ("only one element tensors", "You turned a multi-element tensor into a number (float(), .item()); keep tensors."),
    ("Boolean value of Tensor", "`if tensor:` needs a single number; use torch.where or arithmetic masks instead."),
    ("must match the size", "Two tensors have incompatible shapes; print the .shape of your intermediate results."),
)


def _crash(ex: _Exercise, case: _Case, err: Exception) -> CheckResult:
    """One friendly line for an exception raised inside the learner's function (no traceback)."""
    text = " ".join(str(err).split())
    text = text if len(text) <= 300 else text[:297] + "..."
    hint = next((h for pattern, h in _ERROR_HINTS if pattern in str(err)), None)
    if isinstance(err, TypeError) and "argument" in str(err):
        hint = f"Your function must accept the arguments ({', '.join(case.make())}), in this order."
    return CheckResult(
        ex.name,
        False,
        f"Your function raised {type(err).__name__}: {text}",
        hint=hint or "Call your function by hand on the inputs below to find the line that fails.",
        details=_details(case),
    )


def _run_check(ex: _Exercise, fn: Any) -> CheckResult:
    """Run ``fn`` on every case of ``ex``; pass, or diagnose the first difference. Never raises for learner errors.

    Warnings raised while the cases run are silenced: the verdict explains what matters.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _check_quietly(ex, fn)


def _check_quietly(ex: _Exercise, fn: Any) -> CheckResult:
    if not callable(fn):
        return CheckResult(
            ex.name,
            False,
            f"check_{ex.name} expects your function itself, but got {_a(type(fn).__name__)}.",
            hint=f"Pass the function without calling it: check_{ex.name}(my_fn), not check_{ex.name}(my_fn(...)).",
        )
    refs = [_evaluate(ex, ex.reference, case) for case in ex.cases]
    mine: list[_Outcome] = []
    for case in ex.cases:
        try:
            mine.append(_evaluate(ex, fn, case, learner=True))
        except NotImplementedError:
            return CheckResult(
                ex.name,
                False,
                "Not implemented yet: your function still raises NotImplementedError. Replace that line with "
                "your code, run the cell, then run this check again.",
                hint=f"Implement {ex.formula}",
            )
        except _LearnerProblem as problem:
            return CheckResult(ex.name, False, problem.message, hint=problem.hint, details=_details(case))
        except Exception as err:  # any learner error becomes a friendly message
            return _crash(ex, case, err)
    first_bad = next((i for i, (m, r) in enumerate(zip(mine, refs, strict=True)) if not _same(m, r)), None)
    passed_text = f"All {len(ex.cases)} cases match the reference: " + "; ".join(c.label for c in ex.cases) + "."
    if first_bad is None:
        return CheckResult(ex.name, True, passed_text)
    case, got, expected = ex.cases[first_bad], mine[first_bad], refs[first_bad]
    mistake = _diagnose(ex, mine, refs)
    if mistake is not None and mistake.acceptable:
        return CheckResult(ex.name, True, passed_text, hint=mistake.hint, mistake=mistake.key)
    if mistake is not None:
        index = _differing_index(got.value, expected.value, last=ex.recursive)
        hint = mistake.hint.replace("{step}", _index_text(index) if index else "?")
        return CheckResult(
            ex.name,
            False,
            f"Not yet: {mistake.title}.",
            hint=hint,
            mistake=mistake.key,
            details=_details(case, expected.value, got.value),
        )
    message, hint, details = _generic_failure(ex, case, got, expected)
    return CheckResult(ex.name, False, message, hint=hint, details=details)


# --------------------------------------------------------------------------------------
# The checkers (public)
# --------------------------------------------------------------------------------------


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
    return _run_check(_RETURNS, fn)


def check_reinforce_loss(fn: Callable[..., Any]) -> CheckResult:
    r"""Check ``fn(log_probs, returns) -> loss``, the REINFORCE loss.

    * ``log_probs``: tensor ``(T,)`` of :math:`\log \pi_\theta(a_t|s_t)` (requires grad);
    * ``returns``: tensor ``(T,)`` of :math:`G_t` (may require grad, must not receive any);
    * returns the scalar :math:`L(\theta) = -\frac{1}{T}\sum_t \log \pi_\theta(a_t|s_t)\, G_t`.

    Checks the value and the gradients. Detects: wrong sign, a missing ``.detach()``
    of the returns, sum instead of mean, probabilities instead of log-probabilities.
    """
    return _run_check(_REINFORCE, fn)


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
    return _run_check(_ADVANTAGES, fn)


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
    return _run_check(_GAE, fn)


def check_clipped_surrogate(fn: Callable[..., Any]) -> CheckResult:
    r"""Check ``fn(ratio, advantages, clip_eps) -> loss``, PPO's clipped surrogate loss.

    * ``ratio``: tensor ``(B,)`` of :math:`r = \pi_\theta(a|s)/\pi_{old}(a|s)` (requires grad);
    * ``advantages``: tensor ``(B,)`` of :math:`A`; ``clip_eps``: :math:`\epsilon > 0`;
    * returns :math:`-\mathrm{mean}\big(\min(r A,\ \mathrm{clip}(r, 1-\epsilon, 1+\epsilon) A)\big)`.

    Checks the value and the gradient w.r.t. ``ratio``. Detects: max instead of min,
    wrong sign, no clipping, the clipped term alone, clipping the advantage or the
    product r·A, clipping to [−ε, ε], sum instead of mean.
    """
    return _run_check(_CLIPPED, fn)


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
    return _run_check(_GAUSSIAN, fn)


def check_approx_kl(fn: Callable[..., Any]) -> CheckResult:
    r"""Check ``fn(old_log_probs, new_log_probs) -> kl``, the k3 estimate of :math:`\mathrm{KL}(\pi_{old}\|\pi_\theta)`.

    * both: tensors ``(B,)`` of log-probabilities of actions sampled by :math:`\pi_{old}`;
    * returns the scalar :math:`\mathrm{mean}\big((r - 1) - \log r\big)`, :math:`r = \exp(\mathrm{new} - \mathrm{old})`
      (a tensor or a Python float).

    Detects: k1 (mean(old − new)), mean(new − old), the inverted ratio, a missing −1,
    k2, sum instead of mean.
    """
    return _run_check(_KL, fn)


def check_explained_variance(fn: Callable[..., Any]) -> CheckResult:
    r"""Check ``fn(values, returns) -> ev``, the critic's explained variance.

    * ``values`` :math:`V` and ``returns`` :math:`G`: tensors ``(B,)``;
    * returns the scalar :math:`1 - \mathrm{Var}[G - V] / \mathrm{Var}[G]` (a tensor or a Python float).

    Detects: dividing by Var[V] (or swapped arguments), a missing "1 −", correlation
    (or its square), the uncentred MSE instead of Var[G − V], Var[V]/Var[G].
    """
    return _run_check(_EV, fn)


# --------------------------------------------------------------------------------------
# Revealing the reference implementation
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceView:
    """Source code of a package object; Jupyter shows it syntax-highlighted, ``str()`` gives plain text."""

    name: str
    location: str
    source: str

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"# {self.name} ({self.location})\n{self.source}"

    def _repr_html_(self) -> str:
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
            from pygments.lexers import PythonLexer
        except ImportError:  # pragma: no cover - pygments ships with IPython
            body = f"<pre>{html.escape(self.source)}</pre>"
        else:
            body = highlight(self.source, PythonLexer(), HtmlFormatter(noclasses=True))
        header = f"<code>{html.escape(self.name)}</code> — {html.escape(self.location)}"
        return f'<div><div style="font-size:0.85em;opacity:0.75;margin-bottom:2px">{header}</div>{body}</div>'


def show_source(obj: Any) -> SourceView:
    """The source of a function, class or module of the package, e.g. ``show_source(pgcourse.gae)``.

    Returns a :class:`SourceView` (display it as the last expression of a cell). Raises
    ``TypeError`` for objects without Python source (built-ins, instances, ...).
    """
    try:
        lines, start = inspect.getsourcelines(obj)
        file = inspect.getsourcefile(obj)
    except (TypeError, OSError) as err:
        raise TypeError(
            f"show_source needs a Python function, class or module defined in a file; got {obj!r} ({err})"
        ) from None
    path = Path(file or "?")
    parts = path.parts
    shown = Path(*parts[parts.index("pgcourse") :]) if "pgcourse" in parts else Path(path.name)
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", getattr(obj, "__name__", type(obj).__name__))
    name = f"{module}.{qualname}" if module and not inspect.ismodule(obj) else qualname
    return SourceView(name, f"{shown.as_posix()}, line {max(start, 1)}", textwrap.dedent("".join(lines)))
