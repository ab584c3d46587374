# pgcourse: every target sets up .venv first (scripts/setup_env.sh is idempotent).
#   make course   -> open the course in JupyterLab (127.0.0.1, notebooks/, lands on 00_start_here, no news prompt)
#   make test     -> the full suite: unit + learning tests, every notebook (nbval), browser test, lint
#   make html     -> offline handouts in html/ (maths as MathML, sliders precomputed); make html NB=04_gae for one
.PHONY: setup course test unit notebooks notebook lint html screenshot bench clean

VENV := .venv/bin
PORT ?= 8888
# JupyterLab refuses to run as root (containers, some VMs) unless told to.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
NB ?= 00_start_here

setup:
	@bash scripts/setup_env.sh

# jupyter-settings/overrides.json: the course's default settings (no "news" prompt, no update check)
course: setup
	$(VENV)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) $(ROOT_FLAG) \
		--ServerApp.root_dir=notebooks --LabApp.default_url=/lab/tree/00_start_here.ipynb \
		--LabApp.app_settings_dir=$(CURDIR)/jupyter-settings --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate

test: setup
	$(VENV)/python -m ruff check pgcourse tests benchmarks scripts
	$(VENV)/python -m pytest tests
	$(VENV)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=600 -p no:randomly notebooks

unit: setup
	$(VENV)/python -m pytest tests -m "not learning and not browser"

notebooks: setup
	$(VENV)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=600 notebooks

# one notebook: make notebook NB=02_reinforce
notebook: setup
	$(VENV)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=600 notebooks/$(NB).ipynb

lint: setup
	$(VENV)/python -m ruff check pgcourse tests benchmarks scripts

# every notebook: make html; one notebook: make html NB=04_gae (NB's default above is for `make notebook`)
html: setup
	$(VENV)/python scripts/export_html.py $(if $(filter-out file,$(origin NB)),$(NB))

screenshot: setup
	$(VENV)/python scripts/screenshot.py

bench: setup
	$(VENV)/python -m pip install --quiet -c constraints.txt -e ".[bench]"
	$(VENV)/python benchmarks/bench_notebooks.py
	$(VENV)/python benchmarks/bench_cartpole.py
	$(VENV)/python benchmarks/bench_lunar.py --env LunarLander-v3 --seeds 10 --sb3-seeds 3
	$(VENV)/python benchmarks/bench_lunar.py --env LunarLanderContinuous-v3 --seeds 10 --no-sb3
	$(VENV)/python benchmarks/bench_mission.py

clean:
	rm -rf html artifacts .pytest_cache
