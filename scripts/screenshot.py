"""Screenshot a slider demo for the README: run a notebook in JupyterLab (headless Chromium), move its slider,
and write a PNG of the widget cell (default: ``notebooks/03_baselines.ipynb`` -> ``docs/slider_demo.png``).

Usage: ``make screenshot``, or ``.venv/bin/python scripts/screenshot.py [--notebook 02_reinforce.ipynb]
[--output x.png]`` (``--help`` for the other options).
Needs Chromium: ``sudo apt-get install chromium`` or ``PGCOURSE_CHROMIUM=/path/to/chrome``. The notebooks in the
repository are not modified (JupyterLab serves a temporary copy).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browser import (  # noqa: E402  (the machinery lives next to the browser test)
    NOTEBOOKS,
    REPO,
    RUN_ALL_TIMEOUT_S,
    SLIDER_HANDLE,
    chromium_hint,
    find_chromium,
    jupyter_lab,
    move_slider,
    playwright_available,
    read_widget,
    screenshot,
    wait_for_new_view,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notebook", default="03_baselines.ipynb", help="notebook to run (default: %(default)s)")
    parser.add_argument("--notebooks-dir", type=Path, default=NOTEBOOKS, help="folder served (default: notebooks/)")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "slider_demo.png", help="PNG to write")
    parser.add_argument("--widget-cell", type=int, default=0, help="which widget cell (0 = the first with a slider)")
    parser.add_argument("--key", default="ArrowRight", help="key pressed on the first slider (default: %(default)s)")
    parser.add_argument(
        "--presses", type=int, default=10, help="how often (default: %(default)s, for 03's beta: 0 -> 0.5)"
    )
    parser.add_argument("--output-only", action="store_true", help="screenshot the widget output, not the code")
    parser.add_argument("--timeout", type=float, default=RUN_ALL_TIMEOUT_S, help="Run All timeout in seconds")
    parser.add_argument("--width", type=int, default=1500, help="browser viewport width (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the notebook, move the slider, write the screenshot; 0 on success, 1 (with a message) otherwise."""
    args = parse_args(argv)
    name = Path(args.notebook).name
    chromium = find_chromium()
    if not (args.notebooks_dir / name).exists():
        print(f"error: {args.notebooks_dir / name} does not exist", file=sys.stderr)
        return 1
    if chromium is None or not playwright_available():
        print(f"error: {chromium_hint() if chromium is None else 'pip install playwright'}", file=sys.stderr)
        return 1
    start = time.monotonic()
    with jupyter_lab(args.notebooks_dir, chromium, viewport=(args.width, 1000)) as lab:
        notebook = lab.open_notebook(name)
        notebook.run_all(args.timeout)
        cells = notebook.widget_cells()
        if len(cells) <= args.widget_cell:
            print(f"error: {name} has {len(cells)} widget cell(s) with a slider", file=sys.stderr)
            return 1
        cell = cells[args.widget_cell]
        before = read_widget(cell)
        move_slider(cell.locator(SLIDER_HANDLE).first, args.key, args.presses)
        wait_for_new_view(cell, before, lambda: notebook.kernel_state() == "idle")
        notebook.blur()
        target = cell.locator(".jp-Cell-outputWrapper") if args.output_only else cell
        path = screenshot(target, args.output.resolve())
        notebook.shutdown_kernel()
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB) in {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
