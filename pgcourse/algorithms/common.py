"""What every trainer shares: the result type, config validation, the training loop's frame.

The frame (:func:`training_session`) is what makes runs reproducible and safe to
interrupt: it fixes torch's thread count and seeds, shows a ``tqdm`` progress bar,
calls the callbacks after each update, and turns a ``KeyboardInterrupt`` into a
``TrainResult`` holding everything learned so far.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from pgcourse._threads import torch_threads

__all__ = [
    "HISTORY_KEYS",
    "TrainResult",
    "Callback",
    "TrainingNaNError",
    "StopTraining",
    "stop_at_mean_return",
    "check_finite",
    "action_space_info",
    "validate_config",
    "plain_fields",
    "training_session",
    "Session",
]

#: One record per update carries these keys (NaN where an algorithm has no such quantity).
HISTORY_KEYS = (
    "update",
    "env_steps",
    "episodes",
    "time",
    "mean_return",
    "policy_loss",
    "value_loss",
    "entropy",
    "approx_kl",
    "clip_fraction",
    "explained_variance",
    "grad_norm",
    "actor_step_norm",
    "critic_step_norm",
    "lr",
    "clip_eps",
    "epochs",
    "n_actions",
    "act_dim",
    "action_range",
)

#: Called with each update's record. A callback object may also define ``on_start(result)``: it is
#: called once, before the first update, with the :class:`TrainResult` whose ``policy`` is being trained.
Callback = Callable[[dict[str, float]], None]


def action_space_info(policy: torch.nn.Module) -> dict[str, float]:
    r"""What the entropy rule of the health report needs to know about the policy's actions.

    ``n_actions`` for a categorical policy (its maximal entropy is :math:`\log|A|`); for a
    Gaussian one ``act_dim`` and ``action_range``, the geometric mean of ``high - low`` over
    the action dimensions (so σ can be judged against the range). NaN where not applicable.
    """
    spec = getattr(policy, "spec", {})
    if spec.get("kind") == "gaussian":
        width = np.asarray(spec["action_high"], dtype=float) - np.asarray(spec["action_low"], dtype=float)
        return {"act_dim": float(spec["act_dim"]), "action_range": float(np.exp(np.log(width).mean()))}
    if "n_actions" in spec:
        return {"n_actions": float(spec["n_actions"])}
    return {}

#: Running mean of this many most recent episodes is the "mean_return" of a record.
RETURN_WINDOW = 20


class StopTraining(Exception):
    """Raise from a callback to end training early and normally (e.g. once a target return is reached)."""


def stop_at_mean_return(target: float) -> Callback:
    """A callback that ends training once the running mean of the last 20 episodes reaches ``target``."""

    def callback(record: dict[str, float]) -> None:
        if record["mean_return"] >= target:
            raise StopTraining(f"mean return {record['mean_return']:.1f} >= {target}")

    return callback


class TrainingNaNError(FloatingPointError):
    """A loss, reward or gradient became NaN/inf: training stops with the update and the quantity named."""


def check_finite(value: torch.Tensor | float, what: str, update: int) -> None:
    """Raise :class:`TrainingNaNError` naming ``what`` and the update if ``value`` is not finite."""
    v = value if isinstance(value, torch.Tensor) else torch.tensor(float(value))
    if not torch.isfinite(v).all():
        raise TrainingNaNError(
            f"{what} is not finite (NaN or inf) at update {update}; training stopped. "
            "Likely causes: a learning rate that is too high, rewards of extreme scale, or a bug in a custom loss."
        )


@dataclass
class TrainResult:
    """What a trainer returns: the trained policy, its config and seed, and what happened."""

    policy: torch.nn.Module
    config: Any
    seed: int
    env_id: str
    history: list[dict[str, float]] = field(default_factory=list)
    episodes: list[dict[str, float]] = field(default_factory=list)
    interrupted: bool = False
    note: str = ""

    def metric(self, key: str) -> np.ndarray:
        """One history column as an array, e.g. ``result.metric("approx_kl")``."""
        if key not in HISTORY_KEYS:
            raise KeyError(f"unknown metric {key!r}; available: {', '.join(HISTORY_KEYS)}")
        return np.array([h[key] for h in self.history], dtype=float)

    def episode_returns(self) -> np.ndarray:
        return np.array([e["return"] for e in self.episodes], dtype=float)

    def episode_steps(self) -> np.ndarray:
        """Global env step at which each episode ended (for sample-efficiency plots)."""
        return np.array([e["step"] for e in self.episodes], dtype=float)

    def running_mean_return(self, window: int = RETURN_WINDOW) -> np.ndarray:
        """Mean of the last ``window`` episode returns after each episode."""
        r = self.episode_returns()
        c = np.cumsum(np.insert(r, 0, 0.0))
        idx = np.arange(1, len(r) + 1)
        lo = np.maximum(idx - window, 0)
        return (c[idx] - c[lo]) / (idx - lo)

    def __repr__(self) -> str:
        last = self.history[-1] if self.history else {}
        return (
            f"TrainResult(env_id={self.env_id!r}, seed={self.seed}, updates={len(self.history)}, "
            f"env_steps={int(last.get('env_steps', 0))}, episodes={len(self.episodes)}, "
            f"mean_return={last.get('mean_return', float('nan')):.1f}"
            + (", interrupted=True" if self.interrupted else "")
            + ")"
        )


def _as_int(value: Any, what: str) -> int:
    """``value`` as a Python int if it is an integral number (``8``, ``np.int64(8)``, ``8.0``), else ValueError."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    raise ValueError(f"{what} must be an integer, got {value!r}")


def _plain(value: Any, type_name: str, what: str) -> Any:
    """A field value as a plain Python value of its declared type (numpy scalars converted, integers checked)."""
    if type_name == "int":
        return _as_int(value, what)
    if type_name.startswith("tuple[int"):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise ValueError(f"{what} must be a tuple of integers, got {value!r}")
        return tuple(_as_int(v, f"{what} (every entry)") for v in value)
    if isinstance(value, np.bool_):
        return bool(value)
    if type_name.startswith("float") and isinstance(value, (np.floating, np.integer)):
        return float(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def plain_fields(cfg: Any) -> None:
    """Store every field of the (frozen) dataclass ``cfg`` as a plain Python value of its declared type.

    Integer fields (``int``, ``tuple[int, ...]``) accept any integral number, numpy's
    too, and store an ``int``; a non-integer raises a ``ValueError`` naming the field.
    numpy scalars elsewhere become ``float``/``bool``/``str``, so a config always
    pickles to plain data (``torch.load(weights_only=True)`` reads it back).
    """
    for f in fields(cfg):
        type_name = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        value = getattr(cfg, f.name)
        new = _plain(value, type_name.replace(" ", ""), f"{type(cfg).__name__}.{f.name}")
        if new is not value:
            object.__setattr__(cfg, f.name, new)


def validate_config(cfg: Any, rules: dict[str, tuple[float, float, str]]) -> None:
    """Convert the fields to plain values (:func:`plain_fields`), then check them against ``(low, high, kind)`` rules.

    ``kind`` is ``"[]"``, ``"(]"``, ``"[)"`` or ``"()"`` (closed/open ends), so the
    message can name the field, the bad value and the allowed range exactly.
    """
    plain_fields(cfg)
    for name, (low, high, kind) in rules.items():
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise ValueError(f"{type(cfg).__name__}.{name} must be a number, got {value!r}")
        ok_low = value >= low if kind[0] == "[" else value > low
        ok_high = value <= high if kind[1] == "]" else value < high
        if not (ok_low and ok_high):
            hi = "inf" if math.isinf(high) else f"{high:g}"
            raise ValueError(
                f"{type(cfg).__name__}.{name}={value!r} is outside the allowed range {kind[0]}{low:g}, {hi}{kind[1]}"
            )


def config_dict(cfg: Any) -> dict[str, Any]:
    """A config as a plain dict (tuples become lists, numpy scalars Python ones) — for ``weights_only=True``."""

    def plain(v: Any) -> Any:
        if isinstance(v, (tuple, list)):
            return [plain(x) for x in v]
        return v.item() if isinstance(v, np.generic) else v

    return {k: plain(v) for k, v in asdict(cfg).items()}


def make_adam(parameters: Iterable[torch.nn.Parameter], lr: float) -> torch.optim.Adam:
    """Adam with eps=1e-5 (the PPO implementation detail); the fused CPU kernel when torch has it (~2x faster)."""
    params = list(parameters)
    try:
        return torch.optim.Adam(params, lr=lr, eps=1e-5, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, eps=1e-5)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Session:
    """Book-keeping of one run: history, episodes, progress bar, callbacks."""

    def __init__(self, result: TrainResult, total: int, unit: str, progress: bool, callbacks: Sequence[Callback]):
        self.result = result
        self.callbacks = list(callbacks)
        self.start = time.perf_counter()
        self.bar = tqdm(total=total, unit=unit, disable=not progress, desc=f"{result.env_id} seed {result.seed}")
        for cb in self.callbacks:  # a callback that needs the policy being trained (e.g. EvalCallback) binds here
            if hasattr(cb, "on_start"):
                cb.on_start(result)

    def add_episodes(self, returns: Sequence[float], lengths: Sequence[int], steps: Sequence[int]) -> None:
        for r, n, s in zip(returns, lengths, steps):
            self.result.episodes.append({"return": float(r), "length": int(n), "step": int(s)})

    def mean_return(self) -> float:
        recent = self.result.episodes[-RETURN_WINDOW:]
        return float(np.mean([e["return"] for e in recent])) if recent else float("nan")

    def log(self, advance: int, **metrics: float) -> dict[str, float]:
        record = {k: float("nan") for k in HISTORY_KEYS}
        record.update(
            update=len(self.result.history) + 1,
            episodes=len(self.result.episodes),
            time=time.perf_counter() - self.start,
            mean_return=self.mean_return(),
        )
        record.update({k: float(v) for k, v in metrics.items()})
        self.result.history.append(record)
        self.bar.update(advance)
        self.bar.set_postfix(mean_return=f"{record['mean_return']:.1f}", refresh=False)
        for cb in self.callbacks:
            cb(record)
        return record


@contextmanager
def training_session(
    result: TrainResult, total: int, unit: str, progress: bool, callbacks: Sequence[Callback], threads: int = 1
) -> Iterator[Session]:
    """Seeded, single-threaded (by default) frame around a training loop.

    torch's thread count changes floating-point summation order, hence the numbers:
    it is fixed while training runs and restored afterwards. A ``KeyboardInterrupt``
    (from the user or a callback) ends the loop; the result so far is kept, with a note.
    """
    seed_everything(result.seed)
    session = Session(result, total, unit, progress, callbacks)
    try:
        with torch_threads(threads):
            yield session
    except StopTraining as stop:
        result.note = f"Stopped early by a callback: {stop}"
    except KeyboardInterrupt:
        result.interrupted = True
        done = int(result.history[-1]["env_steps"]) if result.history else 0
        result.note = (
            f"Interrupted after {len(result.history)} updates ({done} env steps); "
            "the policy and the history so far are kept."
        )
        print(result.note)
    finally:
        session.bar.close()
        result.policy.eval()
