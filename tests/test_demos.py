"""The slider demos: each pure function against known truths, and the widget layer without a kernel."""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from pgcourse import demos, discounted_returns, td_errors
from pgcourse.toy import corridor_mdp


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """The tensors here are small: one thread is fastest, and steady on a busy machine."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def grads():
    return demos.gradient_samples()


@pytest.fixture(scope="module")
def bstudy():
    return demos.baseline_study()


@pytest.fixture(scope="module")
def gstudy():
    return demos.gae_study()


# ---------------------------------------------------------------- 1. Monte Carlo policy gradient
def test_mc_estimate_converges_to_exact_gradient(grads):
    full = demos.mc_gradient_estimate(grads.n_pool, grads)
    assert full.rel_error < 0.05
    assert np.allclose(full.exact, grads.mdp.exact_gradient(grads.theta))
    # the estimate is within a few standard errors of the truth in every component
    assert np.all(np.abs(full.estimate - full.exact) < 4 * full.stderr)


def test_mc_error_shrinks_like_one_over_sqrt_n(grads):
    r = demos.mc_gradient_estimate(64, grads)
    assert np.all(np.diff(r.rmse) < 0)
    assert -0.6 < r.slope < -0.4
    # the measured error follows sqrt(tr Σ / N) closely
    assert np.all(np.abs(np.log(r.rmse / r.theory)) < np.log(1.5))
    assert demos.mc_gradient_estimate(4096, grads).rel_error < demos.mc_gradient_estimate(16, grads).rel_error


@pytest.mark.parametrize("bad", [0, 10**9, 2.5, True])
def test_mc_estimate_rejects_bad_n(grads, bad):
    with pytest.raises(ValueError, match="n="):
        demos.mc_gradient_estimate(bad, grads)


# ---------------------------------------------------------------- 2. returns and gamma
def test_return_traces_by_hand():
    r = demos.return_traces(0.5, [np.array([1.0, 1.0, 1.0]), np.array([0.0, 2.0])])
    assert np.allclose(r.returns[0], [1.75, 1.5, 1.0])
    assert np.allclose(r.returns[1], [1.0, 2.0])  # no leak from one episode into the next
    assert np.allclose(r.g0, [1.75, 1.0])
    assert r.horizon == pytest.approx(2.0)
    assert np.allclose(demos.return_traces(0.0, [np.array([3.0, 4.0])]).returns[0], [3.0, 4.0])
    assert demos.return_traces(1.0, [np.array([1.0])]).horizon == np.inf


def test_return_traces_agree_with_package_and_reject_bad_gamma():
    rewards = demos.sample_episode_rewards(3, seed=4, source="corridor")
    r = demos.return_traces(0.9, rewards)
    for rw, G in zip(rewards, r.returns, strict=True):
        assert np.allclose(G, discounted_returns(rw, 0.9).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="gamma"):
        demos.return_traces(1.5, rewards)
    with pytest.raises(ValueError, match="source"):
        demos.sample_episode_rewards(2, source="pong")


def test_cartpole_rewards_are_seeded():
    a = demos.sample_episode_rewards(4, seed=0)
    b = demos.sample_episode_rewards(4, seed=0)
    c = demos.sample_episode_rewards(4, seed=1)
    assert [len(x) for x in a] == [len(x) for x in b]
    assert [len(x) for x in a] != [len(x) for x in c]
    assert all(np.all(x == 1.0) for x in a)


# ---------------------------------------------------------------- 3. baselines
def test_baseline_variance_is_the_measured_quadratic(bstudy):
    for beta in (0.0, 0.4, 1.0, 1.5):
        r = demos.baseline_variance(beta, bstudy)
        g = bstudy.mdp.mc_gradients(bstudy.theta, bstudy.traj, baseline=beta * bstudy.values)
        assert r.variance == pytest.approx(g.reshape(g.shape[0], -1).var(0, ddof=1).sum(), rel=1e-9)
        assert r.variance == pytest.approx(np.interp(beta, r.betas, r.variance_curve), rel=1e-9)


def test_measured_minimum_is_at_beta_star_and_not_at_one(bstudy):
    r = demos.baseline_variance(0.0, bstudy)
    fine = np.linspace(0.0, 1.5, 151)
    measured = [demos.baseline_variance(b, bstudy).variance for b in fine[::10]]
    assert fine[::10][int(np.argmin(measured))] == pytest.approx(r.beta_star, abs=0.1)
    assert r.variance_star <= min(measured) + 1e-12
    assert r.variance_star < r.variance_one < r.variance_zero
    # β* is not 1, and not by sampling luck: an independent sample agrees
    other = demos.baseline_variance(0.0, demos.baseline_study(n=4000, seed=7, mdp=demos.course_mdp()))
    assert abs(r.beta_star - other.beta_star) < 0.05
    assert r.beta_star < 0.9 and other.beta_star < 0.9
    assert r.beta_star == pytest.approx(demos.optimal_baseline_scale(bstudy.g0, bstudy.h))


def test_exact_mean_does_not_move_with_beta(bstudy):
    for beta in (0.0, 0.7, 1.5):
        r = demos.baseline_variance(beta, bstudy)
        assert np.abs(r.exact_baseline_term).max() < 1e-14
        assert np.allclose(r.exact_mean, r.exact_gradient, atol=1e-14)
    mdp = corridor_mdp()
    theta = np.random.default_rng(0).normal(size=(4, 2))
    assert np.abs(demos.exact_baseline_term(mdp, theta, np.array([5.0, -3.0, 2.0, 7.0]))).max() < 1e-13
    with pytest.raises(ValueError, match="b must have shape"):
        demos.exact_baseline_term(mdp, theta, np.ones(3))


def test_baseline_variance_rejects_bad_beta(bstudy):
    with pytest.raises(ValueError, match=r"beta=-0.5 is outside the allowed range \[0, 3\]"):
        demos.baseline_variance(-0.5, bstudy)


# ---------------------------------------------------------------- 4. GAE
@pytest.mark.parametrize("error", [0.1, 0.3, 0.5])
def test_gae_is_unbiased_at_lambda_one_for_any_critic(gstudy, error):
    r = demos.gae_bias_variance(1.0, error, gstudy)
    assert r.exact_bias < 1e-10
    assert r.bias < 3 * r.noise_floor
    assert r.bias_curve[0] > 10 * r.noise_floor  # ... while λ = 0 is clearly biased
    assert r.exact_bias_curve[0] == pytest.approx(r.bias_curve[0], rel=0.1)


def test_gae_with_the_true_critic_is_unbiased_for_every_lambda(gstudy):
    r = demos.gae_bias_variance(0.5, 0.0, gstudy)
    assert np.all(r.exact_bias_curve < 1e-10)
    for lam in (0.0, 0.5, 1.0):
        s = demos.gae_bias_variance(lam, 0.0, gstudy)
        assert s.bias < 3 * s.noise_floor


def test_gae_variance_grows_with_lambda(gstudy):
    r = demos.gae_bias_variance(0.0, 0.0, gstudy)
    assert np.all(np.diff(r.variance_curve) > 0)
    assert r.variance_curve[-1] > 4 * r.variance_curve[0]
    # at λ = 1 the advantage is G_t − V̂(s_t): its spread given (s, a) does not depend on the critic
    assert demos.gae_bias_variance(1.0, 0.4, gstudy).variance == pytest.approx(r.variance_curve[-1], rel=1e-4)


def test_gae_inputs_reproduce_td_error_and_return_limits(gstudy):
    v_hat = demos.critic_values(gstudy, 0.3)
    inp = demos.gae_inputs(gstudy.traj, v_hat)
    gamma = gstudy.mdp.gamma
    from pgcourse import gae

    a0, _ = gae(inp["rewards"], inp["values"], inp["next_values"], inp["terminated"], None, gamma, 0.0)
    delta = td_errors(inp["rewards"], inp["values"], inp["next_values"], inp["terminated"], gamma)
    assert torch.allclose(a0, delta)
    a1, _ = gae(inp["rewards"], inp["values"], inp["next_values"], inp["terminated"], None, gamma, 1.0)
    G = gstudy.mdp.returns_to_go(gstudy.traj).T
    valid = gstudy.traj.valid.T
    assert np.allclose(a1.numpy()[valid], (G - inp["values"])[valid], atol=1e-5)


def test_exact_lambda_return_limits(gstudy):
    mdp, theta = gstudy.mdp, gstudy.theta
    v_hat = demos.critic_values(gstudy, 0.4)
    assert np.allclose(demos.exact_lambda_return(mdp, theta, v_hat, 1.0), gstudy.Q)
    assert np.allclose(demos.exact_lambda_return(mdp, theta, v_hat, 0.0), mdp.R + mdp.gamma * mdp.P @ v_hat)
    assert np.allclose(demos.exact_lambda_return(mdp, theta, gstudy.V, 0.3), gstudy.Q)


def test_gae_rejects_bad_arguments(gstudy):
    with pytest.raises(ValueError, match="lam=1.5"):
        demos.gae_bias_variance(1.5, 0.1, gstudy)
    with pytest.raises(ValueError, match="critic_error"):
        demos.gae_bias_variance(0.5, -0.1, gstudy)


# ---------------------------------------------------------------- static figures
def test_static_figures_draw_several_parameter_values(grads, bstudy, gstudy):
    fig = demos.static_mc_gradient(samples=grads)
    assert len(fig.axes[0].containers) == 4  # one errorbar per N
    fig = demos.static_return_traces(rewards=demos.sample_episode_rewards(3, seed=0))
    assert len(fig.axes) == 4
    fig = demos.static_baseline_variance(study=bstudy)
    assert len(fig.axes[1].patches) == 4  # one step histogram per β
    fig = demos.static_gae_bias_variance(study=gstudy)
    assert len(fig.axes[1].lines) == 4  # one variance curve per critic error
    styles = {line.get_linestyle() for line in fig.axes[1].lines}
    assert len(styles) == 4  # told apart by line style, not by colour alone


# ---------------------------------------------------------------- widget layer
def _has_png(demo: demos.SliderDemo) -> bool:
    out = demo.figure_output.outputs
    return len(out) == 1 and out[0]["data"]["image/png"].startswith("iVBOR")


def test_mc_demo_slider_recomputes(grads):
    demo = demos.mc_gradient_demo(grads)
    assert demo.slider is demo.n_slider and "N" in demo.n_slider.description
    assert demo.last_result.n == 16 and _has_png(demo)
    demo.n_slider.value = 1024
    assert demo.last_result.n == 1024 and demo.n_updates == 2
    assert "1024" in demo.readout.value
    assert demo.last_result.rel_error == pytest.approx(demos.mc_gradient_estimate(1024, grads).rel_error)


def test_gamma_demo_slider_and_new_trajectories_button():
    demo = demos.gamma_demo(n_trajectories=4, seed=0)
    assert "gamma" in demo.gamma_slider.description
    demo.gamma_slider.value = 0.5
    assert demo.last_result.gamma == 0.5
    assert np.all(demo.last_result.g0 <= 2.0 + 1e-6)  # reward 1 per step: G_0 < 1 / (1 − γ)
    before = [len(x) for x in demo.last_result.rewards]
    demo.new_button.click()
    assert [len(x) for x in demo.last_result.rewards] != before
    assert demo.last_result.gamma == 0.5 and _has_png(demo)


def test_baseline_demo_slider(bstudy):
    demo = demos.baseline_demo(bstudy)
    assert "β" in demo.beta_slider.description
    demo.beta_slider.value = 0.8
    assert demo.last_result.beta == pytest.approx(0.8)
    assert demo.last_result.variance < demo.last_result.variance_zero
    assert "0.80" in demo.readout.value


def test_gae_demo_sliders_follow_the_hand_and_recompute(gstudy):
    demo = demos.gae_demo(gstudy)
    assert demo.lam_slider.continuous_update and demo.error_slider.continuous_update
    assert "λ" in demo.lam_slider.description and "critic error" in demo.error_slider.description
    demo.error_slider.value = 0.3
    demo.lam_slider.value = 1.0
    r = demo.last_result
    assert (r.lam, r.critic_error) == (1.0, pytest.approx(0.3))
    assert r.exact_bias < 1e-10 and _has_png(demo)


def test_hello_demo_reacts():
    demo = demos.hello_demo()
    x, y = demo.last_result
    assert np.allclose(y, np.sin(2 * x))
    demo.k_slider.value = 5
    assert np.allclose(demo.last_result[1], np.sin(5 * x)) and "5" in demo.readout.value
    with pytest.raises(ValueError, match="k="):
        demos.hello_curve(-1)


def test_an_error_during_a_slider_move_is_shown_beside_the_figure():
    import ipywidgets as widgets

    s = widgets.IntSlider(value=1, min=0, max=5)

    def compute(s):
        if s == 3:
            raise ValueError("s=3 is outside the allowed range")
        return s

    demo = demos.SliderDemo({"s": s}, compute, lambda fig, r: fig.subplots().plot([r]), lambda r: f"value {r}")
    s.value = 3
    assert "ValueError" in demo.readout.value and "s=3" in demo.readout.value
    assert demo.last_result == 1
    s.value = 4
    assert demo.readout.value == "value 4"


def test_every_course_slider_updates_while_dragged(grads, bstudy, gstudy):
    built = [demos.hello_demo(), demos.mc_gradient_demo(grads), demos.gamma_demo(), demos.baseline_demo(bstudy),
             demos.gae_demo(gstudy), demos.clip_objective_demo(), demos.kl_estimator_demo()]
    for demo in built:
        for name, control in demo.controls.items():
            assert control.continuous_update, name


def test_the_figure_is_reused_with_a_fixed_layout():
    """One figure per demo; axes keep the first draw's positions; a draw with other axes gets a new layout."""
    s = widgets.IntSlider(value=1, min=1, max=3)

    def draw(fig, n):
        for ax in fig.subplots(1, n, squeeze=False)[0]:
            ax.plot([0, 1], [0, n * 1000])  # longer tick labels as n grows
            ax.set_ylabel("y" * n)

    demo = demos.SliderDemo({"s": s}, lambda s: s, draw, lambda r: f"{r}")
    fig = demo._figure
    first = [ax.get_position().bounds for ax in fig.axes]
    s.value = 1  # unchanged: no update
    demo.update()
    assert demo._figure is fig and [ax.get_position().bounds for ax in fig.axes] == first
    s.value = 2
    assert demo._figure is fig and len(fig.axes) == 2 and fig.get_layout_engine() is not None
    assert [ax.get_position().bounds for ax in fig.axes] != first[:1] * 2
    assert set(demo.last_timing) == {"compute", "draw", "total"} and demo.last_timing["total"] > 0
    assert _has_png(demo)


def test_in_place_demo_blits_over_one_background_per_static_state():
    """refresh moves artists over a kept background; new axis limits render (and keep) a new one; redraw resets."""
    s = widgets.IntSlider(value=1, min=1, max=20)

    def draw(fig, k):
        ax = fig.subplots()
        (line,) = ax.plot([0, 1], [0, k])
        ax.set_ylim(0, 10)
        return [line, ax.title]

    def refresh(artists, k):
        artists[0].set_ydata([0, k])
        artists[1].set_text(f"k = {k}")
        if k > 10:
            artists[0].axes.set_ylim(0, 20)

    demo = demos.SliderDemo({"s": s}, lambda s: s, draw, lambda r: f"{r}", refresh=refresh)
    first = demo.figure_output.outputs[0]["data"]["image/png"]
    s.value = 5
    assert len(demo._backgrounds) == 1 and demo.figure_output.outputs[0]["data"]["image/png"] != first
    assert demo._artists[0].get_animated() and demo._artists[1].get_text() == "k = 5"
    s.value = 15  # the limits change: a second background
    assert len(demo._backgrounds) == 2 and demo._figure.axes[0].get_ylim() == (0, 20)
    demo.prerender([3, 4, 18])  # states already rendered: nothing new, and what is shown stays
    assert len(demo._backgrounds) == 2 and demo.last_result == 15 and demo._artists[1].get_text() == "k = 15"
    demo.redraw()
    assert len(demo._backgrounds) == 1 and demo.n_updates == 4 and _has_png(demo)


def test_keep_limits_changes_rarely_and_rounds_outward():
    fig, (ax,) = demos.widget.static_figure(1, (3, 2))
    ax.set_ylim(0, 10)
    demos.widget.keep_limits(ax, 1.0, 9.0)  # fits and fills 80 %: unchanged
    assert ax.get_ylim() == (0, 10)
    demos.widget.keep_limits(ax, 0.0, 12.3)  # leaves the range: padded, rounded outward to a step of 5
    assert ax.get_ylim() == (0, 15)
    demos.widget.keep_limits(ax, 0.0, 1.0)  # fills under 40 %: shrinks
    assert ax.get_ylim() == (0, 1.5)
