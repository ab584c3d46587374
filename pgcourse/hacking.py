r"""Reward hacking on purpose: CartPole with a well-meant shaping bonus that the agent exploits.

The true objective of CartPole-v1 is the number of steps the pole stays up (reward
:math:`r_t = 1` per step, at most 500). :class:`TiltBonus` adds a bonus meant to make the
agent practise catching the pole at large angles: a reward proportional to the tilt of
the pole after the step, while it is still up,

.. math:: \tilde r_t = r_t + c\,(1 - \mathrm{terminated}_t)\,\frac{|\vartheta_{t+1}|}{\vartheta_{max}},
          \qquad c = \texttt{bonus} \ge 0,\quad \vartheta_{max} = 12^\circ \approx 0.2095\ \mathrm{rad},

where :math:`\vartheta_{t+1}` is the pole angle in the observation the step returns
(``obs[2]``) and :math:`\vartheta_{max}` is the angle at which CartPole terminates. The
shaped return :math:`\sum_t \tilde r_t` is the *proxy* an agent trained on this environment
maximises; the true return :math:`\sum_t r_t` (the episode length) is what we wanted.
The bonus pays for a *state* (a tilted pole), not for the behaviour the designer had in
mind (recovering from it): holding the pole tilted by accelerating the cart under it
pays every step until the cart leaves the track, so the proxy can climb far above 500
while the true return stays low. The true per-step reward is kept in ``info["true_reward"]``.

Importing this module registers :data:`TILT_BONUS_ID` with gymnasium
(``max_episode_steps=500``, as CartPole-v1), so the id works wherever an env id does::

    import pgcourse.hacking
    result = train_ppo(pgcourse.hacking.TILT_BONUS_ID)        # trains on the proxy
    pgcourse.evaluate(result.policy, "CartPole-v1")             # judged on the true objective

``gymnasium.make(TILT_BONUS_ID, bonus=c)`` (or ``env_kwargs={"bonus": c}`` in
:func:`pgcourse.rollout.make_vec_env`) sets :math:`c` (default :data:`DEFAULT_BONUS`).

The repair, :class:`PotentialTilt` (id :data:`POTENTIAL_TILT_ID`), is potential-based shaping
(Ng, Harada & Russell, 1999) with :math:`\Phi(s) = -c\,|\vartheta|/\vartheta_{max}` and the convention
:math:`\Phi = 0` after termination: :math:`F_t = \gamma (1 - \mathrm{terminated}_t)\,\Phi(s_{t+1}) - \Phi(s_t)`.
Its *discounted* sum telescopes, :math:`\sum_t \gamma^t F_t = -\Phi(s_0)` for an episode that terminates,
so for an agent that discounts with the same γ it changes no policy's value by more than a
constant of the start state: nothing to farm. Its *undiscounted* sum, the return the course
evaluates, keeps a residual tilt bonus,
:math:`\sum_t F_t = -\Phi(s_0) + (1 - \gamma)\, c \sum_{t=1}^{T-1} |\vartheta_t|/\vartheta_{max}`,
:math:`1/(1-\gamma)` times smaller than :class:`TiltBonus`'s.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

__all__ = [
    "TiltBonus",
    "PotentialTilt",
    "TILT_BONUS_ID",
    "POTENTIAL_TILT_ID",
    "DEFAULT_BONUS",
    "THETA_MAX",
    "make_tilt_bonus_cartpole",
    "make_potential_tilt_cartpole",
    "register",
]

#: The registered id of CartPole-v1 with the tilt bonus.
TILT_BONUS_ID = "pgcourse/CartPoleTiltBonus-v0"

#: The registered id of CartPole-v1 with the potential-based tilt shaping.
POTENTIAL_TILT_ID = "pgcourse/CartPolePotentialTilt-v0"

#: Default bonus coefficient :math:`c`: the bonus per step at the termination angle.
DEFAULT_BONUS = 10.0

#: CartPole's termination angle :math:`\vartheta_{max}` = 12 degrees, in radians.
THETA_MAX = 12 * 2 * math.pi / 360


class TiltBonus(gym.Wrapper):
    r"""Adds :math:`c\,|\vartheta|/\vartheta_{max}` (pole angle after the step, ``obs[2]``) to the reward of
    every step that leaves the pole up (none on the terminating step).

    ``info["true_reward"]`` holds the reward before shaping.
    """

    def __init__(self, env: gym.Env, bonus: float = DEFAULT_BONUS) -> None:
        super().__init__(env)
        bonus = float(bonus)
        if not (math.isfinite(bonus) and bonus >= 0):
            raise ValueError(f"bonus={bonus!r} is outside the allowed range [0, inf)")
        self.bonus = bonus

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info, true_reward=float(reward))
        bonus = 0.0 if terminated else self.bonus * abs(float(obs[2])) / THETA_MAX  # only while the pole is up
        return obs, float(reward) + bonus, terminated, truncated, info


class PotentialTilt(gym.Wrapper):
    r"""Adds the potential-based shaping :math:`F_t = \gamma (1 - \mathrm{terminated}_t)\,\Phi(s_{t+1}) - \Phi(s_t)`,
    :math:`\Phi(s) = -c\,|\vartheta|/\vartheta_{max}`, to the reward (see the module docstring for its sums).

    ``gamma`` must be the discount of the agent trained on it (the invariance holds for that
    discounted return only). ``info["true_reward"]`` holds the reward before shaping.
    """

    def __init__(self, env: gym.Env, bonus: float = DEFAULT_BONUS, gamma: float = 0.99) -> None:
        super().__init__(env)
        bonus, gamma = float(bonus), float(gamma)
        if not (math.isfinite(bonus) and bonus >= 0):
            raise ValueError(f"bonus={bonus!r} is outside the allowed range [0, inf)")
        if not 0 <= gamma <= 1:
            raise ValueError(f"gamma={gamma!r} is outside the allowed range [0, 1]")
        self.bonus, self.gamma = bonus, gamma
        self._phi = 0.0

    def potential(self, obs: Any) -> float:
        r""":math:`\Phi(s) = -c\,|\vartheta|/\vartheta_{max}` with :math:`\vartheta` = ``obs[2]``."""
        return -self.bonus * abs(float(obs[2])) / THETA_MAX

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._phi = self.potential(obs)
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info, true_reward=float(reward))
        phi_next = 0.0 if terminated else self.potential(obs)  # Φ = 0 after termination
        shaping = self.gamma * phi_next - self._phi
        self._phi = phi_next
        return obs, float(reward) + shaping, terminated, truncated, info


def make_potential_tilt_cartpole(
    bonus: float = DEFAULT_BONUS, gamma: float = 0.99, render_mode: str | None = None
) -> gym.Env:
    """The entry point of :data:`POTENTIAL_TILT_ID`: CartPole's dynamics inside :class:`PotentialTilt`."""
    return PotentialTilt(CartPoleEnv(render_mode=render_mode), bonus, gamma)


def make_tilt_bonus_cartpole(bonus: float = DEFAULT_BONUS, render_mode: str | None = None) -> gym.Env:
    """The entry point of :data:`TILT_BONUS_ID`: CartPole's dynamics inside :class:`TiltBonus`."""
    return TiltBonus(CartPoleEnv(render_mode=render_mode), bonus)


# gymnasium reads the render modes of an entry point from its ``metadata``
make_tilt_bonus_cartpole.metadata = CartPoleEnv.metadata  # type: ignore[attr-defined]
make_potential_tilt_cartpole.metadata = CartPoleEnv.metadata  # type: ignore[attr-defined]


def register() -> None:
    """Register :data:`TILT_BONUS_ID` and :data:`POTENTIAL_TILT_ID` (idempotent; done on import)."""
    if TILT_BONUS_ID not in gym.registry:
        gym.register(TILT_BONUS_ID, entry_point=make_tilt_bonus_cartpole, max_episode_steps=500)
    if POTENTIAL_TILT_ID not in gym.registry:
        gym.register(POTENTIAL_TILT_ID, entry_point=make_potential_tilt_cartpole, max_episode_steps=500)


register()
