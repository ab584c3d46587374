"""Watch an agent: an episode rendered to ``rgb_array`` frames, played inline in the notebook.

The animation is a matplotlib ``FuncAnimation`` exported as JavaScript + embedded
PNG frames (``to_jshtml``), so it needs no ffmpeg and survives export to HTML.
Frames are capped in number (``max_frames``) and in size (``max_width`` pixels,
by integer down-sampling) to keep notebooks small.

Any policy of :mod:`pgcourse.networks` works: it gets a batch of one observation,
``policy.act(obs[None], deterministic)``, and ``policy.env_action(actions)[0]`` is
sent to the environment. ``policy=None`` takes uniformly random actions.
"""

from __future__ import annotations

import math
import os
import re
import sys
from typing import Any

import gymnasium as gym
import matplotlib
import numpy as np
import torch
from IPython.display import HTML
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure

from pgcourse._threads import torch_threads

__all__ = ["rollout_frames", "animate", "MAX_FRAMES"]

#: Hard upper bound on frames in one animation (about 30 s at 30 fps).
MAX_FRAMES = 1000


def _check_int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ValueError(f"{name}={value!r} is outside the allowed range [{low}, {high}] (an integer)")
    return int(value)


def _headless_sdl() -> None:
    """On a Linux machine without a display, let pygame render off-screen quietly.

    Without this, SDL prints ``XDG_RUNTIME_DIR is invalid`` to stderr on servers and CI.
    A window could not open there anyway, so nothing is lost.
    """
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def downscale(frame: np.ndarray, max_width: int) -> np.ndarray:
    """Keep every k-th pixel, k = ceil(width / max_width), so the width is at most ``max_width``."""
    k = max(1, math.ceil(frame.shape[1] / max_width))
    return np.ascontiguousarray(frame[::k, ::k])


def rollout_frames(
    policy: Any,
    env_id: str,
    seed: int = 0,
    max_frames: int = 200,
    deterministic: bool = True,
    max_width: int = 320,
    env_kwargs: dict[str, Any] | None = None,
    stride: int = 1,
) -> list[np.ndarray]:
    """Run one episode and return its frames, ``(H, W, 3)`` uint8 arrays.

    The first frame is the reset state; one frame follows every ``stride``-th step (and the
    last step), until the episode ends (terminated or truncated) or ``max_frames`` frames were
    taken. ``stride=2`` shows an episode twice as long in the same number of frames.
    ``policy=None`` samples random actions (seeded by ``seed``).
    """
    max_frames = _check_int(max_frames, "max_frames", 1, MAX_FRAMES)
    max_width = _check_int(max_width, "max_width", 16, 4096)
    stride = _check_int(stride, "stride", 1, 100)
    _headless_sdl()
    try:
        env = gym.make(env_id, render_mode="rgb_array", **(env_kwargs or {}))
    except gym.error.Error as err:
        raise ValueError(f"env_id={env_id!r} could not be made with render_mode='rgb_array': {err}") from None
    try:
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        frames = [downscale(env.render(), max_width)]
        steps = 0
        while len(frames) < max_frames:
            if policy is None:
                action = env.action_space.sample()
            else:
                obs_t = torch.as_tensor(np.asarray(obs, dtype=np.float32)).unsqueeze(0)
                with torch.no_grad(), torch_threads(1):
                    actions = policy.act(obs_t, deterministic=deterministic)
                action = policy.env_action(actions)[0]
            obs, _, terminated, truncated, _ = env.step(action)
            steps += 1
            if steps % stride == 0 or terminated or truncated:
                frames.append(downscale(env.render(), max_width))
            if terminated or truncated:
                break
    finally:
        env.close()
    return frames


def animate(
    policy: Any,
    env_id: str,
    seed: int = 0,
    max_frames: int = 200,
    fps: int = 30,
    deterministic: bool = True,
    max_width: int = 320,
    title: str | None = None,
    stride: int = 1,
) -> HTML:
    """One episode as an inline animation (HTML with play/pause controls).

    ``policy=None`` acts at random; ``stride`` keeps every ``stride``-th step's frame (see
    :func:`rollout_frames`). Show it by making it the last expression of a cell, or with
    ``IPython.display.display(animate(...))``.
    """
    fps = _check_int(fps, "fps", 1, 60)
    frames = rollout_frames(policy, env_id, seed, max_frames, deterministic, max_width, stride=stride)
    # No layout engine (the frame fills the axes). The rc context matters: savefig restores the
    # figure's engine through rcParams, which may ask for constrained layout (the course style does).
    who = title or ("random actions" if policy is None else "policy")
    no_layout = {"figure.constrained_layout.use": False, "figure.autolayout": False}
    old = {key: matplotlib.rcParams[key] for key in no_layout}  # restore only these keys afterwards
    matplotlib.rcParams.update(no_layout)
    try:
        return HTML(_to_jshtml(frames, fps, f"{env_id} — {who}"))
    finally:
        matplotlib.rcParams.update(old)


def _to_jshtml(frames: list[np.ndarray], fps: int, caption: str) -> str:
    h, w = frames[0].shape[:2]
    dpi = 100
    fig = Figure(figsize=(w / dpi, h / dpi + 0.3), dpi=dpi, layout="none")  # stand-alone: not shown by pyplot
    ax = fig.add_axes((0, 0, 1, h / (h + 30)))
    ax.set_axis_off()
    image = ax.imshow(frames[0], interpolation="nearest")
    label = fig.text(0.02, 0.98, "", va="top", fontsize=9)

    def show(i: int) -> tuple[Any, ...]:
        image.set_data(frames[i])
        label.set_text(f"{caption} — step {i}/{len(frames) - 1}")
        return image, label

    anim = FuncAnimation(fig, show, frames=len(frames), interval=1000 / fps, blit=False)
    return offline_player(anim.to_jshtml(fps=fps, default_mode="once"))


#: matplotlib's player draws its buttons with a web font from a CDN; nothing is fetched
#: at run time here, so the icons become plain characters.
_ICONS = {
    "fa fa-minus": "&minus;",
    "fa fa-fast-backward": "&#x23EE;",
    "fa fa-step-backward": "&#x23F4;&#x2759;",
    "fa fa-play fa-flip-horizontal": "&#x25C0;",
    "fa fa-pause": "&#x23F8;",
    "fa fa-play": "&#x25B6;",
    "fa fa-step-forward": "&#x2759;&#x23F5;",
    "fa fa-fast-forward": "&#x23ED;",
    "fa fa-plus": "+",
}


def offline_player(html: str) -> str:
    """Drop the player's external stylesheet link and draw its buttons with Unicode symbols."""
    html = re.sub(r"<link[^>]*font-awesome[^>]*>", "", html)
    for cls, char in _ICONS.items():
        html = html.replace(f'<i class="{cls}"></i>', char)
    return html
