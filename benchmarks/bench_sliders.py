"""Slider latency of every course demo, kernel side: from a new slider value to the new figure and readout.

For each demo: the build time (constructing the widget, including any precomputation), then, per slider, the
time of each of ``--moves`` value changes sweeping its range (``slider.value = v`` runs the observer, which
recomputes, redraws and encodes the PNG synchronously). Prints a table of build time, median and 90th
percentile per slider, and whether the slider updates while dragged (``continuous_update``).

Usage: ``.venv/bin/python benchmarks/bench_sliders.py [--moves 30] [--only gae,kl]`` (run on an idle machine).
"""

from __future__ import annotations

import argparse
import time

import matplotlib
import numpy as np

matplotlib.use("Agg")

from pgcourse import demos  # noqa: E402


def _grid(slider) -> list:
    """The values a drag across the whole slider passes through."""
    if hasattr(slider, "options") and slider.options:
        return [o[1] if isinstance(o, tuple) else o for o in slider.options]
    return list(np.round(np.arange(slider.min, slider.max + slider.step / 2, slider.step), 10))


def _sweep(demo: demos.SliderDemo, name: str, moves: int) -> list[float]:
    """Times (s) of ``moves`` value changes of control ``name``, back and forth over its grid."""
    slider = demo.controls[name]
    grid = _grid(slider)
    path = grid + grid[-2::-1]
    values = (path * (moves // len(path) + 2))[: moves + 1]
    if values[0] == slider.value:
        values = values[1:] + [values[0]]
    times, compute = [], []
    for v in values[:moves]:
        if v == slider.value:
            continue
        before = demo.n_updates
        t0 = time.perf_counter()
        slider.value = v
        times.append(time.perf_counter() - t0)
        compute.append(demo.last_timing.get("compute", float("nan")))  # a demo may time itself differently
        assert demo.n_updates == before + 1, f"{name}: no redraw"
    return times, compute


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moves", type=int, default=30, help="value changes per slider (default 30)")
    parser.add_argument("--only", default="", help="comma-separated substrings of demo names")
    args = parser.parse_args()
    rows = []
    for title in demos.NOTEBOOK_DEMOS:
        if args.only and not any(s in title for s in args.only.split(",")):
            continue
        t0 = time.perf_counter()
        demo = demos.demo_as_in_notebook(title)
        built = time.perf_counter() - t0
        for name, slider in demo.controls.items():
            times, compute = (np.array(t) * 1000 for t in _sweep(demo, name, args.moves))
            rows.append((title, name, built, len(times), np.median(times), np.percentile(times, 90),
                         np.median(compute), bool(getattr(slider, "continuous_update", True))))
    print("| demo | slider | build s | moves | median ms | p90 ms | of which compute (median ms) | while dragged |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for title, name, built, n, med, p90, comp, cont in rows:
        dragged = "yes" if cont else "no"
        print(f"| {title} | {name} | {built:.2f} | {n} | {med:.0f} | {p90:.0f} | {comp:.0f} | {dragged} |")


if __name__ == "__main__":
    main()
