"""Shared test setup: a non-interactive matplotlib backend, so figures never need a display."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _progress_file(tmp_path, monkeypatch):
    """Each test records progress in its own temporary file, never in the real home."""
    path = tmp_path / "progress" / "progress.json"
    monkeypatch.setenv("PGCOURSE_PROGRESS_FILE", str(path))
    return path
