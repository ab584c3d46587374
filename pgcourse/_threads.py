"""torch's thread count, fixed for the duration of a block.

The course's networks are tiny: on a small CPU, one torch thread runs them fastest,
with steady timing (a second thread mostly adds synchronisation, and on a busy
machine it can make a loop 30x slower). The thread count also changes floating-point
summation order, so fixing it keeps runs reproducible.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(n: int = 1) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)``; restore the previous count afterwards."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)
