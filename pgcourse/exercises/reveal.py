"""``show_source(obj)``: the package's own implementation, revealed after an exercise."""

from __future__ import annotations

import html
import inspect
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUMMARY = "Reference solution (folded: open it after your attempt)"


@dataclass(frozen=True)
class SourceView:
    """Source code of a package object; Jupyter shows it folded in a ``<details>``, ``str()`` gives plain text."""

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
        return (
            f"<details class='pgc-solution'><summary>{SUMMARY} — {header}</summary>"
            f"<div style='margin-top:4px'>{body}</div></details>"
        )


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
