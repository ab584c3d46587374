"""The step-size demo of notebook 06: exact curves, the static figure and the widget without a kernel."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from pgcourse import demos
from pgcourse.toy import DEFAULT_THETA, course_mdp


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_points_are_exact_values_along_the_direction():
    study = demos.step_size_study()
    mdp = course_mdp()
    for key in ("exact", "sampled"):
        r = demos.step_size_point(10.0, key, study)
        th = DEFAULT_THETA + 10.0 * study.directions[key]
        assert r.true_improvement == pytest.approx(mdp.objective(th) - mdp.objective(DEFAULT_THETA), abs=1e-14)
        assert r.surrogate == pytest.approx(mdp.surrogate(DEFAULT_THETA, th), abs=1e-14)
        assert r.mean_kl == pytest.approx(mdp.mean_kl(DEFAULT_THETA, th), abs=1e-14)
    assert np.allclose(study.directions["exact"], mdp.exact_gradient(DEFAULT_THETA))


def test_the_exact_gradient_never_hurts_the_estimate_does_and_the_surrogate_misses_it():
    study = demos.step_size_study()
    exact, sampled = study.curves["exact"], study.curves["sampled"]
    assert np.all(exact.true_improvement >= -1e-15)
    assert sampled.true_improvement.min() < 0 and sampled.true_improvement.max() > 0
    assert np.all(sampled.surrogate >= -1e-15)  # the model on the old states never sees the harm
    assert np.all(exact.clipped <= exact.surrogate + 1e-15)


def test_static_figure_and_bad_input():
    fig = demos.static_step_size()
    assert len(fig.axes) == 3
    with pytest.raises(ValueError, match=r"alpha=99.0 is outside the allowed range \[0, 60\]"):
        demos.step_size_point(99.0)
    with pytest.raises(ValueError, match="direction='up' is not one of"):
        demos.step_size_point(1.0, "up")
    with pytest.raises(ValueError, match="n_episodes=0 is outside"):
        demos.step_size_study(n_episodes=0)


def test_demo_slider_follows_the_hand_and_redraws_fast():
    demo = demos.step_size_demo()
    assert demo.alpha_slider.continuous_update and "α" in demo.alpha_slider.description
    first = demo.readout.value
    png = demo.figure_output.outputs[0]["data"]["image/png"]
    demo.alpha_slider.value = 20.0
    assert demo.n_updates == 2 and demo.last_result.alpha == pytest.approx(20.0)
    assert demo.readout.value != first and "20.0" in demo.readout.value
    assert demo.figure_output.outputs[0]["data"]["image/png"] != png
    demo.direction.value = "sampled"
    assert demo.n_updates == 3 and demo.last_result.direction == "sampled" and "hurts" in demo.readout.value
    times = []
    for a in np.linspace(0, 60, 13):
        demo.alpha_slider.value = float(a)
        times.append(demo.last_timing["total"])
    assert demo.n_updates == 3 + 13
    assert np.isfinite(times).all()
