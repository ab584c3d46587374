"""Execute every notebook in ``notebooks/`` and export static HTML to ``html/`` with an ``index.html``.

Each notebook runs with nbconvert's ExecutePreprocessor (kernel ``python3``) in a temporary copy of the
folder, so the notebooks in the repository (and anything they write next to themselves) stay untouched.
A notebook that fails is still exported up to its error, marked FAILED in the index, and the exit status is 1.

Usage: ``make html`` or ``.venv/bin/python scripts/export_html.py [--timeout 1800] [NAME.ipynb ...]``.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import CellExecutionError, ExecutePreprocessor

REPO = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class Exported:
    """One exported notebook, for the index."""

    name: str
    title: str
    html_name: str
    seconds: float
    error: str | None = None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="only these notebooks (file names in the notebooks folder)")
    parser.add_argument("--notebooks-dir", type=Path, default=REPO / "notebooks", help="default: notebooks/")
    parser.add_argument("--out", type=Path, default=REPO / "html", help="output folder (default: html/)")
    parser.add_argument("--timeout", type=int, default=1800, help="per-cell timeout in seconds (default: %(default)s)")
    parser.add_argument("--kernel", default="python3", help="kernel name (default: %(default)s)")
    return parser.parse_args(argv)


def title_of(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The first Markdown heading of the notebook, else ``fallback``."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip()
    return fallback


def execute(path: Path, timeout: int, kernel: str) -> tuple[nbformat.NotebookNode, str | None]:
    """Run ``path`` in its own folder; return the executed notebook and the error text if a cell failed."""
    nb = nbformat.read(path, as_version=4)
    runner = ExecutePreprocessor(timeout=timeout, kernel_name=kernel, store_widget_state=True)
    try:
        runner.preprocess(nb, {"metadata": {"path": str(path.parent)}})
    except CellExecutionError as exc:
        return nb, ANSI.sub("", str(exc))
    except Exception as exc:  # the kernel died or timed out: still export what ran
        return nb, f"{type(exc).__name__}: {exc}"
    return nb, None


def export(nb: nbformat.NotebookNode, dest: Path) -> None:
    """Write ``nb`` as a standalone HTML page (JupyterLab look) to ``dest``."""
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    dest.write_text(body, encoding="utf-8")


def write_index(entries: list[Exported], dest: Path) -> None:
    """Write ``index.html`` linking every exported notebook, with its run time and status."""
    rows = "\n".join(
        f'<li><a href="{html.escape(e.html_name)}">{html.escape(e.title)}</a> '
        f"<small>({html.escape(e.name)}, {e.seconds:.0f} s)</small>"
        + (f' <strong class="failed">FAILED</strong><pre>{html.escape(e.error[-2000:])}</pre>' if e.error else "")
        + "</li>"
        for e in entries
    )
    dest.write_text(
        "<!doctype html>\n<html><head><meta charset='utf-8'><title>pgcourse notebooks</title>\n"
        "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}li{margin:.5em 0}"
        ".failed{color:#b00}pre{background:#fee;padding:.5em;overflow:auto}</style></head>\n"
        "<body><h1>pgcourse: policy-gradient RL notebooks</h1>\n"
        + (f"<ol>\n{rows}\n</ol>\n" if rows else "<p>No notebooks yet.</p>\n")
        + f"<p><small>Executed {time.strftime('%Y-%m-%d %H:%M %Z')}.</small></p></body></html>\n",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    """Execute and export the notebooks; 0 if all ran cleanly, 1 otherwise."""
    args = parse_args(argv)
    source = args.notebooks_dir.resolve()
    names = sorted(args.names) if args.names else sorted(p.name for p in source.glob("*.ipynb"))
    missing = [n for n in names if not (source / n).is_file()]
    if missing:
        print(f"error: not in {source}: {', '.join(missing)}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    entries: list[Exported] = []
    with tempfile.TemporaryDirectory(prefix="pgcourse-html-") as tmp:
        work = Path(tmp) / "notebooks"
        shutil.copytree(source, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        for name in names:
            print(f"executing {name} ...", flush=True)
            start = time.monotonic()
            nb, error = execute(work / name, args.timeout, args.kernel)
            html_name = Path(name).with_suffix(".html").name
            export(nb, args.out / html_name)
            entry = Exported(name, title_of(nb, name), html_name, time.monotonic() - start, error)
            entries.append(entry)
            print(f"  {'FAILED' if error else 'ok'} in {entry.seconds:.0f} s -> {args.out / html_name}", flush=True)
    write_index(entries, args.out / "index.html")
    failed = [e.name for e in entries if e.error]
    print(f"wrote {args.out / 'index.html'}: {len(entries)} notebook(s), {len(failed)} failed {failed or ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
