"""Every pytest run (unit tests and nbval notebooks) keeps the learner's progress out of the real home.

The notebook kernels nbval starts inherit this environment, so a check or quiz passed while the course is
tested is recorded in a temporary file, never in ``~/.local/share/pgcourse``. tests/conftest.py additionally
gives every test its own file.
"""

import os
import tempfile
from pathlib import Path


def pytest_configure(config):
    if "PGCOURSE_PROGRESS_FILE" not in os.environ:
        folder = Path(tempfile.mkdtemp(prefix="pgcourse-progress-"))
        os.environ["PGCOURSE_PROGRESS_FILE"] = str(folder / "progress.json")
