"""The quiz bank: ``QUIZZES[stem]`` is the tuple of questions of the notebook ``notebooks/<stem>.ipynb``.

One module per lesson, in course order; each holds ``QUESTIONS``, a tuple of :class:`pgcourse.quiz.Question`
in the order the notebook shows them (``show_quiz(stem, i)`` shows the i-th). Texts are HTML fragments with
LaTeX in ``$...$``; a ``prediction`` question is asked before the notebook shows the answer.
"""

from __future__ import annotations

from pgcourse.quiz import Question
from pgcourse.quizzes import (
    a2c,
    baselines,
    capstone,
    continuous,
    diagnostics,
    failures,
    gae,
    ppo,
    reinforce,
    theorem,
    trust,
)

QUIZZES: dict[str, tuple[Question, ...]] = {
    "01_policy_gradient_theorem": theorem.QUESTIONS,
    "02_reinforce": reinforce.QUESTIONS,
    "03_baselines": baselines.QUESTIONS,
    "04_gae": gae.QUESTIONS,
    "05_a2c": a2c.QUESTIONS,
    "06_trust_regions": trust.QUESTIONS,
    "07_ppo": ppo.QUESTIONS,
    "08_continuous_control": continuous.QUESTIONS,
    "09_diagnostics": diagnostics.QUESTIONS,
    "10_failure_modes": failures.QUESTIONS,
    "11_capstone_lunar_lander": capstone.QUESTIONS,
}

__all__ = ["QUIZZES", "Question"]
