"""The learner's progress: which exercises and quizzes they have passed, in one small JSON file.

A passing ``check_*`` and a rightly answered quiz call :func:`record_pass`; ``pgcourse.progress()`` shows the
table. The file lives in the user's data directory, never in the repository:

* ``$PGCOURSE_PROGRESS_FILE`` if set (tests and CI point it at a temporary file; the value ``off`` disables
  recording);
* else ``$XDG_DATA_HOME/pgcourse/progress.json`` (default ``~/.local/share/pgcourse/progress.json``) on Linux,
  ``~/Library/Application Support/pgcourse/progress.json`` on macOS, ``%APPDATA%\\pgcourse\\progress.json`` on
  Windows — where ``platformdirs`` would put it.

Progress is never required: a read-only home, a missing directory or a corrupt file gives a one-line note
(a :class:`ProgressWarning`), never an exception, and the course carries on. The file holds::

    {"version": 1, "passed": {"exercise:gae": "2026-12-02T17:09:37Z", "quiz:04_gae/0": "..."}}
"""

from __future__ import annotations

import html
import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ENV_VAR = "PGCOURSE_PROGRESS_FILE"
OFF = "off"
VERSION = 1
KINDS = ("exercise", "quiz")


class ProgressWarning(UserWarning):
    """A one-line note that progress could not be read or saved (the course carries on)."""


def _note(message: str) -> None:
    warnings.warn(message, ProgressWarning, stacklevel=3)


def default_path() -> Path:
    """The per-user data file, platformdirs-style (see the module docstring)."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "pgcourse" / "progress.json"


def progress_path() -> Path | None:
    """Where progress is kept: ``$PGCOURSE_PROGRESS_FILE``, else :func:`default_path`; ``None`` when switched off."""
    explicit = os.environ.get(ENV_VAR, "").strip()
    if explicit.lower() == OFF:
        return None
    return Path(explicit).expanduser() if explicit else default_path()


def key(kind: str, name: str) -> str:
    """The record key of an item, e.g. ``key("quiz", "04_gae/0") == "quiz:04_gae/0"``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return f"{kind}:{name}"


def load_passed(path: Path | None = None) -> dict[str, str]:
    """Every passed item's key and the UTC time it was first passed; ``{}`` (and a note) if the file is unreadable."""
    path = progress_path() if path is None else path
    if path is None or not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        passed = data["passed"]
        if not isinstance(passed, dict):
            raise TypeError("'passed' is not an object")
        return {str(k): str(v) for k, v in passed.items()}
    except (OSError, ValueError, KeyError, TypeError) as err:
        _note(f"pgcourse: progress file {path} is unreadable ({type(err).__name__}); showing no progress.")
        return {}


def record_pass(kind: str, name: str) -> bool:
    """Record that ``name`` (an exercise or a quiz) was passed; True if saved. Never raises for file problems.

    The first pass is kept (its time is when you first got it right). The file is replaced atomically, so an
    interrupted write cannot corrupt it. A corrupt file is not overwritten (you may want to repair it).
    """
    entry = key(kind, name)
    path = progress_path()
    if path is None:
        return False
    try:
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data.get("passed"), dict):
                raise ValueError("'passed' is not an object")
        else:
            data = {"version": VERSION, "passed": {}}
    except (OSError, ValueError, AttributeError) as err:
        _note(f"pgcourse: progress file {path} is unreadable ({type(err).__name__}); this pass was not recorded.")
        return False
    if entry in data["passed"]:
        return True
    data["passed"][entry] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False, encoding="utf-8") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(f.name, path)
    except OSError as err:
        _note(f"pgcourse: cannot save progress to {path} ({err.strerror or type(err).__name__}); carrying on.")
        return False
    return True


@dataclass(frozen=True)
class Item:
    """One exercise or quiz of the course, and when it was passed (``None``: not yet)."""

    kind: str
    name: str
    notebook: str
    passed_at: str | None


@dataclass(frozen=True)
class Progress:
    """Every exercise and quiz of the course with its state; Jupyter shows a table, tests read ``items``."""

    items: tuple[Item, ...]
    path: Path | None
    extra: tuple[str, ...] = field(default=())  # recorded keys the catalogue does not know (renamed items)

    def passed(self, kind: str | None = None) -> list[Item]:
        """The passed items (of ``kind``, if given)."""
        return [i for i in self.items if i.passed_at and (kind is None or i.kind == kind)]

    def total(self, kind: str | None = None) -> int:
        return sum(1 for i in self.items if kind is None or i.kind == kind)

    def summary(self) -> str:
        """One line: how many exercises and quizzes are passed, and where the file is."""
        where = f"kept in {self.path}" if self.path else f"recording is off (${ENV_VAR}={OFF})"
        return (
            f"{len(self.passed('exercise'))} of {self.total('exercise')} exercises and "
            f"{len(self.passed('quiz'))} of {self.total('quiz')} quizzes passed; {where}"
        )

    def __str__(self) -> str:
        lines = [self.summary()]
        for notebook in dict.fromkeys(i.notebook for i in self.items):
            row = [i for i in self.items if i.notebook == notebook]
            marks = " ".join(f"{'✔' if i.passed_at else '·'} {i.kind} {i.name}" for i in row)
            lines.append(f"  {notebook}: {marks}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        rows = []
        for notebook in dict.fromkeys(i.notebook for i in self.items):
            row = [i for i in self.items if i.notebook == notebook]
            cells = []
            for kind in KINDS:
                of_kind = [i for i in row if i.kind == kind]
                done = sum(1 for i in of_kind if i.passed_at)
                marks = " ".join(
                    f"<span title='{html.escape(i.name)}{': passed ' + i.passed_at if i.passed_at else ''}'>"
                    f"{'✔' if i.passed_at else '○'}{' ' + html.escape(i.name) if kind == 'exercise' else ''}</span>"
                    for i in of_kind
                )
                cells.append(f"<td>{marks} <small>{done}/{len(of_kind)}</small></td>" if of_kind else "<td>—</td>")
            rows.append(f"<tr><td><code>{html.escape(notebook)}</code></td>{''.join(cells)}</tr>")
        return (
            "<div class='pgc-progress'><table><thead><tr><th>notebook</th><th>exercises</th><th>quizzes</th></tr>"
            f"</thead><tbody>{''.join(rows)}</tbody></table><small>{html.escape(self.summary())}</small></div>"
        )


def progress_report(catalogue: Mapping[str, Sequence[tuple[str, str]]]) -> Progress:
    """The :class:`Progress` of every item in ``catalogue`` (notebook -> ``(kind, name)`` pairs, in course order)."""
    path = progress_path()
    passed = load_passed(path) if path is not None else {}
    items = tuple(
        Item(kind, name, notebook, passed.get(key(kind, name)))
        for notebook, entries in catalogue.items()
        for kind, name in entries
    )
    known = {key(i.kind, i.name) for i in items}
    return Progress(items, path, tuple(sorted(set(passed) - known)))
