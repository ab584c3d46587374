"""The checking machinery behind every ``check_*``: cases, known mistakes, verdicts and hints.

How a learner meets it is described in :mod:`pgcourse.exercises`. Here is how it works:

A lesson's module (``pgcourse.exercises.gae``, ...) declares one :class:`Exercise` per
exercise: its ``reference``, its :class:`Case` inputs and its table of :class:`Mistake`;
:func:`run_check` does the rest. The small tensor helpers below (``floats``, ``randn``,
``mask``, the scans) are what those tables build their cases and mistakes from.
"""

from __future__ import annotations

import html
import itertools
import numbers
import textwrap
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from pgcourse.learner import record_pass

EPS = 1e-8  # the advantage-normalisation epsilon of the course
RTOL, ATOL = 1e-4, 1e-5  # float32 comparison tolerances
MAX_SHOWN = 24  # tensors with more elements are described by their shape only

Args = dict[str, Any]


# --------------------------------------------------------------------------------------
# The verdict
# --------------------------------------------------------------------------------------

#: The hint shared by every exercise whose known mistakes include a sum instead of the mean.
SUM_HINT = (
    "Sum and mean differ only by the factor T, and that factor multiplies the gradient: under plain SGD it "
    "would act like a learning rate that grows with the batch. Adam removes a constant T, but a T that changes "
    "from batch to batch changes how much each update weighs in Adam's running means. The course convention "
    "is the mean (.mean())."
)


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
class Case:
    """One test input. ``make`` builds fresh arguments (in call order); ``grad_args`` get requires_grad."""

    label: str
    make: Callable[[], Args]
    grad_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer: any of ``variants`` reproduces it. ``{step}`` in the hint is filled in.

    ``acceptable`` marks a legitimate alternative: it passes, with the hint as a note.
    """

    key: str
    title: str
    hint: str
    variants: tuple[Callable[..., Any], ...]
    acceptable: bool = False


@dataclass(frozen=True)
class Exercise:
    name: str
    formula: str  # the maths to implement, shown for an untouched stub and with generic failures
    reference: Callable[..., Any]
    cases: tuple[Case, ...]
    mistakes: tuple[Mistake, ...]
    scalar: bool = False  # output is one number
    differentiable: bool = False  # output must be a tensor connected to the autograd graph (a loss)
    recursive: bool = False  # backward-in-time recursion: report the *latest* differing step


@dataclass(frozen=True)
class Bug:
    """A bug planted in the code of a debugging exercise: ``title`` names it, ``hint`` says where to look.

    ``hidden_by`` is the key of another bug that makes this one invisible while it remains (same output).
    """

    key: str
    title: str
    hint: str
    hidden_by: str | None = None


def remaining_bugs(
    bugs: tuple[Bug, ...], with_bugs: Callable[[frozenset[str]], Callable[..., Any]]
) -> tuple[Mistake, ...]:
    """One :class:`Mistake` per set of ``bugs`` that can still be seen; ``with_bugs(keys)`` is the code with them.

    The verdict names every bug that remains and gives the hint of the first of them only: one hint at a time.
    A bug hidden by another one that remains is not named but announced as not checkable yet.
    """
    found = []
    for size in range(len(bugs), 0, -1):
        for left in itertools.combinations(bugs, size):
            keys = {b.key for b in left}
            if any(b.hidden_by in keys for b in left):
                continue  # the same output as without the hidden bug
            names = "; ".join(b.title for b in left)
            title = f"{size} of the {len(bugs)} bugs {'remain' if size > 1 else 'remains'} ({names})"
            hidden = [b for b in bugs if b.hidden_by in keys]
            if hidden:
                by = next(b for b in left if b.key == hidden[0].hidden_by)
                title += f"; whether “{hidden[0].title}” is fixed shows only once “{by.title}” is"
            then = " Fix it, run the cell, then check again." if size > 1 or hidden else ""
            key = "+".join(b.key for b in left)
            found.append(Mistake(key, title, left[0].hint + then, (with_bugs(frozenset(keys)),)))
    return tuple(found)


def floats(*values: float) -> torch.Tensor:
    """A float32 tensor of ``values``."""
    return torch.tensor(values, dtype=torch.float32)


def randn(seed: int, *shape: int) -> torch.Tensor:
    """Standard-normal noise of ``shape`` from its own generator seeded with ``seed``."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def mask(length: int, ones: tuple[int, ...]) -> torch.Tensor:
    """A 0/1 float tensor of ``length`` with ones at the indices ``ones`` (episode ends)."""
    m = torch.zeros(length)
    m[list(ones)] = 1.0
    return m


def scan_back(x: torch.Tensor, carry: torch.Tensor) -> torch.Tensor:
    """:math:`y_t = x_t + c_t\\, y_{t+1}` with :math:`y_T = 0` (backward along the first axis)."""
    out, running = [], torch.zeros_like(x[0])
    for t in range(x.shape[0] - 1, -1, -1):
        running = x[t] + carry[t] * running
        out.append(running)
    return torch.stack(out[::-1])


def scan_forward(x: torch.Tensor, carry: torch.Tensor) -> torch.Tensor:
    """:math:`y_t = x_t + c_t\\, y_{t-1}` with :math:`y_{-1} = 0` (the loop of a forgotten reversal)."""
    out, running = [], torch.zeros_like(x[0])
    for t in range(x.shape[0]):
        running = x[t] + carry[t] * running
        out.append(running)
    return torch.stack(out)


def standardize(x: torch.Tensor, dim: int | None = None, correction: int = 1) -> torch.Tensor:
    """:math:`(x - \\mathrm{mean}(x)) / (\\mathrm{std}(x) + 10^{-8})`, over all elements or along ``dim``."""
    if dim is None:
        return (x - x.mean()) / (x.std(correction=correction) + EPS)
    return (x - x.mean(dim, keepdim=True)) / (x.std(dim, keepdim=True, correction=correction) + EPS)


def pop_var(x: torch.Tensor) -> torch.Tensor:
    """The population variance :math:`\\frac{1}{n}\\sum_i (x_i - \\bar x)^2`."""
    return x.var(correction=0)


def corr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pearson's correlation of ``a`` and ``b``."""
    a, b = a - a.mean(), b - b.mean()
    return (a * b).mean() / (pop_var(a).sqrt() * pop_var(b).sqrt())


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


def _as_output(ex: Exercise, out: Any) -> torch.Tensor:
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


def _evaluate(ex: Exercise, fn: Callable[..., Any], case: Case, learner: bool = False) -> _Outcome:
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


def _diagnose(ex: Exercise, mine: list[_Outcome], refs: list[_Outcome]) -> Mistake | None:
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


def _details(case: Case, expected: torch.Tensor | None = None, got: torch.Tensor | None = None) -> str:
    inputs = ", ".join(f"{k}={_fmt(v)}" for k, v in case.make().items())
    lines = [f"case:     {case.label}", f"inputs:   {inputs}"]
    if expected is not None and got is not None:
        lines += [f"expected: {_fmt(expected)}", f"got:      {_fmt(got)}"]
    return "\n".join(lines)


def _shape_text(shape: torch.Size) -> str:
    return "() — a single number" if len(shape) == 0 else str(tuple(shape))


def _generic_failure(ex: Exercise, case: Case, mine: _Outcome, ref: _Outcome) -> tuple[str, str, str]:
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


def _crash(ex: Exercise, case: Case, err: Exception) -> CheckResult:
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


def run_check(ex: Exercise, fn: Any) -> CheckResult:
    """Run ``fn`` on every case of ``ex``; pass, or diagnose the first difference. Never raises for learner errors.

    Warnings raised while the cases run are silenced: the verdict explains what matters.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = _check_quietly(ex, fn)
    if result.passed:
        record_pass("exercise", ex.name)  # the learner's progress; never raises
    return result


def _check_quietly(ex: Exercise, fn: Any) -> CheckResult:
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
