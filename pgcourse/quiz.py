"""Quizzes: one multiple-choice question as a widget, with an explanation for every option.

In a notebook::

    from pgcourse.quiz import show_quiz
    show_quiz("04_gae", 0)          # question 0 of notebook 04, from the bank QUIZZES

    Quiz("What is $\\gamma^0$?", ["$0$", "$1$"], answer=1,
         explanations=["Any non-zero number to the power 0 is 1.", "Right: $x^0 = 1$ for every $x \\neq 0$."])

A question, its options and its explanations are HTML fragments with LaTeX in ``$...$`` (rendered by
``HTMLMath`` in JupyterLab). ``answer`` is the index of the right option, or a set of indices for a "select all
that apply" question (tick the options, then press **Check**). Choosing an option shows its explanation — a
wrong choice teaches why it is wrong. :meth:`Quiz.choose` does the same from code and returns whether the
choice is right; ``quiz.feedback`` holds the text. A rightly answered bank question is recorded in the
learner's progress (:mod:`pgcourse.learner`).

Without a kernel (an exported HTML handout) a quiz shows as :func:`static_html`: the question and its options,
with the answer and the explanations folded in a ``<details>``.

``QUIZZES`` (from :mod:`pgcourse.quizzes`) maps a notebook's file stem (``"04_gae"``) to its questions.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from pgcourse.learner import record_pass

QUIZ_ATTR = "data-pgcourse-quiz"  # marks a quiz's static HTML (the handout exporter typesets its maths)
LETTERS = "ABCDEFGHIJ"
RIGHT, WRONG = ("#2e7d32", "#e8f5e9"), ("#c62828", "#ffebee")

Choice = int | Iterable[int]


def _index(i: Any, n: int, what: str) -> int:
    if isinstance(i, bool) or not isinstance(i, int):
        raise ValueError(f"{what} must be an option index (an int in 0..{n - 1}), got {i!r}")
    if not 0 <= i < n:
        raise ValueError(f"{what} {i} is out of range: there are {n} options, so it must be in 0..{n - 1}")
    return i


@dataclass(frozen=True)
class Question:
    """One multiple-choice question; validated on construction (clear ``ValueError`` for bad input).

    ``prediction`` marks a question asked *before* the notebook shows the answer ("predict, then move the slider",
    "predict, then run").
    """

    question: str
    options: tuple[str, ...]
    answer: int | frozenset[int]
    explanations: tuple[str, ...]
    prediction: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.question, str) or not self.question.strip():
            raise ValueError(f"question must be a non-empty string, got {self.question!r}")
        if isinstance(self.options, str) or isinstance(self.explanations, str):
            raise ValueError("options and explanations must be lists of strings, not one string")
        object.__setattr__(self, "options", tuple(self.options))
        object.__setattr__(self, "explanations", tuple(self.explanations))
        n = len(self.options)
        if n < 2:
            raise ValueError(f"a question needs at least 2 options, got {n}")
        if n > len(LETTERS):
            raise ValueError(f"a question has at most {len(LETTERS)} options, got {n}")
        for what, texts in (("option", self.options), ("explanation", self.explanations)):
            bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
            if bad:
                raise ValueError(f"{what} {bad[0]} must be a non-empty string, got {texts[bad[0]]!r}")
        if len(self.explanations) != n:
            raise ValueError(
                f"every option needs an explanation: {n} options but {len(self.explanations)} explanations"
            )
        if isinstance(self.answer, (set, frozenset, list, tuple)):
            answer = frozenset(_index(i, n, "answer") for i in self.answer)
            if not answer:
                raise ValueError("answer must name at least one option, got an empty set")
            object.__setattr__(self, "answer", answer)
        else:
            _index(self.answer, n, "answer")

    @property
    def multi(self) -> bool:
        """True for a "select all that apply" question (``answer`` is a set)."""
        return isinstance(self.answer, frozenset)

    @property
    def right(self) -> frozenset[int]:
        """The indices of the right options."""
        return self.answer if isinstance(self.answer, frozenset) else frozenset({self.answer})

    def normalise(self, choice: Choice) -> frozenset[int]:
        """``choice`` as a set of valid indices (an int, or a set of ints for a multi question)."""
        n = len(self.options)
        if isinstance(choice, (int, bool)):
            return frozenset({_index(choice, n, "choice")})
        chosen = frozenset(_index(i, n, "choice") for i in choice)
        if not self.multi and len(chosen) != 1:
            raise ValueError(f"this question has one answer: choose one index in 0..{n - 1}, got {sorted(chosen)}")
        return chosen

    def is_right(self, choice: Choice) -> bool:
        """True exactly when ``choice`` is the answer (all the right options and no other, for a multi question)."""
        return self.normalise(choice) == self.right

    def feedback_html(self, choice: Choice) -> str:
        """The verdict and the explanations of the chosen options (all of them once a multi question is right)."""
        chosen = self.normalise(choice)
        ok = chosen == self.right
        border, background = RIGHT if ok else WRONG
        if ok:
            verdict = "✔ Right."
        elif self.multi:
            missing = len(self.right - chosen)
            verdict = "✘ Not quite." + (f" {missing} more option{'s' * (missing > 1)} apply." if missing else "")
        else:
            verdict = "✘ Not quite — read why, then try another option."
        shown = range(len(self.options)) if ok else sorted(chosen)
        lines = []
        for i in shown:
            lines.append(f"<li><b>{LETTERS[i]}</b> {'✔' if i in self.right else '✘'} {self.explanations[i]}</li>")
        return (
            f"<div style='border-left:6px solid {border};background:{background};color:#1b1b1b;padding:6px 10px;"
            f"margin:4px 0;border-radius:4px'><b>{verdict}</b><ul style='margin:4px 0;padding-left:1.2em'>"
            f"{''.join(lines)}</ul></div>"
        )


def static_html(q: Question, key: str = "") -> str:
    """The quiz without a kernel: question and options, with the answer and every explanation folded."""
    title = "Predict, then check" if q.prediction else "Quiz"
    hint = " (select all that apply)" if q.multi else ""
    options = "".join(f"<li><b>{LETTERS[i]}.</b> {text}</li>" for i, text in enumerate(q.options))
    answer = ", ".join(LETTERS[i] for i in sorted(q.right))
    explanations = "".join(
        f"<li><b>{LETTERS[i]}</b> {'✔' if i in q.right else '✘'} {text}</li>" for i, text in enumerate(q.explanations)
    )
    return (
        f"<div class='pgc-quiz' {QUIZ_ATTR}='{html.escape(key or 'quiz')}' style='border:1px solid #ccc;"
        "border-radius:6px;padding:8px 12px;margin:6px 0'>"
        f"<div><b>{title}{hint}:</b> {q.question}</div><ul style='list-style:none;padding-left:0.5em'>{options}</ul>"
        f"<details><summary>Answer and explanations (open after you have chosen)</summary>"
        f"<p><b>Answer: {answer}</b></p><ul style='padding-left:1.2em'>{explanations}</ul></details></div>"
    )


class Quiz(widgets.VBox):
    """A multiple-choice question as a widget: click an option (or tick options and press Check) to see why.

    ``key`` (set by :func:`show_quiz`) names the question in the learner's progress; a quiz without one is not
    recorded. ``buttons`` (one per option; single-answer questions) or ``checkboxes`` and ``check_button``
    ("select all that apply") are the controls; ``feedback`` shows the verdict and the explanations.
    """

    def __init__(
        self,
        question: str,
        options: Iterable[str],
        answer: int | Iterable[int],
        explanations: Iterable[str],
        prediction: bool = False,
        key: str | None = None,
    ) -> None:
        if isinstance(options, str) or isinstance(explanations, str):
            raise ValueError("options and explanations must be lists of strings, not one string")
        spec = Question(question, tuple(options), answer, tuple(explanations), prediction)  # type: ignore[arg-type]
        self.spec, self.key = spec, key
        self.last_choice: frozenset[int] | None = None
        self.passed = False
        title = "Predict first, then check" if spec.prediction else "Quiz"
        hint = " — select all that apply, then press Check" if spec.multi else " — click an option"
        header = widgets.HTMLMath(f"<b>{title}</b><small style='color:#666'>{hint}</small><br>{spec.question}")
        self.feedback = widgets.HTMLMath("")
        self.buttons: list[widgets.Button] = []
        self.checkboxes: list[widgets.Checkbox] = []
        rows = []
        for i, text in enumerate(spec.options):
            label = widgets.HTMLMath(text, layout=widgets.Layout(flex="1 1 auto", margin="0 0 0 6px"))
            if spec.multi:
                control: widgets.Widget = widgets.Checkbox(
                    value=False, indent=False, description=LETTERS[i], layout=widgets.Layout(width="4em")
                )
                self.checkboxes.append(control)
            else:
                control = widgets.Button(description=LETTERS[i], layout=widgets.Layout(width="3em", flex="0 0 auto"))
                control.on_click(lambda _button, i=i: self.choose(i))
                self.buttons.append(control)
            control.add_class("pgc-quiz-option")
            rows.append(widgets.HBox([control, label], layout=widgets.Layout(align_items="center")))
        children: list[widgets.Widget] = [header, *rows]
        self.check_button: widgets.Button | None = None
        if spec.multi:
            self.check_button = widgets.Button(description="Check", button_style="primary")
            self.check_button.on_click(lambda _button: self.choose(self.ticked()))
            children.append(self.check_button)
        children.append(self.feedback)
        super().__init__(children, layout=widgets.Layout(border="1px solid #ccc", padding="6px 10px", margin="6px 0"))
        self.add_class("pgc-quiz")

    @classmethod
    def from_question(cls, q: Question, key: str | None = None) -> Quiz:
        return cls(q.question, q.options, q.answer, q.explanations, q.prediction, key)

    def ticked(self) -> set[int]:
        """The options ticked now ("select all that apply" questions)."""
        return {i for i, box in enumerate(self.checkboxes) if box.value}

    def choose(self, choice: Choice) -> bool:
        """Select ``choice`` (an index, or a set of indices), show its feedback; True exactly when it is right."""
        chosen = self.spec.normalise(choice)
        ok = chosen == self.spec.right
        self.last_choice = chosen
        self.feedback.value = self.spec.feedback_html(chosen)
        for i, button in enumerate(self.buttons):
            button.button_style = ("success" if i in self.spec.right else "danger") if i in chosen else ""
        for i, box in enumerate(self.checkboxes):
            box.value = i in chosen
        if ok and not self.passed:
            self.passed = True
            if self.key:
                record_pass("quiz", self.key)
        return ok

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widget, plus its static HTML for frontends without a kernel (exported handouts)."""
        data = super()._repr_mimebundle_(**kwargs) or {}
        data["text/html"] = static_html(self.spec, self.key or "")
        return data


def quiz_questions(stem: str) -> tuple[Question, ...]:
    """The questions of notebook ``stem`` (e.g. ``"04_gae"``) in the bank, or a ``KeyError`` naming the stems."""
    from pgcourse.quizzes import QUIZZES

    if stem not in QUIZZES:
        raise KeyError(f"no quizzes for {stem!r}; notebooks with quizzes: {', '.join(QUIZZES)}")
    return QUIZZES[stem]


def show_quiz(stem: str, i: int) -> Quiz:
    """Question ``i`` of notebook ``stem`` from the bank, as a :class:`Quiz` recorded as ``"stem/i"``."""
    questions = quiz_questions(stem)
    if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(questions):
        raise ValueError(f"{stem} has {len(questions)} quizzes: i must be in 0..{len(questions) - 1}, got {i!r}")
    return Quiz.from_question(questions[i], key=f"{stem}/{i}")


def __getattr__(name: str) -> Any:
    """``pgcourse.quiz.QUIZZES``: the bank, loaded on first use (its modules import :class:`Question` from here)."""
    if name == "QUIZZES":
        from pgcourse.quizzes import QUIZZES

        return QUIZZES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
