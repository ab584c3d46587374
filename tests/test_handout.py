"""Handouts (``make html``): slider frames from a demo, maths as MathML, nothing remote. Fast, no kernel, no browser."""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import ipywidgets as widgets
import nbformat
import pytest
from matplotlib.figure import Figure
from repo_scripts import load_script

from pgcourse import demos
from pgcourse.demos.handout import HANDOUT_ATTR, _snake, enable, export_frames, handout_bundle, handout_html
from pgcourse.demos.widget import SliderDemo, make_slider

ROOT = Path(__file__).resolve().parents[1]


def _load_exporter():
    return load_script("scripts/export_html.py")


export_html = _load_exporter()


def _two_slider_demo() -> SliderDemo:
    """A cheap demo with a 21 x 11 grid (like the GAE demo's λ and critic error)."""
    a = make_slider(widgets.FloatSlider, "a", min=0.0, max=1.0, step=0.05, value=0.9)
    b = make_slider(widgets.FloatSlider, "b", min=0.0, max=0.5, step=0.05, value=0.2)

    def draw(fig: Figure, r: tuple[float, float]) -> None:
        ax = fig.subplots()
        ax.plot([0, 1], [r[0], r[1]])
        ax.set_title(f"{r[0]:.2f} {r[1]:.2f}")

    def readout(r: tuple[float, float]) -> str:
        return f"<b>{r[0]:.2f}</b> {r[1]:.2f}"

    return SliderDemo({"a": a, "b": b}, lambda a, b: (a, b), draw, readout, figsize=(2, 1.5))


def test_frames_of_a_one_slider_demo_cover_its_grid_and_restore_it():
    demo = demos.hello_demo()
    demo.k_slider.value = 3
    before = (demo.last_result, demo.n_updates, demo.figure_output.outputs[0]["data"]["image/png"])
    frames = export_frames(demo, compress=False)
    (axis,) = frames.axes
    assert axis.values == tuple(range(1, 11)) and axis.labels[axis.start] == "3"
    assert frames.n_frames == 10 and len(set(frames.images)) == 10 and len(set(frames.readouts)) == 10
    # the starting frame is the figure the notebook shows; the demo is left as it was
    png, readout = frames.frame([axis.start])
    assert png == before[2] and readout == demo.readout.value
    assert demo.k_slider.value == 3 and demo.last_result is before[0] and demo.n_updates == before[1]
    assert "4" in frames.frame([axis.start + 1])[1]


def test_two_slider_grid_is_thinned_keeping_ends_and_start():
    demo = _two_slider_demo()
    frames = export_frames(demo, max_frames=150)
    a, b = frames.axes
    assert frames.n_frames == len(a.values) * len(b.values) <= 150
    assert a.values[0] == 0.0 and a.values[-1] == 1.0 and b.values[0] == 0.0 and b.values[-1] == 0.5
    assert a.values[a.start] == 0.9 and b.values[b.start] == 0.2
    assert len(b.values) == 11  # the longer axis is thinned first
    assert 0.9 in a.values and re.search("0.20", frames.frame([a.start, b.start])[1])
    # a frame budget in bytes thins further
    small = export_frames(demo, max_frames=150, max_bytes=20 * len(frames.images[0]))
    assert small.n_frames < frames.n_frames and small.n_frames <= 20
    assert base64.b64decode(frames.images[0]).startswith(b"\x89PNG")


def test_snake_order_changes_one_axis_at_a_time():
    order = list(_snake([3, 4, 2]))
    assert sorted(order) == sorted({(i, j, k) for i in range(3) for j in range(4) for k in range(2)})
    assert all(sum(x != y for x, y in zip(p, q)) == 1 for p, q in zip(order, order[1:]))


def test_handout_html_is_self_contained_with_one_range_input_per_slider():
    page = handout_html(export_frames(_two_slider_demo(), max_frames=12), buttons=["New trajectories"])
    assert page.count("type='range'") == 2 and HANDOUT_ATTR in page and "New trajectories needs a kernel" in page
    assert not export_html.remote_resources(page)
    data = json.loads(re.search(r"<script type='application/json' class='pgc-data'>(.*?)</script>", page).group(1))
    assert len(data["frames"]) == len(data["axes"][0]) * len(data["axes"][1]) <= 12


def test_enable_registers_the_handout_display_for_every_slider_demo():
    registered = {}

    class Formatter:
        def for_type(self, cls, func):
            registered[cls] = func

    class Shell:
        display_formatter = type("DF", (), {"mimebundle_formatter": Formatter()})()

    enable(Shell())
    assert registered == {SliderDemo: handout_bundle}
    bundle = handout_bundle(demos.hello_demo())
    assert HANDOUT_ATTR in bundle["text/html"] and "text/plain" in bundle


def test_every_notebooks_maths_converts_to_mathml():
    failures: list[str] = []

    n = 0
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                renderer = export_html.MathMLRenderer(escape=False, failures=failures)
                out = export_html.MarkdownWithMath(renderer=renderer).render(cell.source)
                n += out.count("<math")
                text = re.sub(r"<[^>]+>", "", out)
                assert "$$" not in text, (path.name, cell.source[:80])
    assert n > 300 and not failures, failures


@pytest.mark.parametrize(
    "tex, display",
    [(r"\texttt{max\_grad\_norm}", False), (r"\operatorname{Var}\big(\hat A_t\big)", True), (r"\mathrm{clip}", False)],
)
def test_tex_to_mathml_leaves_no_latex(tex, display):
    out = export_html.tex_to_mathml(tex, display)
    assert out.startswith("<math") and "\\" not in re.sub(r"<[^>]+>", "", out)


def test_tex_that_does_not_convert_degrades_to_its_source():
    failures: list[str] = []
    out = export_html.tex_to_mathml(r"\frac{1}{", True, failures)
    assert "pgc-tex" in out and "\\frac{1}{" in out and len(failures) == 1


def test_remote_scripts_are_stripped_and_other_remote_resources_reported():
    page = (
        '<script src="https://cdn.example/require.js"></script><link rel="stylesheet" href="//cdn.example/a.css">'
        '<script src="local.js"></script><img src="http://example.com/x.png"><a href="https://example.com">ok</a>'
        "<style>@import url('https://example.com/f.css');</style><img src='data:image/png;base64,AA'>"
    )
    stripped = export_html.strip_remote_scripts(page)
    assert "require.js" not in stripped and "a.css" not in stripped and "local.js" in stripped
    assert sorted(export_html.remote_resources(stripped)) == ["css: https://example.com/f.css",
                                                             "img: http://example.com/x.png"]  # fmt: skip


def test_prepare_handout_drops_widget_views_and_flags_a_demo_without_frames():
    nb = nbformat.v4.new_notebook()
    view = {export_html.WIDGET_VIEW: {"model_id": "x"}}
    nb.cells = [
        nbformat.v4.new_code_cell("bar = tqdm(range(3))", outputs=[
            nbformat.v4.new_output("display_data", data={**view, "text/plain": "100% 3/3"})]),
        nbformat.v4.new_code_cell("demos.gae_demo(study)", outputs=[nbformat.v4.new_output("display_data", data=view)]),
        nbformat.v4.new_code_cell("demos.hello_demo()", outputs=[
            nbformat.v4.new_output("display_data", data={"text/html": f"<div {HANDOUT_ATTR}='1'></div>"})]),
    ]  # fmt: skip
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    problems = export_html.prepare_handout(nb)
    assert "widgets" not in nb.metadata and nb.cells[0].outputs[0].data == {"text/plain": "100% 3/3"}
    assert nb.cells[1].outputs == [] and len(problems) == 1 and "cell 1" in problems[0]


def test_make_html_passes_nb_through():
    def recipe(*args: str) -> str:
        out = subprocess.run(["make", "-n", "html", *args], cwd=ROOT, capture_output=True, text=True, check=True)
        return [line for line in out.stdout.splitlines() if "export_html.py" in line][0]

    assert recipe().rstrip().endswith("export_html.py")
    assert recipe("NB=04_gae").rstrip().endswith("export_html.py 04_gae")


def test_make_course_ships_settings_without_the_news_prompt():
    makefile = (ROOT / "Makefile").read_text()
    course = makefile[makefile.index("\ncourse:") : makefile.index("\ntest:")]
    assert "--LabApp.app_settings_dir=$(CURDIR)/jupyter-settings" in course
    overrides = json.loads((ROOT / "jupyter-settings" / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"


def test_a_quiz_in_a_handout_is_its_question_with_the_answer_folded_and_maths_as_mathml():
    from pgcourse.quiz import show_quiz

    bundle = show_quiz("04_gae", 0)._repr_mimebundle_()  # what a kernel sends for a displayed quiz
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('show_quiz("04_gae", 0)', outputs=[
        nbformat.v4.new_output("display_data", data=bundle)])]  # fmt: skip
    assert export_html.prepare_handout(nb) == []
    data = nb.cells[0].outputs[0].data
    assert export_html.WIDGET_VIEW not in data  # no widget without a kernel ...
    page = data["text/html"]  # ... but the static quiz
    question, folded = page.split("<details>", 1)
    assert "What is it at" in question and "<math" in question and "$" not in page  # maths typeset, none left
    assert "Answer: A" in folded and "Answer" not in question  # the answer only inside the fold
    assert "Swapped" in folded and "Swapped" not in question  # every explanation folded too
