"""Notebook 11 (capstone): text the notebook renders from its sources instead of restating it.

* :func:`env_doc_section` — a section (``## Rewards``, ``## Action Space``, ...) of a gymnasium environment's own
  documentation, its class docstring, so the task is described in gymnasium's words, for the installed version;
* :func:`benchmark_table` — the benchmark table of one environment from the repository's ``README.md``, between
  the markers ``<!-- bench_lunar: ENV_ID -->`` and ``<!-- /bench_lunar -->`` that ``benchmarks/bench_lunar.py``'s
  results are pasted between. The README is looked for next to the package (an editable install, a clone);
  when it is not there (``pip install .`` ships no README) or has no such section, the result says so.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym

__all__ = ["ReadmeSection", "benchmark_table", "env_doc_section", "repo_readme"]

BENCH_TAG = "bench_lunar"


def env_doc_section(env_id: str, heading: str) -> str:
    """The Markdown section ``## heading`` of ``env_id``'s documentation (its class docstring), without the heading."""
    try:
        spec = gym.spec(env_id)
    except gym.error.Error as err:
        raise ValueError(f"unknown environment id {env_id!r}: {err}") from None
    entry = spec.entry_point
    cls = gym.envs.registration.load_env_creator(entry) if isinstance(entry, str) else entry
    doc = inspect.cleandoc(cls.__doc__ or "")
    sections = dict(re.findall(r"^## (.+?)\n(.*?)(?=^## |\Z)", doc, re.M | re.S))
    if heading not in sections:
        raise ValueError(f"{env_id}'s documentation has no section {heading!r}; it has {sorted(sections)}")
    return sections[heading].strip()


def repo_readme() -> Path:
    """Where the repository's README would be: beside the ``pgcourse`` package directory."""
    return Path(__file__).resolve().parents[2] / "README.md"


@dataclass(frozen=True)
class ReadmeSection:
    """A section of the README as Markdown (``found``), or a sentence saying why it is not there."""

    found: bool
    markdown: str
    path: Path

    def __str__(self) -> str:
        return self.markdown

    def _repr_markdown_(self) -> str:
        return self.markdown


def benchmark_table(env_id: str, readme: str | Path | None = None) -> ReadmeSection:
    """The README's benchmark section for ``env_id``: the text between ``<!-- bench_lunar: env_id -->`` and
    ``<!-- /bench_lunar -->``; ``readme`` defaults to :func:`repo_readme`.
    """
    path = Path(readme) if readme is not None else repo_readme()
    if not path.is_file():
        return ReadmeSection(
            False,
            f"*The README is not found* (looked for `{path}`): this `pgcourse` is installed without its repository "
            "(a non-editable `pip install .` ships no README). The table is in the repository's `README.md`, "
            "section “How fast it trains”.",
            path,
        )
    start, end = f"<!-- {BENCH_TAG}: {env_id} -->", f"<!-- /{BENCH_TAG} -->"
    text = path.read_text(encoding="utf-8")
    begin = text.find(start)
    stop = text.find(end, begin + len(start)) if begin >= 0 else -1
    if begin < 0 or stop < 0:
        return ReadmeSection(
            False,
            f"*`{path.name}` has no benchmark table for {env_id} yet* (no lines `{start}` … `{end}`): run "
            f"`python benchmarks/bench_lunar.py` and paste its table for {env_id} between those two lines.",
            path,
        )
    return ReadmeSection(True, text[begin + len(start) : stop].strip(), path)
