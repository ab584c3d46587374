"""Execute every notebook in ``notebooks/`` and export offline handouts to ``html/`` with an ``index.html``.

Each notebook runs with nbconvert's ExecutePreprocessor (kernel ``python3``) in a temporary copy of the
folder, so the notebooks in the repository (and anything they write next to themselves) stay untouched.
A notebook that fails is still exported up to its error, marked FAILED in the index, and the exit status is 1.

A handout is one self-contained HTML file that works from disk with no network and no kernel:

* **sliders**: the kernel starts with ``--IPKernelApp.exec_lines`` calling :func:`pgcourse.demos.handout.enable`,
  so every displayed ``SliderDemo`` is exported as its precomputed frames and a small inline slider (see that
  module); a demo cell without them fails the export. Other widget views (progress bars) keep their text.
* **maths**: ``$...$``, ``$$...$$`` and ``\begin{...}`` in Markdown (cells and Markdown outputs) are converted
  to MathML at export time (``latex2mathml``), which the browser typesets natively; what does not convert is
  shown as its LaTeX source and reported.
* **nothing remote**: the template's require.js, MathJax, Mermaid and widget-manager scripts are left out, and
  any remaining remote ``<script src>`` or ``<link href>`` is stripped; other remote resources are reported.

Usage: ``make html`` (every notebook), ``make html NB=04_gae`` (one), or
``.venv/bin/python scripts/export_html.py [--timeout 1800] [NAME[.ipynb] ...]``.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import latex2mathml.converter
import nbformat
from jinja2 import DictLoader, pass_context
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import CellExecutionError, ExecutePreprocessor

REPO = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
HANDOUT_ATTR = "data-pgcourse-handout"  # pgcourse.demos.handout.HANDOUT_ATTR (not imported: no torch here)
QUIZ_ATTR = "data-pgcourse-quiz"  # pgcourse.quiz.QUIZ_ATTR: a quiz's static HTML, answer folded in <details>
INLINE_MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$", re.S)
KERNEL_SETUP = "__import__('pgcourse.demos.handout').demos.handout.enable()"
DEMO_CALL = re.compile(r"\b\w+_demo\(")  # a cell showing a slider demo, e.g. demos.gae_demo(study)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# The lab template without its remote scripts: require.js, MathJax, Mermaid and the widget manager.
HANDOUT_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}<style>math[display="block"]{margin:.6em 0;overflow-x:auto;overflow-y:hidden}
.pgc-tex{font-family:monospace;color:#a00}</style>{%- endblock extra_css -%}
"""
RESOURCE_ATTRS = {"script": "src", "link": "href", "img": "src", "iframe": "src", "source": "src", "video": "src",
                  "audio": "src", "embed": "src", "object": "data", "input": "src"}  # fmt: skip
REMOTE = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.I)  # http://, https://, //host (not data:, not relative)
CSS_URL = re.compile(r"(?:@import\s+(?:url\()?|url\()\s*['\"]?([^'\")\s;]+)")
TEXT_ESCAPE = re.compile(r"\\(text\w*|mathrm)\{([^{}]*)\}")


def tex_to_mathml(tex: str, display: bool, failures: list[str] | None = None) -> str:
    """MathML for the LaTeX ``tex``; if it does not convert, its source (readable) and a note in ``failures``."""
    clean = TEXT_ESCAPE.sub(lambda m: f"\\{m.group(1)}{{{m.group(2).replace(chr(92) + '_', '_')}}}", tex.strip())
    try:
        return latex2mathml.converter.convert(clean, display="block" if display else "inline")
    except Exception as exc:  # degrade to the source, never lose the formula
        if failures is not None:
            failures.append(f"{tex.strip()[:80]!r}: {type(exc).__name__}: {exc}")
        delim = "$$" if display else "$"
        return f"<code class='pgc-tex'>{html.escape(delim + tex.strip() + delim)}</code>"


class MathMLRenderer(IPythonRenderer):
    """nbconvert's Markdown renderer with the maths converted to MathML instead of left for MathJax."""

    def __init__(self, *args: object, failures: list[str] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.failures = failures

    def block_math(self, body: str) -> str:
        return tex_to_mathml(body, True, self.failures)

    def inline_math(self, body: str) -> str:
        return tex_to_mathml(body, False, self.failures)

    def latex_environment(self, name: str, body: str) -> str:
        return tex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", True, self.failures)


class HandoutExporter(HTMLExporter):
    """The JupyterLab-look HTML exporter with maths as MathML and no remote scripts."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            template_name="lab", template_file="handout.html.j2",
            extra_loaders=[DictLoader({"handout.html.j2": HANDOUT_TEMPLATE})], **kwargs,
        )  # fmt: skip
        self.math_failures: list[str] = []

    @pass_context
    def markdown2html(self, context: dict, source: str) -> str:
        cell = context.get("cell", {})
        renderer = MathMLRenderer(
            escape=False, attachments=cell.get("attachments", {}), embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text, exclude_anchor_links=self.exclude_anchor_links,
            failures=self.math_failures, **self.lexer_options,
        )  # fmt: skip
        return MarkdownWithMath(renderer=renderer).render(source)


class _Resources(HTMLParser):
    """Collects every resource URL a page would load (``<script src>``, ``<link href>``, ``<img src>``, ...)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = RESOURCE_ATTRS.get(tag)
        for name, value in attrs:
            if value and (name == wanted or name in ("srcset", "poster")):
                self.urls.append((tag, value))
            if value and name == "style":
                self.urls += [("style", u) for u in re.findall(r"url\(\s*['\"]?([^'\")]+)", value)]


def remote_resources(page: str) -> list[str]:
    """Every remote URL (``http:``, ``https:``, ``//host``) that ``page`` would load, as ``tag: url``."""
    parser = _Resources()
    parser.feed(page)
    found = [f"{tag}: {url}" for tag, url in parser.urls if REMOTE.match(url)]
    for style in re.findall(r"<style[^>]*>(.*?)</style>", page, re.S | re.I):
        found += [f"css: {u}" for u in CSS_URL.findall(style) if REMOTE.match(u)]
    return found


def strip_remote_scripts(page: str) -> str:
    """``page`` without any ``<script src=remote>...</script>`` or ``<link href=remote>``."""
    page = re.sub(r"<script\b[^>]*\bsrc\s*=\s*['\"]?(?:[a-z][a-z0-9+.-]*:)?//[^>]*>.*?</script\s*>", "", page,
                  flags=re.S | re.I)  # fmt: skip
    return re.sub(r"<link\b[^>]*\bhref\s*=\s*['\"]?(?:[a-z][a-z0-9+.-]*:)?//[^>]*>", "", page, flags=re.I)


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
    parser.add_argument("names", nargs="*", help="only these notebooks (in the notebooks folder; .ipynb optional)")
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
    runner = ExecutePreprocessor(
        timeout=timeout, kernel_name=kernel, store_widget_state=False,
        extra_arguments=[f"--IPKernelApp.exec_lines={KERNEL_SETUP}"],
    )  # fmt: skip
    try:
        runner.preprocess(nb, {"metadata": {"path": str(path.parent)}})
    except CellExecutionError as exc:
        return nb, ANSI.sub("", str(exc))
    except Exception as exc:  # the kernel died or timed out: still export what ran
        return nb, f"{type(exc).__name__}: {exc}"
    return nb, None


def typeset_quiz(page: str, failures: list[str] | None = None) -> str:
    """A quiz's static HTML with its ``$...$`` and ``$$...$$`` maths as MathML (no MathJax in a handout)."""

    def convert(m: re.Match[str]) -> str:
        tex = html.unescape(m.group(1) if m.group(1) is not None else m.group(2))
        return tex_to_mathml(tex, m.group(1) is not None, failures)

    return INLINE_MATH.sub(convert, page)


def prepare_handout(nb: nbformat.NotebookNode) -> list[str]:
    """Make the executed ``nb`` kernel-free in place; return problems (a demo cell without its frames).

    Widget views need a kernel or a widget manager loaded from the network: a view with another representation
    (a progress bar's text, a quiz's static HTML with its answer folded) keeps only that one, a view without any
    is dropped. ``text/latex`` outputs get MathML.
    """
    problems = []
    nb.metadata.pop("widgets", None)
    for n, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data and len(data) > 1:
                del data[WIDGET_VIEW]
            if QUIZ_ATTR in str(data.get("text/html", "")):  # a quiz: question, answer folded, maths as MathML
                failures: list[str] = []
                data["text/html"] = typeset_quiz(str(data["text/html"]), failures)
                problems += [f"maths not converted in a quiz: {f}" for f in failures]
            if "text/latex" in data and "text/html" not in data:
                tex = data["text/latex"].strip().strip("$")
                data["text/html"] = tex_to_mathml(tex, True)
        cell.outputs = [o for o in cell.get("outputs", []) if set(o.get("data", {"": 0})) != {WIDGET_VIEW}]
        shows_demo = DEMO_CALL.search(cell.source) and not any(o.output_type == "error" for o in cell.outputs)
        if shows_demo and not any(HANDOUT_ATTR in str(o.get("data", {}).get("text/html", "")) for o in cell.outputs):
            problems.append(f"cell {n} shows a slider demo but has no precomputed frames: {cell.source[:60]!r}")
    return problems


def export(nb: nbformat.NotebookNode, dest: Path) -> list[str]:
    """Write ``nb`` as a self-contained handout (JupyterLab look) to ``dest``; return the problems found."""
    problems = prepare_handout(nb)
    exporter = HandoutExporter()
    body, _ = exporter.from_notebook_node(nb)
    body = strip_remote_scripts(body)
    problems += [f"maths not converted: {m}" for m in exporter.math_failures]
    problems += [f"remote resource: {r}" for r in remote_resources(body)]
    dest.write_text(body, encoding="utf-8")
    return problems


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
    names = [n if n.endswith(".ipynb") else f"{n}.ipynb" for n in args.names]
    names = sorted(names) if names else sorted(p.name for p in source.glob("*.ipynb"))
    missing = [n for n in names if not (source / n).is_file()]
    if missing:
        print(f"error: not in {source}: {', '.join(missing)}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    entries: list[Exported] = []
    with tempfile.TemporaryDirectory(prefix="pgcourse-html-") as tmp:
        # the kernels inherit this: an export never records progress in the learner's own file
        os.environ.setdefault("PGCOURSE_PROGRESS_FILE", str(Path(tmp) / "progress.json"))
        work = Path(tmp) / "notebooks"
        shutil.copytree(source, work, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        for name in names:
            print(f"executing {name} ...", flush=True)
            start = time.monotonic()
            nb, error = execute(work / name, args.timeout, args.kernel)
            html_name = Path(name).with_suffix(".html").name
            problems = export(nb, args.out / html_name)
            for problem in problems:
                print(f"  problem: {problem}", flush=True)
            error = "\n".join(filter(None, [error, *problems])) or None
            entry = Exported(name, title_of(nb, name), html_name, time.monotonic() - start, error)
            entries.append(entry)
            size = (args.out / html_name).stat().st_size / 1e6
            print(f"  {'FAILED' if error else 'ok'} in {entry.seconds:.0f} s, {size:.1f} MB -> {args.out / html_name}",
                  flush=True)  # fmt: skip
    write_index(entries, args.out / "index.html")
    failed = [e.name for e in entries if e.error]
    print(f"wrote {args.out / 'index.html'}: {len(entries)} notebook(s), {len(failed)} failed {failed or ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
