"""Shared test setup: a non-interactive matplotlib backend, so figures never need a display."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
