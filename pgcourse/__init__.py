"""pgcourse: the tested implementations behind the policy-gradient notebooks.

The maths core is importable from the top level::

    from pgcourse import discounted_returns, normalize, gae, approx_kl
"""

from pgcourse.checkpoint import load_policy, save_policy
from pgcourse.diagnostics import approx_kl, clip_fraction, explained_variance, grad_norm
from pgcourse.evaluation import evaluate
from pgcourse.returns import discounted_returns, gae, lambda_weights, n_step_advantages, normalize, td_errors

__version__ = "0.1.0"

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
]
