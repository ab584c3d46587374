"""The package reads like the syllabus: lesson layers in packages, one module per lesson, dependencies one way."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "pgcourse"
MAX_LINES = 600
LESSON_LAYERS = (
    "pgcourse.demos",
    "pgcourse.exercises",
    "pgcourse.health",
    "pgcourse.checklist",
    "pgcourse.quiz",
    "pgcourse.quizzes",
)
FACADE = "pgcourse"  # the package's front door may offer a layer lazily, inside a function (pgcourse.progress)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _imports(path: Path, top_level_only: bool = False) -> set[str]:
    """Every ``pgcourse...`` module that ``path`` imports, at top level or inside a function (or only top level)."""
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    for node in tree.body if top_level_only else ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("pgcourse")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pgcourse"):
            found.add(node.module)
            # `from pgcourse import demos` imports the submodule demos
            found |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in MODULES}
    return found


def _is_in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_lesson_layers_exist_and_the_old_monoliths_are_gone():
    for name in ("demos/__init__.py", "demos/widget.py", "exercises/__init__.py", "exercises/engine.py", "health.py"):
        assert (PKG / name).is_file(), name
    assert not (PKG / "interactive.py").exists()
    assert not (PKG / "exercises.py").exists()
    assert len(list((PKG / "demos").glob("*.py"))) >= 8  # __init__, widget and one module per lesson's demos
    assert len(list((PKG / "exercises").glob("*.py"))) >= 7


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_longer_than_600_lines(module):
    n = len(MODULES[module].read_text().splitlines())
    assert n <= MAX_LINES, f"{module} has {n} lines (at most {MAX_LINES})"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not any(_is_in(m, p) for p in LESSON_LAYERS)))
def test_the_core_never_imports_a_lesson_layer(module):
    imported = _imports(MODULES[module], top_level_only=module == FACADE)
    bad = {i for i in imported if any(_is_in(i, p) for p in LESSON_LAYERS)}
    assert not bad, f"core module {module} imports the lesson layer(s) {sorted(bad)}"


def test_import_pgcourse_loads_no_lesson_layer():
    """The facade's lazy imports stay lazy: ``import pgcourse`` loads neither widgets nor quizzes nor exercises."""
    code = "import sys, pgcourse; print(sorted(m for m in sys.modules if m.startswith(('pgcourse.', 'ipywidgets'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    loaded = eval(out)  # a printed list of module names
    assert not [m for m in loaded if any(_is_in(m, p) for p in LESSON_LAYERS) or m.startswith("ipywidgets")], loaded


@pytest.mark.parametrize(
    "package, shared", [("pgcourse.demos", "widget"), ("pgcourse.exercises", "engine"), ("pgcourse.quizzes", "")]
)
def test_no_lesson_module_imports_another_lessons(package, shared):
    lessons = [m for m in MODULES if m.startswith(package + ".")]
    allowed = {package, f"{package}.{shared}"}
    for module in lessons:
        if shared and module == f"{package}.{shared}":
            continue
        siblings = {i for i in _imports(MODULES[module]) if _is_in(i, package)} - allowed
        assert not siblings, f"{module} imports {sorted(siblings)}; shared pieces belong in {shared}.py or the core"


def test_demos_and_exercises_do_not_import_each_other():
    for a, b in [("pgcourse.demos", "pgcourse.exercises"), ("pgcourse.exercises", "pgcourse.demos")]:
        for module in (m for m in MODULES if _is_in(m, a)):
            assert not any(_is_in(i, b) for i in _imports(MODULES[module])), (module, b)


def test_the_import_checker_sees_imports():
    """Guard the guard: the checker finds the imports this repository is known to have."""
    assert "pgcourse.demos.widget" in _imports(PKG / "demos" / "gae.py")
    assert "pgcourse.exercises.engine" in _imports(PKG / "exercises" / "gae.py")
    assert "pgcourse.diagnostics" in _imports(PKG / "algorithms" / "on_policy.py")
    assert "pgcourse.quizzes" in _imports(PKG / "__init__.py")  # lazily, in pgcourse.progress ...
    assert "pgcourse.quizzes" not in _imports(PKG / "__init__.py", top_level_only=True)  # ... not at import


def test_public_names_are_re_exported():
    import pgcourse.demos as demos
    import pgcourse.exercises as exercises

    for package in (demos, exercises):
        missing = [n for n in package.__all__ if not hasattr(package, n)]
        assert not missing, (package.__name__, missing)
    checkers = {f"check_{n}" for n in (*exercises.EXERCISES, *exercises.MISSIONS)}
    assert {n for n in exercises.__all__ if n.startswith("check_")} == checkers
    assert {"gae_demo", "baseline_demo", "clip_update_demo", "kl_estimator_demo", "SliderDemo"} <= set(demos.__all__)


def test_a_plain_wheel_ships_every_subpackage(tmp_path):
    """``pip install .`` (not only the editable install) ships demos/ and exercises/: build the wheel and look."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    src = tmp_path / "src"
    for name in tracked:  # build from a copy of what is committed, so the repo stays clean
        if (ROOT / name).is_file() and (name.startswith("pgcourse/") or name in ("pyproject.toml", "README.md")):
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes((ROOT / name).read_bytes())
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("pgcourse-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {str(MODULES[m].relative_to(ROOT)) for m in MODULES}
    assert expected <= names, sorted(expected - names)
    assert "pgcourse/demos/gae.py" in names and "pgcourse/exercises/engine.py" in names
