"""Quizzes (pgcourse.quiz, the bank pgcourse.quizzes), the learner's progress file, folded solutions."""

from __future__ import annotations

import html.parser
import json
import os
import re
import warnings
from pathlib import Path

import nbformat
import pytest

import pgcourse
from pgcourse import learner
from pgcourse.exercises import EXERCISES, MISSIONS, check_gae, show_source
from pgcourse.quiz import QUIZ_ATTR, QUIZZES, Question, Quiz, show_quiz, static_html

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
LESSONS = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if not p.stem.startswith("00"))
SHOW = re.compile(r'show_quiz\("(\w+)", (\d+)\)')
DEMO_OR_RUN = re.compile(r"\b\w+_demo\(|\bstatic_\w+\(|\btrain_\w+\(|\brun_seeds\(|\bclip_update_study\(")


def single() -> Quiz:
    return Quiz("What is $2 + 2$?", ["$3$", "$4$", "$5$"], 1, ["One short.", "Yes: $2 + 2 = 4$.", "One over."])


def multi() -> Quiz:
    return Quiz("Which are even?", ["2", "3", "4"], {0, 2}, ["2 = 2·1.", "3 is odd.", "4 = 2·2."])


# --------------------------------------------------------------------------------------------- the widget


def test_single_answer_choose_and_feedback():
    quiz = single()
    assert len(quiz.buttons) == 3 and not quiz.checkboxes and quiz.check_button is None
    assert quiz.choose(0) is False
    assert "Not quite" in quiz.feedback.value and "One short." in quiz.feedback.value
    assert "Yes:" not in quiz.feedback.value  # a wrong choice does not give the answer away
    assert quiz.buttons[0].button_style == "danger"
    assert quiz.choose(2) is False and "One over." in quiz.feedback.value and quiz.buttons[0].button_style == ""
    assert quiz.choose(1) is True
    assert "Right" in quiz.feedback.value and "Yes: $2 + 2 = 4$." in quiz.feedback.value
    assert quiz.buttons[1].button_style == "success"


def test_clicking_a_button_chooses_it():
    quiz = single()
    quiz.buttons[2].click()
    assert quiz.last_choice == {2} and "One over." in quiz.feedback.value
    quiz.buttons[1].click()
    assert quiz.passed


def test_select_all_that_apply():
    quiz = multi()
    assert len(quiz.checkboxes) == 3 and not quiz.buttons and quiz.check_button is not None
    assert quiz.choose({0}) is False
    assert "1 more option apply" in quiz.feedback.value and "2 = 2·1." in quiz.feedback.value
    assert "4 = 2·2." not in quiz.feedback.value  # the missed option is not revealed
    assert quiz.choose({0, 1, 2}) is False and "3 is odd." in quiz.feedback.value
    quiz.checkboxes[1].value = False
    quiz.check_button.click()
    assert quiz.passed and all(t in quiz.feedback.value for t in ("2 = 2·1.", "3 is odd.", "4 = 2·2."))
    assert quiz.choose(0) is False  # an int is one ticked option


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(options=["a", "b"], answer=2, explanations=["x", "y"]), "out of range"),
        (dict(options=["a", "b"], answer=-1, explanations=["x", "y"]), "out of range"),
        (dict(options=["a", "b"], answer={0, 5}, explanations=["x", "y"]), "out of range"),
        (dict(options=["a", "b"], answer=set(), explanations=["x", "y"]), "empty"),
        (dict(options=["a", "b"], answer=True, explanations=["x", "y"]), "option index"),
        (dict(options=["a", "b"], answer=0, explanations=["x"]), "2 options but 1 explanations"),
        (dict(options=[], answer=0, explanations=[]), "at least 2 options"),
        (dict(options=["a", ""], answer=0, explanations=["x", "y"]), "option 1"),
        (dict(options=["a", "b"], answer=0, explanations=["x", " "]), "explanation 1"),
        (dict(options="ab", answer=0, explanations=["x", "y"]), "not one string"),
    ],
)
def test_bad_input_is_a_clear_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Quiz("Q?", **kwargs)


def test_bad_choices_are_value_errors():
    with pytest.raises(ValueError, match="out of range"):
        single().choose(3)
    with pytest.raises(ValueError, match="one answer"):
        single().choose({0, 1})
    with pytest.raises(ValueError, match=f"04_gae has {len(QUIZZES['04_gae'])} quizzes"):
        show_quiz("04_gae", 99)
    with pytest.raises(KeyError, match="04_gae"):
        show_quiz("99_nothing", 0)


def test_static_html_folds_answer_and_explanations():
    page = static_html(multi().spec, "demo/0")
    assert QUIZ_ATTR in page and "Which are even?" in page
    before, folded = page.split("<details>", 1)
    assert "<summary>" in folded and "Answer: A, C" in folded and "3 is odd." in folded
    assert "3 is odd." not in before and "Answer" not in before  # nothing of the answer outside the fold
    bundle = multi()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "<details>" in bundle["text/html"]


# --------------------------------------------------------------------------------------------- the bank


class _Balanced(html.parser.HTMLParser):
    VOID = {"br"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack.pop() == tag, f"unbalanced </{tag}>"


def _texts(q: Question) -> list[str]:
    return [q.question, *q.options, *q.explanations]


def test_every_lesson_notebook_has_quizzes_in_the_bank():
    assert set(QUIZZES) == set(LESSONS)
    for stem, questions in QUIZZES.items():
        assert len(questions) >= 2, stem
        assert any(q.prediction for q in questions), f"{stem} has no prediction question"
        for q in questions:
            assert isinstance(q, Question)
            for text in _texts(q):
                assert text.count("$") % 2 == 0, f"{stem}: unbalanced $ in {text[:60]!r}"
                assert not re.search(r"<(?![/a-z])", text), f"{stem}: a bare '<' (use \\lt or &lt;): {text[:60]!r}"
                parser = _Balanced()
                parser.feed(text)
                assert not parser.stack, f"{stem}: unclosed {parser.stack} in {text[:60]!r}"
            assert not any("*" in re.sub(r"\$[^$]*\$", "", t) for t in _texts(q)), "markdown * is not HTML"
            assert "predict" in q.question.lower() or not q.prediction
            right = [q.explanations[i] for i in sorted(q.right)]
            assert all(not e.startswith(("False", "No", "Not ")) for e in right), (stem, q.question[:40])
            if not q.multi:
                assert right[0].startswith("Right"), (stem, q.question[:40])


def _quiz_cells(stem: str) -> list[tuple[int, int]]:
    """``(cell index, question index)`` of every quiz cell of a notebook."""
    nb = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
    found = []
    for n, cell in enumerate(nb.cells):
        for shown_stem, i in SHOW.findall(cell.source if cell.cell_type == "code" else ""):
            assert shown_stem == stem, f"{stem} shows a quiz of {shown_stem}"
            found.append((n, int(i)))
    return found


@pytest.mark.parametrize("stem", LESSONS)
def test_each_notebook_shows_its_quizzes_and_predicts_before_a_demo_or_a_run(stem):
    nb = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
    cells = _quiz_cells(stem)
    shown = [i for _, i in cells]
    assert shown == list(range(len(QUIZZES[stem]))), f"{stem} shows {shown}, the bank has {len(QUIZZES[stem])}"
    assert len(cells) >= 2
    before_demo = []
    for n, i in cells:
        if not QUIZZES[stem][i].prediction:
            continue
        following = next(c for c in nb.cells[n + 1 :] if c.cell_type == "code")
        before_demo.append(bool(DEMO_OR_RUN.search(following.source)))
    assert any(before_demo), f"{stem}: no prediction quiz right before a demo, figure or training cell"


def test_every_bank_question_renders_and_records(_progress_file):
    for stem, questions in QUIZZES.items():
        for i, q in enumerate(questions):
            quiz = show_quiz(stem, i)
            wrong = next(j for j in range(len(q.options)) if j not in q.right)
            assert quiz.choose({wrong} if q.multi else wrong) is False
            assert quiz.choose(set(q.right) if q.multi else next(iter(q.right))) is True
    passed = json.loads(_progress_file.read_text())["passed"]
    assert len(passed) == sum(map(len, QUIZZES.values())) and "quiz:04_gae/0" in passed


# --------------------------------------------------------------------------------------------- progress


def test_progress_round_trip(_progress_file):
    assert not _progress_file.exists()
    report = pgcourse.progress()
    assert report.passed() == [] and report.total("quiz") == sum(map(len, QUIZZES.values()))
    assert report.total("exercise") == len(EXERCISES) + len(MISSIONS)  # the missions are recorded as exercises
    show_quiz("02_reinforce", 0).choose(1)
    assert learner.record_pass("exercise", "gae")
    report = pgcourse.progress()
    assert {(i.kind, i.name) for i in report.passed()} == {("quiz", "02_reinforce/0"), ("exercise", "gae")}
    assert "1 of" in report.summary() and str(_progress_file) in report.summary()
    assert "✔" in report._repr_html_() and "<table>" in report._repr_html_()
    first = json.loads(_progress_file.read_text())["passed"]["exercise:gae"]
    assert learner.record_pass("exercise", "gae")
    assert json.loads(_progress_file.read_text())["passed"]["exercise:gae"] == first  # the first pass is kept


def test_a_passing_check_records_itself_and_a_failing_one_does_not(_progress_file):
    import pgcourse as pg

    def stub(*args):
        raise NotImplementedError

    assert not check_gae(stub).passed and not _progress_file.exists()
    assert check_gae(lambda r, v, nv, te, tr, g, lam: pg.gae(r, v, nv, te, tr, g, lam)[0]).passed
    assert "exercise:gae" in json.loads(_progress_file.read_text())["passed"]


def test_a_corrupt_file_gives_a_note_not_an_error(_progress_file):
    _progress_file.parent.mkdir(parents=True)
    _progress_file.write_text("{not json")
    with pytest.warns(learner.ProgressWarning, match="unreadable"):
        report = pgcourse.progress()
    assert report.passed() == []
    with pytest.warns(learner.ProgressWarning, match="not recorded"):
        assert single().choose(1) is True and learner.record_pass("quiz", "x/0") is False
    assert _progress_file.read_text() == "{not json"  # not overwritten


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file permissions")
def test_a_read_only_home_gives_a_note_not_an_error(tmp_path, monkeypatch):
    home = tmp_path / "ro"
    home.mkdir()
    home.chmod(0o500)
    monkeypatch.setenv(learner.ENV_VAR, str(home / "pgcourse" / "progress.json"))
    try:
        with pytest.warns(learner.ProgressWarning, match="cannot save"):
            assert learner.record_pass("quiz", "04_gae/0") is False
    finally:
        home.chmod(0o700)


def test_an_unwritable_location_gives_a_note_not_an_error(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(learner.ENV_VAR, str(blocker / "progress.json"))  # its parent is a file: cannot be created
    with pytest.warns(learner.ProgressWarning, match="cannot save"):
        assert show_quiz("04_gae", 0).choose(0) is True
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pgcourse.progress().passed() == []


def test_recording_can_be_switched_off(monkeypatch, tmp_path):
    monkeypatch.setenv(learner.ENV_VAR, "off")
    assert learner.progress_path() is None and learner.record_pass("quiz", "04_gae/0") is False
    assert "recording is off" in pgcourse.progress().summary()


def test_the_default_location_is_the_user_data_directory(monkeypatch, tmp_path):
    monkeypatch.delenv(learner.ENV_VAR)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    if os.name == "posix" and not os.uname().sysname == "Darwin":
        assert learner.progress_path() == tmp_path / "data" / "pgcourse" / "progress.json"
    assert "pgcourse" in learner.default_path().parts


def test_tests_never_write_into_the_real_home(_progress_file):
    assert Path(os.environ[learner.ENV_VAR]) == _progress_file


# --------------------------------------------------------------------------------------------- folded solutions


def test_show_source_folds_the_reference():
    page = show_source(pgcourse.gae)._repr_html_()
    assert page.startswith("<details") and "<summary>" in page and "open it after your attempt" in page
    assert " open" not in page.split(">", 1)[0]  # collapsed: no `open` attribute
    summary, body = page.split("</summary>", 1)
    assert "def gae" not in re.sub(r"<[^>]+>", "", summary) and "gae" in re.sub(r"<[^>]+>", "", body)
