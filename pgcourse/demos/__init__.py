r"""Slider demos, one module per lesson: a pure, tested function per demo, and a thin ipywidgets layer over it.

Every demo has three parts:

* a **pure function** computing the lesson's quantity (``mc_gradient_estimate``,
  ``return_traces``, ``baseline_variance``, ``gae_bias_variance``); tests call it
  directly and it answers well under a second;
* a **static figure** (``static_*``) drawing the same quantity at 3–4 parameter
  values, for readers of the exported HTML (no kernel, no sliders);
* a **widget** (``*_demo``) returning a :class:`SliderDemo`: sliders, a figure and
  a text readout. Moving a slider recomputes and redraws; ``demo.last_result`` is
  the last computed result and every control is an attribute
  (``demo.beta_slider.value = 0.5`` works without a kernel).

All demos on the toy MDP use one corridor (:func:`pgcourse.toy.course_mdp`: reward +1 for
leaving on the right, nothing else, γ = 0.9) and one policy
(:data:`pgcourse.toy.DEFAULT_THETA`, which mildly prefers "right"). Symbols follow
:mod:`pgcourse.toy` and :mod:`pgcourse.returns`: :math:`\gamma` discount,
:math:`\lambda` GAE weight, :math:`G_t` reward-to-go, :math:`V, Q, A` the exact
value, action value and advantage of the policy :math:`\pi_\theta`.

The modules follow the course (``from pgcourse import demos`` re-exports every public demo):

========================  ===================================================  ========
module                    what it shows                                        notebook
========================  ===================================================  ========
``demos.widget``          :class:`SliderDemo` and the helpers every demo uses   --
``demos.hello``           the install check's test slider                      00
``demos.theorem``         Monte Carlo gradient against the exact gradient      01
``demos.discount``        discounted returns against γ                         02
``demos.baseline``        gradient variance against the baseline strength β    03
``demos.gae``             GAE's bias and variance against λ and critic error   04
``demos.trust``           step size α: true gain, surrogate, L^CLIP, mean KL   06
``demos.clip``            PPO's clip range ε, on L^CLIP and on real updates    07
``demos.kl``              the k1 and k3 KL estimators                          09
``demos.capstone``        no slider: gymnasium's task docs, the README's       11
                          benchmark table, rendered rather than restated
``demos.handout``         frames of every demo for kernel-free HTML handouts    --
========================  ===================================================  ========
"""

from pgcourse.demos.baseline import (
    BaselineResult,
    BaselineStudy,
    baseline_demo,
    baseline_study,
    baseline_variance,
    exact_baseline_term,
    optimal_baseline_scale,
    static_baseline_variance,
)
from pgcourse.demos.capstone import ReadmeSection, benchmark_table, env_doc_section
from pgcourse.demos.clip import (
    CLIP_LEVER_BASE,
    CLIP_UPDATE_EPS,
    ClipLevers,
    ClipObjective,
    ClipUpdateResult,
    ClipUpdateStudy,
    clip_fraction_levers,
    clip_objective,
    clip_objective_demo,
    clip_update_demo,
    clip_update_stats,
    clip_update_study,
    static_clip_objective,
    static_clip_updates,
)
from pgcourse.demos.discount import (
    ReturnTraces,
    gamma_demo,
    return_traces,
    sample_episode_rewards,
    static_return_traces,
)
from pgcourse.demos.gae import (
    GAEResult,
    GAEStudy,
    critic_values,
    exact_lambda_return,
    gae_bias_variance,
    gae_demo,
    gae_inputs,
    gae_study,
    static_gae_bias_variance,
)
from pgcourse.demos.hello import hello_curve, hello_demo
from pgcourse.demos.kl import KL_CROSSOVER_SHIFT, KLEstimates, kl_estimates, kl_estimator_demo, static_kl_estimators
from pgcourse.demos.theorem import (
    GradientSamples,
    MCGradientResult,
    gradient_samples,
    mc_gradient_demo,
    mc_gradient_estimate,
    static_mc_gradient,
)
from pgcourse.demos.trust import (
    STEP_DIRECTIONS,
    StepSizeResult,
    StepSizeStudy,
    static_step_size,
    step_size_demo,
    step_size_point,
    step_size_study,
)
from pgcourse.demos.widget import SliderDemo
from pgcourse.toy import DEFAULT_THETA, course_mdp

__all__ = [
    "DEFAULT_THETA",
    "course_mdp",
    "SliderDemo",
    "ReadmeSection",
    "benchmark_table",
    "env_doc_section",
    "hello_curve",
    "hello_demo",
    "GradientSamples",
    "MCGradientResult",
    "gradient_samples",
    "mc_gradient_estimate",
    "static_mc_gradient",
    "mc_gradient_demo",
    "ReturnTraces",
    "sample_episode_rewards",
    "return_traces",
    "static_return_traces",
    "gamma_demo",
    "BaselineStudy",
    "BaselineResult",
    "baseline_study",
    "baseline_variance",
    "exact_baseline_term",
    "optimal_baseline_scale",
    "static_baseline_variance",
    "baseline_demo",
    "GAEStudy",
    "GAEResult",
    "gae_study",
    "critic_values",
    "gae_inputs",
    "exact_lambda_return",
    "gae_bias_variance",
    "static_gae_bias_variance",
    "gae_demo",
    "STEP_DIRECTIONS",
    "StepSizeStudy",
    "StepSizeResult",
    "step_size_study",
    "step_size_point",
    "static_step_size",
    "step_size_demo",
    "ClipObjective",
    "clip_objective",
    "static_clip_objective",
    "clip_objective_demo",
    "ClipUpdateStudy",
    "ClipUpdateResult",
    "CLIP_UPDATE_EPS",
    "clip_update_study",
    "clip_update_stats",
    "static_clip_updates",
    "clip_update_demo",
    "CLIP_LEVER_BASE",
    "ClipLevers",
    "clip_fraction_levers",
    "KLEstimates",
    "KL_CROSSOVER_SHIFT",
    "kl_estimates",
    "static_kl_estimators",
    "kl_estimator_demo",
    "NOTEBOOK_DEMOS",
    "demo_as_in_notebook",
]

#: Every slider demo of the course, as its notebook cell builds it: a label naming the notebook -> the cell's code
#: (``demos`` is this package). The slider benchmark, the figure-fit test and the browser layout test all build the
#: demos from this one table.
NOTEBOOK_DEMOS: dict[str, str] = {
    "hello (00)": "demos.hello_demo()",
    "MC gradient (01)": "demos.mc_gradient_demo(demos.gradient_samples())",
    "discount γ (02)": "demos.gamma_demo(n_trajectories=5, seed=0)",
    "baseline β (03)": "demos.baseline_demo(demos.baseline_study())",
    "GAE (04)": "demos.gae_demo(demos.gae_study())",
    "trust region α (06)": "demos.step_size_demo(demos.step_size_study())",
    "clip objective (07)": "demos.clip_objective_demo()",
    "clip updates (07)": "demos.clip_update_demo(demos.clip_update_study())",
    "KL estimators (09)": "demos.kl_estimator_demo()",
}


def demo_as_in_notebook(label: str) -> SliderDemo:
    """Build the demo ``NOTEBOOK_DEMOS[label]`` exactly as its notebook cell does (the studies it shares included)."""
    import sys

    if label not in NOTEBOOK_DEMOS:
        raise ValueError(f"unknown demo {label!r}; known: {', '.join(NOTEBOOK_DEMOS)}")
    return eval(NOTEBOOK_DEMOS[label], {"__builtins__": {}, "demos": sys.modules[__name__]})
