"""The notebook benchmark's book-keeping: the command it runs, what it reads from pytest, the table it prints."""

import shutil
from pathlib import Path

import pytest
from repo_scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
bench = load_script("benchmarks/bench_notebooks.py")

PYTEST_OUT = """\
============================= slowest durations ==============================
12.50s call     notebooks/02_reinforce.ipynb::Cell 29
2.25s call     notebooks/02_reinforce.ipynb::Cell 18
0.50s setup    notebooks/02_reinforce.ipynb::Cell 0
0.01s teardown notebooks/02_reinforce.ipynb::Cell 29
(40 durations < 0.005s hidden.  Use -vv to show these durations.)
32 passed in 19.31s
"""


def test_parse_sums_the_cells_call_times_only():
    cells, passed = bench.parse(PYTEST_OUT)
    assert cells == pytest.approx(14.75) and passed == 32   # setup and teardown are not cell time
    assert bench.parse("1 failed in 2.0s") == (0.0, 0)


def test_the_command_is_make_tests_nbval_step_and_cores_pin_it():
    nb = Path("notebooks/00_start_here.ipynb")
    cmd = bench.pytest_command(nb)
    for flag in ("--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=600", "--durations=0"):
        assert flag in cmd
    assert cmd[-1] == str(nb) and "taskset" not in cmd
    makefile = (ROOT / "Makefile").read_text()
    assert "--nbval-lax --nbval-current-env --nbval-cell-timeout=600 -p no:randomly notebooks" in makefile
    if shutil.which("taskset"):
        assert bench.pytest_command(nb, cores=1)[:3] == ["taskset", "-c", "0"]
        assert bench.pytest_command(nb, cores=2)[:3] == ["taskset", "-c", "0,1"]


def test_table_puts_runs_side_by_side_and_totals_the_notebooks_in_every_run():
    old = {"00_a": {"wall": 4.0, "ok": True}, "01_b": {"wall": 6.0, "ok": True}}
    new = {"00_a": {"wall": 3.0, "ok": True}, "01_b": {"wall": 5.5, "ok": False}, "02_c": {"wall": 9.0, "ok": True}}
    lines = bench.table({"old": old, "new": new}).splitlines()
    assert lines[0] == "| notebook | old: wall s | new: wall s |"
    assert lines[2] == "| 00_a | 4.0 | 3.0 |"
    assert lines[3] == "| 01_b | 6.0 | 5.5 | FAILED in ['new']"
    assert lines[4] == "| 02_c | — | 9.0 |"                       # not in the old run: left out of the totals
    assert lines[5] == "| total of the 2 notebooks in every run | **10.0** | **8.5** |"


def test_one_real_notebook_runs_and_is_timed():
    row = bench.run_notebook(ROOT, ROOT / "notebooks" / "00_start_here.ipynb")
    assert row["ok"] and row["passed"] >= 5
    assert 0 < row["cells"] < row["wall"]
