"""pgcourse: the tested implementations behind the policy-gradient notebooks.

The maths core is importable from the top level::

    from pgcourse import discounted_returns, normalize, gae, approx_kl
"""

from pgcourse.checkpoint import load_policy, save_policy
from pgcourse.diagnostics import approx_kl, clip_fraction, explained_variance, grad_norm
from pgcourse.evaluation import evaluate
from pgcourse.returns import discounted_returns, gae, lambda_weights, n_step_advantages, normalize, td_errors

__version__ = "0.1.0"


def progress():  # noqa: ANN201 - returns pgcourse.learner.Progress
    """Which exercises and quizzes you have passed: a table in Jupyter, ``.items`` in code.

    Kept in a small JSON file in your data directory (see :mod:`pgcourse.learner`); never required.
    The exercise and quiz layers are imported here, on call, so ``import pgcourse`` stays light.
    """
    from pgcourse.exercises import EXERCISES, MISSIONS
    from pgcourse.learner import progress_report
    from pgcourse.quizzes import QUIZZES

    catalogue = {"exercises": [("exercise", name) for name in (*EXERCISES, *MISSIONS)]}
    catalogue.update({stem: [("quiz", f"{stem}/{i}") for i in range(len(qs))] for stem, qs in QUIZZES.items()})
    return progress_report(catalogue)

__all__ = [
    "discounted_returns",
    "normalize",
    "td_errors",
    "n_step_advantages",
    "lambda_weights",
    "gae",
    "approx_kl",
    "clip_fraction",
    "explained_variance",
    "grad_norm",
    "evaluate",
    "save_policy",
    "load_policy",
    "progress",
]
