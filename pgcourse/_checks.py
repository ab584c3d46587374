"""Input checks shared by the maths modules.

Every public function of the course validates what it is given and raises a
``ValueError`` that names the argument, the bad value and what is allowed, so a
learner sees *what* is wrong instead of a deep traceback or silent garbage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

ArrayLike = torch.Tensor | np.ndarray | Sequence[float] | float


def as_float_tensor(x: ArrayLike, name: str, allow_empty: bool = False) -> torch.Tensor:
    """Convert ``x`` to a float32 tensor; reject empty input and NaN/inf values."""
    if isinstance(x, torch.Tensor):
        t = x.detach().to(torch.float32)
    else:
        try:
            t = torch.as_tensor(np.asarray(x, dtype=np.float32))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be numeric (array or tensor), got {type(x).__name__}: {err}") from None
    if t.numel() == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)}); it needs at least one element")
    if not torch.isfinite(t).all():
        bad = "NaN" if torch.isnan(t).any() else "inf"
        raise ValueError(f"{name} contains {bad}; all values must be finite numbers")
    return t


def as_time_major(x: ArrayLike, name: str) -> torch.Tensor:
    """A float32 tensor of shape ``(T,)`` or ``(T, N)`` (time first, then environments)."""
    t = as_float_tensor(x, name)
    if t.dim() not in (1, 2):
        raise ValueError(f"{name} must have shape (T,) or (T, N), got shape {tuple(t.shape)}")
    return t


def as_mask(x: ArrayLike | None, name: str, like: torch.Tensor) -> torch.Tensor:
    """A 0/1 float32 tensor with the shape of ``like`` (all zeros when ``x`` is None)."""
    if x is None:
        return torch.zeros_like(like)
    t = as_float_tensor(x, name)
    same_shape(t, like, name, "rewards")
    if not torch.all((t == 0) | (t == 1)):
        raise ValueError(f"{name} must contain only 0/1 (or False/True) values")
    return t


def same_shape(a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} has shape {tuple(a.shape)} but {name_b} has shape {tuple(b.shape)}; they must match"
        )


def unit_interval(value: float, name: str) -> float:
    """Check ``0 <= value <= 1`` (gamma, lambda, probabilities)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name}={value} is outside the allowed range [0, 1]")
    return float(value)


def positive(value: float, name: str) -> float:
    """Check ``value > 0``."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name}={value} is outside the allowed range (0, inf)")
    return float(value)


def count(value: int, name: str) -> int:
    """Check ``value`` is an integer ``>= 1`` (a number of steps, a horizon)."""
    if isinstance(value, bool) or not float(value).is_integer() or value < 1:
        raise ValueError(f"{name}={value!r} is outside the allowed range [1, inf) (an integer)")
    return int(value)
