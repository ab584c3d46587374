"""Every notebook's run time: each one under nbval in its own pytest process, as CI runs them.

    flock /tmp/pgcourse-heavy.lock .venv/bin/python benchmarks/bench_notebooks.py --json now.json
    flock /tmp/pgcourse-heavy.lock .venv/bin/python benchmarks/bench_notebooks.py --cores 1 --json one.json
    flock /tmp/pgcourse-heavy.lock .venv/bin/python benchmarks/bench_notebooks.py --repo /tmp/old --json old.json
    .venv/bin/python benchmarks/bench_notebooks.py --table old.json one.json now.json

Each notebook runs as ``pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=600 -p no:randomly NB``
with ``PYTHONPATH`` set to the checkout measured (``--repo``, default: this one), so another commit's
notebooks run against that commit's package, in this interpreter. ``--cores N`` pins the process and
everything it starts to the first N cores (``taskset``): ``run_seeds(n_jobs=-1)`` then starts N workers.
A row is the wall time of that process (kernel start included) and the sum of its cells' call times
(``--durations=0``). ``--table`` prints earlier ``--json`` files side by side, one column each.
Run it with no other heavy job on the machine: two jobs on two cores make every time wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
_CALL = re.compile(r"^([0-9.]+)s call\s+\S+::Cell \d+", re.MULTILINE)
_PASSED = re.compile(r"(\d+) passed")


def pytest_command(notebook: Path, cores: int | None = None) -> list[str]:
    """The nbval command of ``make test`` for one notebook, pinned to the first ``cores`` cores if given."""
    cmd = [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout=600",
           "-p", "no:randomly", "-p", "no:cacheprovider", "-q", "--durations=0", str(notebook)]
    if cores is not None:
        if shutil.which("taskset") is None:
            raise SystemExit("--cores needs taskset (util-linux)")
        cmd = ["taskset", "-c", ",".join(str(c) for c in range(cores)), *cmd]
    return cmd


def parse(stdout: str) -> tuple[float, int]:
    """``(sum of the cells' call seconds, cells passed)`` from pytest's output."""
    passed = _PASSED.search(stdout)
    return sum(float(t) for t in _CALL.findall(stdout)), int(passed.group(1)) if passed else 0


def run_notebook(repo: Path, notebook: Path, cores: int | None = None) -> dict:
    """One notebook in a fresh pytest process: ``{"wall": s, "cells": s, "passed": n, "ok": bool}``."""
    env = dict(os.environ, PYTHONPATH=str(repo))
    start = time.perf_counter()
    proc = subprocess.run(pytest_command(notebook, cores), cwd=repo, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-2000:], sep="\n", file=sys.stderr)
    cells, passed = parse(proc.stdout)
    return {"wall": wall, "cells": cells, "passed": passed, "ok": proc.returncode == 0}


def table(runs: dict[str, dict[str, dict]]) -> str:
    """A markdown table: one row per notebook, one "wall s" column per run (``{label: rows}``), and the totals."""
    labels = list(runs)
    names = sorted({name for rows in runs.values() for name in rows})
    lines = ["| notebook | " + " | ".join(f"{label}: wall s" for label in labels) + " |",
             "|---|" + "---:|" * len(labels)]
    for name in names:
        cells = [f"{runs[label][name]['wall']:.1f}" if name in runs[label] else "—" for label in labels]
        failed = [label for label in labels if name in runs[label] and not runs[label][name]["ok"]]
        lines.append(f"| {name} | " + " | ".join(cells) + " |" + (f" FAILED in {failed}" if failed else ""))
    common = [n for n in names if all(n in rows for rows in runs.values())]
    totals = [f"**{sum(runs[label][n]['wall'] for n in common):.1f}**" for label in labels]
    lines.append(f"| total of the {len(common)} notebooks in every run | " + " | ".join(totals) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=HERE, help="the checkout to measure (default: this one)")
    parser.add_argument("--only", nargs="*", default=None, help="notebook name prefixes, e.g. 02 10")
    parser.add_argument("--cores", type=int, default=None, help="pin to the first N cores (default: all)")
    parser.add_argument("--json", type=Path, help="write the measurements here")
    parser.add_argument("--table", nargs="+", type=Path, help="print these --json files side by side; run nothing")
    args = parser.parse_args()
    if args.table:
        print(table({path.stem: json.loads(path.read_text()) for path in args.table}))
        return
    repo = args.repo.resolve()
    notebooks = sorted((repo / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        notebooks = [nb for nb in notebooks if nb.name.startswith(tuple(args.only))]
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True)
    cores = args.cores or os.cpu_count()
    print(f"{len(notebooks)} notebooks of {repo} at {head.stdout.strip() or '?'}; {cores} of {os.cpu_count()} cores\n")
    rows = {}
    for nb in notebooks:
        rows[nb.stem] = r = run_notebook(repo, nb, args.cores)
        print(f"  {nb.stem}: {r['wall']:.1f} s wall, {r['cells']:.1f} s in cells, {r['passed']} cells"
              f"{'' if r['ok'] else ' FAILED'}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print("\n" + table({f"{cores} cores": rows}))
    if not all(r["ok"] for r in rows.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
