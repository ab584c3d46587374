"""The mission benchmark: what it trains and judges, and that notebook 11 and the README quote its measured table."""

import json
import re
from pathlib import Path

import pytest
from repo_scripts import load_script

from pgcourse.algorithms.ppo import PRESETS
from pgcourse.exercises.landing import LANDING

ROOT = Path(__file__).resolve().parents[1]
bench = load_script("benchmarks/bench_mission.py")
RESULTS = json.loads((ROOT / "benchmarks" / "results" / "mission.json").read_text())


def _rows() -> dict[tuple[str, int], dict]:
    return {(r["run"], r["seed"]): r for r in RESULTS["rows"]}


def test_the_rows_are_the_preset_and_the_hints_levers():
    rows = bench.variants()
    preset = PRESETS[LANDING.env_id]
    assert rows["preset"]["config"] == preset
    assert rows["lr 1e-3"]["config"].lr == pytest.approx(1e-3) and rows["lr 1e-3"]["config"].n_epochs == preset.n_epochs
    (callback,) = rows["stop at 200"]["callbacks"]
    assert callback.stop_at == LANDING.target and callback.every == bench.EVAL_EVERY
    assert RESULTS["budget"] == LANDING.budget


def test_a_tiny_run_is_judged_as_check_landing_judges_it():
    rows = bench.main(["--budget", "8192", "--seeds", "0", "--only", "preset", "--jobs", "1"])
    (row,) = rows
    assert row["run"] == "preset" and row["seed"] == 0 and row["steps"] >= 8192
    assert row["landed"] is False and row["mean"] < LANDING.target   # one rollout does not land
    assert "| preset | 0 |" in bench.table(rows)


def test_notebook_11_quotes_the_measured_means():
    nb = json.loads((ROOT / "notebooks" / "11_capstone_lunar_lander.ipynb").read_text())
    (hint,) = ["".join(c["source"]) for c in nb["cells"] if "One way that landed" in "".join(c["source"])]
    quoted = [float(x) for x in re.findall(r"\d+\.\d", hint)]
    rows = _rows()
    measured = [rows[(run, seed)]["mean"] for run in ("lr 1e-3", "preset", "stop at 200") for seed in (1, 2)]
    assert quoted == measured
    assert [rows[("lr 1e-3", s)]["landed"] for s in (1, 2)] == [True, True]          # "this landed on seeds 1 and 2"
    assert not any(rows[(run, s)]["landed"] for run in ("preset", "stop at 200") for s in (1, 2))   # "did not"
    assert "dataclasses.replace(preset, lr=1e-3)" in hint and f"every={bench.EVAL_EVERY:_}" in hint


def test_readme_table_is_the_measured_one():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- bench_mission -->\n")[1].split("\n<!-- /bench_mission -->")[0]
    assert block == bench.table(RESULTS["rows"])
