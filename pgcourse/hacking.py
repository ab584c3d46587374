r"""Reward hacking on purpose: CartPole with a shaped "keep moving" bonus the agent can exploit.

The true objective of CartPole-v1 is the number of steps the pole stays up (reward
:math:`r_t = 1` per step, at most 500). :class:`CartSpeedBonus` adds a well-meant bonus
for a *lively* cart, proportional to the cart speed after the step:

.. math:: \tilde r_t = r_t + c\,|\dot x_{t+1}|, \qquad c = \texttt{bonus} \ge 0,

where :math:`\dot x_{t+1}` is the cart velocity in the observation the step returns
(``obs[1]``, in m/s). The shaped return :math:`\sum_t \tilde r_t` is the *proxy* an agent
trained on this environment maximises; the true return :math:`\sum_t r_t` (the episode
length) is what we wanted. Sprinting to the end of the track pays more bonus than
balancing carefully, so the proxy can climb while the true return stays low. The true
per-step reward is kept in ``info["true_reward"]``.

Importing this module registers :data:`SPEED_BONUS_ID` (with gymnasium's registry;
``max_episode_steps=500`` as CartPole-v1), so the id works everywhere an env id does::

    import pgcourse.hacking
    result = train_ppo(pgcourse.hacking.SPEED_BONUS_ID)              # trains on the proxy
    pgcourse.evaluate(result.policy, "CartPole-v1")                   # judged on the truth

``gymnasium.make(SPEED_BONUS_ID, bonus=c)`` (or ``env_kwargs={"bonus": c}`` in
:func:`pgcourse.rollout.make_vec_env`) changes :math:`c` (default :data:`DEFAULT_BONUS`).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

__all__ = ["CartSpeedBonus", "SPEED_BONUS_ID", "DEFAULT_BONUS", "make_speed_bonus_cartpole", "register"]

#: The registered id of CartPole-v1 with the speed bonus.
SPEED_BONUS_ID = "pgcourse/CartPoleSpeedBonus-v0"

#: Default bonus coefficient :math:`c` (reward per m/s of cart speed, per step).
DEFAULT_BONUS = 2.0


class CartSpeedBonus(gym.Wrapper):
    r"""Adds :math:`c\,|\dot x|` (cart speed after the step, ``obs[1]``) to every reward of a CartPole env.

    ``info["true_reward"]`` holds the reward before shaping.
    """

    def __init__(self, env: gym.Env, bonus: float = DEFAULT_BONUS) -> None:
        super().__init__(env)
        bonus = float(bonus)
        if not (np.isfinite(bonus) and bonus >= 0):
            raise ValueError(f"bonus={bonus!r} is outside the allowed range [0, inf)")
        self.bonus = bonus

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info, true_reward=float(reward))
        return obs, float(reward) + self.bonus * abs(float(obs[1])), terminated, truncated, info


def make_speed_bonus_cartpole(bonus: float = DEFAULT_BONUS, render_mode: str | None = None) -> gym.Env:
    """The entry point of :data:`SPEED_BONUS_ID`: a CartPole env inside :class:`CartSpeedBonus`."""
    return CartSpeedBonus(CartPoleEnv(render_mode=render_mode), bonus)


# gymnasium checks the render modes of an entry point through its ``metadata``
make_speed_bonus_cartpole.metadata = CartPoleEnv.metadata  # type: ignore[attr-defined]


def register() -> None:
    """Register :data:`SPEED_BONUS_ID` (idempotent; done on import)."""
    if SPEED_BONUS_ID not in gym.registry:
        gym.register(SPEED_BONUS_ID, entry_point=make_speed_bonus_cartpole, max_episode_steps=500)


register()
