"""Checks for the "your turn" exercises: a friendly verdict, and a hint that names the mistake.

In a notebook::

    def my_returns(rewards, gamma, dones):
        raise NotImplementedError      # <- replace with your code

    check_discounted_returns(my_returns)   # shows a green or red box

Each ``check_*`` runs your function on a few small, seeded, hand-designed cases
(episode boundaries in the middle, truncated steps, a ``(T, N)`` vector-env layout,
inputs that require grad, ...) and compares the result -- and, where gradients matter,
its gradient -- with the package's reference implementation. A wrong result is
compared with a table of *known mistakes* (each one a small wrong implementation)
and the hint names the one it matches. A check never raises for a wrong answer:
an error inside your function is reported in one line, without a traceback.

``show_source(obj)`` reveals the package's own implementation after the exercise.

One module per lesson (``from pgcourse.exercises import check_gae`` re-exports them all):

==============================  ===================================================  ========
module                          checkers                                             notebook
==============================  ===================================================  ========
``exercises.returns``           check_discounted_returns, check_reinforce_loss       02
``exercises.advantages``        check_normalized_advantages,                         03
                                check_optimal_baseline_scale (a derivation)
``exercises.gae``               check_gae, check_debug_gae (a debugging exercise)    04
``exercises.a2c``               check_a2c_loss                                       05
``exercises.trust``             check_surrogate                                      06
``exercises.ppo``               check_clipped_surrogate,                             07
                                check_debug_ppo_update (a debugging exercise)
``exercises.continuous``        check_gaussian_log_prob,                             08
                                check_tanh_gaussian_log_prob
``exercises.diagnostics``       check_approx_kl, check_explained_variance            09
``exercises.landing``           check_landing (a mission: judges the lander you      11
                                trained, not a function)
``exercises.engine``            the machinery: cases, known mistakes, verdicts       --
``exercises.reveal``            show_source                                          --
==============================  ===================================================  ========

A *debugging* exercise starts from code with planted bugs instead of a stub: its check
says which bugs remain and hints at the first of them, one at a time. A *derivation*
asks for a number (here β*), computed by your function from the data it is given. A *mission*
(``MISSIONS``) judges what you trained: ``check_landing(run)`` evaluates your lander on fresh episodes.

Symbols are those of :mod:`pgcourse.returns` and :mod:`pgcourse.diagnostics`:
``r_t`` reward, ``γ`` discount, ``λ`` GAE weight, ``G_t`` return, ``V(s_t)`` value,
``A_t`` advantage, ``r = π_θ/π_old`` probability ratio, ``ε`` clip range,
``μ`` and ``σ = exp(log_std)`` the mean and standard deviation of a Gaussian policy.
"""

from pgcourse.exercises.a2c import A2C_LOSS, check_a2c_loss
from pgcourse.exercises.advantages import (
    ADVANTAGES,
    BETA_STAR,
    check_normalized_advantages,
    check_optimal_baseline_scale,
)
from pgcourse.exercises.continuous import GAUSSIAN, TANH_GAUSSIAN, check_gaussian_log_prob, check_tanh_gaussian_log_prob
from pgcourse.exercises.diagnostics import EV, KL, check_approx_kl, check_explained_variance
from pgcourse.exercises.engine import CheckResult, Exercise
from pgcourse.exercises.gae import DEBUG_GAE, GAE, check_debug_gae, check_gae
from pgcourse.exercises.landing import LANDING, Mission, check_landing
from pgcourse.exercises.ppo import CLIPPED, DEBUG_PPO, check_clipped_surrogate, check_debug_ppo_update
from pgcourse.exercises.returns import REINFORCE, RETURNS, check_discounted_returns, check_reinforce_loss
from pgcourse.exercises.reveal import SourceView, show_source
from pgcourse.exercises.trust import SURROGATE, check_surrogate

#: Every exercise of the course by name, in the order the notebooks meet them.
EXERCISES: dict[str, Exercise] = {
    ex.name: ex
    for ex in (
        RETURNS,
        REINFORCE,
        ADVANTAGES,
        BETA_STAR,
        GAE,
        DEBUG_GAE,
        A2C_LOSS,
        SURROGATE,
        CLIPPED,
        DEBUG_PPO,
        GAUSSIAN,
        TANH_GAUSSIAN,
        KL,
        EV,
    )
}

#: The missions: checked on what the learner trained (a run), not on a function; recorded like the exercises.
MISSIONS: dict[str, Mission] = {"landing": LANDING}

__all__ = [
    "CheckResult",
    "SourceView",
    "EXERCISES",
    "MISSIONS",
    "check_discounted_returns",
    "check_reinforce_loss",
    "check_normalized_advantages",
    "check_optimal_baseline_scale",
    "check_gae",
    "check_debug_gae",
    "check_a2c_loss",
    "check_surrogate",
    "check_clipped_surrogate",
    "check_debug_ppo_update",
    "check_gaussian_log_prob",
    "check_tanh_gaussian_log_prob",
    "check_approx_kl",
    "check_explained_variance",
    "check_landing",
    "show_source",
]
