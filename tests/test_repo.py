"""Repository hygiene: dependencies in step, notebooks clean, set-up commands present."""

import re
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml
from repo_scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _name(req: str) -> tuple[str, str]:
    """('gymnasium[classic-control]', '>=1.0,<2') from a requirement string."""
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+(?:\[[^\]]+\])?)\s*(.*)$", req)
    assert m, req
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def test_environment_yml_matches_pyproject():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_name(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed: dict[str, str] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for pip_dep in dep["pip"]:
                if not pip_dep.startswith("-e"):
                    listed.update([_name(pip_dep)])
        elif not dep.startswith(("python", "pip")):
            listed.update([_name(dep)])
    assert listed == wanted


def test_mujoco_is_an_optional_extra_that_no_notebook_or_test_needs():
    """Notebook 11 documents ``pip install -e ".[mujoco]"``; nothing the course runs may need MuJoCo."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert [_name(r)[0] for r in project["optional-dependencies"]["mujoco"]] == ["gymnasium[mujoco]"]
    assert not any("mujoco" in _name(r)[0] for r in project["dependencies"] + project["optional-dependencies"]["test"])
    robots = "HalfCheetah|Hopper|Walker2d|Ant|Humanoid|Swimmer|Reacher|Pusher|InvertedPendulum|InvertedDoublePendulum"
    uses = re.compile(rf"^\s*(import|from)\s+mujoco\b|(make|make_vec|train_\w+)\(\s*[\"']({robots})-", re.M)
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            assert cell.cell_type != "code" or not uses.search(cell.source), f"{path.name} needs MuJoCo"
    for path in sorted((ROOT / "tests").glob("*.py")):
        assert path.name == "test_repo.py" or not uses.search(path.read_text()), f"{path.name} needs MuJoCo"
    assert uses.search("import mujoco") and uses.search('gym.make("Hopper-v5")')  # the pattern sees a use


def test_torch_pin_is_installed_first_and_metadata_states_a_range():
    assert (ROOT / "constraints.txt").read_text().count("torch==2.13.0") == 1
    setup = (ROOT / "scripts" / "setup_env.sh").read_text()
    assert setup.index("-c constraints.txt torch") < setup.index('-c constraints.txt -e ".[test]"')
    deps = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'"torch>=[0-9.]+,<[0-9]+"', deps)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make course" in readme
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.M)
    makefile = (ROOT / "Makefile").read_text()
    assert "--ServerApp.ip=127.0.0.1" in makefile and "00_start_here.ipynb" in makefile


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_committed_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert "widgets" not in nb.metadata, "widget state is committed"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: outputs not cleared"


def test_expected_notebooks_exist():
    names = {p.stem.split("_")[0] for p in NOTEBOOKS}
    assert {f"{i:02d}" for i in range(12)} <= names


def test_no_registry_hosts_in_the_repo():
    """Nothing is fetched at run time, and no package-registry host is named in the repo."""
    hosts = ["pypi" + ".org", "files.python" + "hosted.org", "download.py" + "torch.org"]
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in tracked:
        path = ROOT / name
        if path.suffix in {".png"} or not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        assert not any(h in text for h in hosts), name


def test_readme_states_the_lunar_presets_as_they_are():
    from pgcourse.algorithms import PRESETS

    readme = " ".join((ROOT / "README.md").read_text().split())
    d = PRESETS["LunarLander-v3"]
    lr = f"{d.lr:.0e}".replace("e-0", "e-")  # 7e-4
    said = (
        f"({d.n_envs} envs × {d.n_steps} steps, {d.n_epochs} epochs of {d.n_minibatches} minibatches, lr {lr} "
        f"annealed, γ {d.gamma:g}, λ {d.gae_lambda:g}, entropy {d.ent_coef:g}, reward normalisation), "
        f"{d.total_steps // 1000}k steps"
    )
    assert d.anneal_lr and d.normalize_reward and said in readme, said
    c = PRESETS["LunarLanderContinuous-v3"]
    from dataclasses import replace

    assert replace(c, total_steps=d.total_steps) == d and f"{c.total_steps // 1_000_000}M steps" in readme
    assert not c.normalize_obs and "observation normalisation off" in readme


def test_readme_notebook_times_are_the_measured_ones():
    """The notebook map's run times, its totals and the "How long" table are the runs kept in benchmarks/results/."""
    import json

    results = ROOT / "benchmarks" / "results"
    files = ["before-issue-15_a5c89fe_2-cores", "before-speed-work_7c7f2d3_2-cores", "now_1-core", "now_2-cores"]
    runs = {name: json.loads((results / f"{name}.json").read_text()) for name in files}
    readme = (ROOT / "README.md").read_text()
    now = runs["now_2-cores"]
    assert sorted(now) == sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))  # every notebook
    assert all(row["ok"] for rows in runs.values() for row in rows.values())
    for name, row in now.items():
        line = re.search(rf"^\| {name[:2]} \| \[.*\| (\d+) s \|$", readme, re.MULTILINE)
        assert line and int(line.group(1)) == round(row["wall"]), name
    first_ten = sum(row["wall"] for name, row in now.items() if name[:2] != "11")
    assert f"00–10 take **{first_ten / 60:.1f} minutes** ({first_ten:.1f} s), all twelve " \
           f"{sum(row['wall'] for row in now.values()):.1f} s" in readme.replace("\n", " ")
    table = re.search(r"<!-- bench_notebooks -->\n(.*?)\n<!-- /bench_notebooks -->", readme, re.DOTALL)
    assert table and table.group(1) == load_script("benchmarks/bench_notebooks.py").table(runs)
    def total(label):
        return sum(row["wall"] for name, row in runs[label].items() if name[:2] != "11")

    def ratio(name, a="now_2-cores", b="now_1-core"):
        return f"{runs[a][name]['wall'] / runs[b][name]['wall']:.2f}×"

    one, two, start, old = total("now_1-core"), total("now_2-cores"), total(files[1]), total(files[0])
    text = readme.replace("\n", " ")
    assert f"{two:.1f} s against {one:.1f} s for 00–10 ({two / one:.2f}×)" in text
    assert f"{start:.1f} s → {two:.1f} s ({two / start:.2f}×)" in text and f"{old:.1f} s → {two:.1f} s" in text
    assert (f"10 ({ratio('10_failure_modes')}), 03 and 09 ({ratio('03_baselines')}, {ratio('09_diagnostics')}), "
            f"02 ({ratio('02_reinforce')})") in text
