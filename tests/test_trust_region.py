"""Trust-region maths on the tabular MDP: the lemma, the surrogate, KL, Fisher, natural gradient, CG, TRPO, PPO."""

import numpy as np
import pytest

from pgcourse import trust_region as tr
from pgcourse.toy import DEFAULT_THETA, corridor_mdp, course_mdp

THETA = np.array([[0.3, -0.2], [0.0, 0.5], [-0.4, 0.1], [0.2, 0.2]])
STEP = np.array([[0.5, -1.0], [0.7, 0.2], [-0.3, 0.9], [1.1, -0.4]])


def _fd_grad(f, theta, h=1e-5):
    g = np.zeros_like(theta)
    for idx in np.ndindex(theta.shape):
        e = np.zeros_like(theta)
        e[idx] = h
        g[idx] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g


def _fd_hessian(f, x, h=1e-4):
    n = x.size
    H = np.zeros((n, n))
    flat = x.ravel()

    def at(i, j, di, dj):
        y = flat.copy()
        y[i] += di
        y[j] += dj
        return f(y.reshape(x.shape))

    for i in range(n):
        for j in range(n):
            H[i, j] = (at(i, j, h, h) - at(i, j, h, -h) - at(i, j, -h, h) + at(i, j, -h, -h)) / (4 * h * h)
    return H


@pytest.fixture(params=[("course", None), ("corridor", 0.95), ("undiscounted", 1.0)])
def mdp(request):
    kind, gamma = request.param
    return course_mdp() if kind == "course" else corridor_mdp(gamma=gamma)


def test_performance_difference_lemma_to_float_precision(mdp):
    for scale in (0.1, 1.0, 5.0):
        new = THETA + scale * STEP
        gap = mdp.objective(new) - mdp.objective(THETA)
        assert mdp.performance_difference(THETA, new) == pytest.approx(gap, abs=1e-13)
    assert mdp.performance_difference(THETA, THETA) == pytest.approx(0.0, abs=1e-15)


def test_visitation_total_is_the_expected_discounted_length_not_one_over_one_minus_gamma():
    mdp = course_mdp()
    d = mdp.visitation(THETA)
    pi = mdp.policy(THETA)
    q = 1 - np.einsum("sa,sat->s", pi, mdp.P)  # termination probability per state
    expected_gamma_T = mdp.gamma * d @ q
    assert d.sum() == pytest.approx((1 - expected_gamma_T) / (1 - mdp.gamma), rel=1e-12)
    assert d.sum() < 1 / (1 - mdp.gamma)
    assert np.isclose(mdp.state_weights(THETA).sum(), 1.0)


def test_surrogate_matches_value_and_gradient_at_theta_old_and_is_second_order_off(mdp):
    assert mdp.surrogate(THETA, THETA) == pytest.approx(0.0, abs=1e-15)
    fd = _fd_grad(lambda th: mdp.surrogate(THETA, th), THETA)
    assert np.allclose(fd, mdp.exact_gradient(THETA), atol=1e-8)
    assert np.allclose(tr.surrogate_gradient(mdp, THETA, THETA), mdp.exact_gradient(THETA), atol=1e-14)
    far = THETA + STEP
    assert np.allclose(tr.surrogate_gradient(mdp, THETA, far), _fd_grad(lambda th: mdp.surrogate(THETA, th), far),
                       atol=1e-8)
    # the gap to the true improvement is second order: halving the step quarters it
    gaps = [abs(mdp.surrogate(THETA, THETA + a * STEP) - (mdp.objective(THETA + a * STEP) - mdp.objective(THETA)))
            for a in (1e-2, 5e-3)]
    assert gaps[0] / gaps[1] == pytest.approx(4.0, rel=0.02)


def test_mean_kl_zero_at_theta_old_positive_elsewhere_and_gradient(mdp):
    assert mdp.mean_kl(THETA, THETA) == pytest.approx(0.0, abs=1e-15)
    assert mdp.mean_kl(THETA, THETA + STEP) > 0
    # a constant added to a state's logits changes no policy
    assert mdp.mean_kl(THETA, THETA + np.array([[1.0], [-2.0], [3.0], [0.5]])) == pytest.approx(0.0, abs=1e-14)
    far = THETA + STEP
    assert np.allclose(tr.mean_kl_gradient(mdp, THETA, far), _fd_grad(lambda th: mdp.mean_kl(THETA, th), far),
                       atol=1e-8)


def test_fisher_is_the_hessian_of_the_mean_kl_and_has_one_null_direction_per_state(mdp):
    F = mdp.fisher(THETA)
    assert F.shape == (8, 8) and np.allclose(F, F.T)
    H = _fd_hessian(lambda th: mdp.mean_kl(THETA, th), THETA)
    assert np.allclose(F, H, atol=1e-6)
    w = np.linalg.eigvalsh(F)
    assert np.sum(w < 1e-12) == mdp.n_states and np.all(w > -1e-14)
    # the null directions: a constant per state
    for s in range(mdp.n_states):
        v = np.zeros((4, 2))
        v[s] = 1.0
        assert np.allclose(F @ v.ravel(), 0)
    # F = E[score score^T] by its definition
    pi, rho = mdp.policy(THETA), mdp.state_weights(THETA)
    F_def = np.zeros((8, 8))
    for s in range(4):
        for a in range(2):
            score = np.zeros((4, 2))
            score[s] = np.eye(2)[a] - pi[s]
            F_def += rho[s] * pi[s, a] * np.outer(score.ravel(), score.ravel())
    assert np.allclose(F, F_def, atol=1e-15)


def test_natural_gradient_closed_form_and_every_solution(mdp):
    nat = mdp.natural_gradient(THETA)
    d, adv = mdp.visitation(THETA), mdp.advantages(THETA)
    # the pseudo-inverse's (minimum-norm) solution, exactly: (Σ d) (A − mean_a A)
    assert np.allclose(nat, d.sum() * (adv - adv.mean(1, keepdims=True)), atol=1e-12)
    # every solution of F x = g is (Σ d) A + a constant per state; (Σ d) A itself is one
    F, g = mdp.fisher(THETA), mdp.exact_gradient(THETA).ravel()
    assert np.allclose(F @ (d.sum() * adv).ravel(), g, atol=1e-14)
    diff = nat - d.sum() * adv
    assert np.allclose(diff, diff[:, :1])  # constant within each state: the null space
    assert np.allclose(mdp.policy(THETA + nat), mdp.policy(THETA + d.sum() * adv))
    # minimum norm: orthogonal to the null space
    assert np.allclose(nat.sum(1), 0, atol=1e-12)


def test_three_actions_closed_form():
    """The closed form holds for more than two actions (an MDP with a third, 'stay' action)."""
    base = course_mdp()
    S = base.n_states
    P = np.concatenate([base.P, np.eye(S)[:, None, :] * 0.9], axis=1)  # stay: 10 % chance the episode ends
    R = np.concatenate([base.R, np.zeros((S, 1))], axis=1)
    from pgcourse.toy import TabularMDP

    mdp = TabularMDP(P, R, base.mu, base.gamma)
    theta = np.array([[0.1, 0.4, -0.3], [0.0, 0.2, 0.5], [0.3, -0.1, 0.0], [-0.2, 0.6, 0.1]])
    d, adv = mdp.visitation(theta), mdp.advantages(theta)
    assert np.allclose(mdp.natural_gradient(theta), d.sum() * (adv - adv.mean(1, keepdims=True)), atol=1e-12)
    H = _fd_hessian(lambda th: mdp.mean_kl(theta, th), theta)
    assert np.allclose(mdp.fisher(theta), H, atol=1e-6)
    new = theta + 0.7 * mdp.natural_gradient(theta)
    assert mdp.performance_difference(theta, new) == pytest.approx(mdp.objective(new) - mdp.objective(theta),
                                                                   abs=1e-13)


def test_fisher_vector_product_and_conjugate_gradient_match_the_pseudo_inverse(mdp):
    F = mdp.fisher(THETA)
    v = STEP
    assert np.allclose(tr.fisher_vector_product(mdp, THETA, v).ravel(), F @ v.ravel(), atol=1e-15)
    g = mdp.exact_gradient(THETA)
    cg = tr.conjugate_gradient(lambda x: tr.fisher_vector_product(mdp, THETA, x), g, n_iters=20)
    assert np.allclose(cg.x, mdp.natural_gradient(THETA), atol=1e-9)
    # at most one iteration per distinct non-zero eigenvalue of F (4 states, 2 actions: 4 of them)
    assert cg.n_iters <= 4 + 1


def test_trpo_step_respects_the_kl_radius_and_improves_the_surrogate():
    mdp = course_mdp()
    for delta in (1e-3, 1e-2, 0.1, 1.0):
        step = tr.trpo_step(mdp, DEFAULT_THETA, delta=delta)
        assert step.accepted and step.mean_kl <= delta + 1e-15 and step.surrogate > 0
        # the full step sits on the quadratic KL model's radius
        F = mdp.fisher(DEFAULT_THETA)
        assert 0.5 * step.full_step.ravel() @ F @ step.full_step.ravel() == pytest.approx(delta, rel=1e-9)
        assert step.true_improvement == pytest.approx(mdp.objective(step.theta) - mdp.objective(DEFAULT_THETA))
    # from a policy that prefers "left", the quadratic model under-estimates the exact KL: the search backs off
    left = np.tile([0.0, -1.0], (4, 1))
    step = tr.trpo_step(mdp, left, delta=0.01)
    assert step.n_backtracks == 1 and step.kls[0] > 0.01 >= step.mean_kl and step.fraction == 0.5
    assert step.surrogate > 0 and step.true_improvement > 0


def test_clipped_objective_value_and_gradient():
    mdp = course_mdp()
    far = DEFAULT_THETA + 3 * STEP
    assert tr.clipped_objective(mdp, DEFAULT_THETA, DEFAULT_THETA) == pytest.approx(0.0, abs=1e-15)
    # a huge clip range is the surrogate itself
    assert tr.clipped_objective(mdp, DEFAULT_THETA, far, 10.0) == pytest.approx(mdp.surrogate(DEFAULT_THETA, far))
    assert tr.clipped_objective(mdp, DEFAULT_THETA, far, 0.2) <= mdp.surrogate(DEFAULT_THETA, far)
    for th in (DEFAULT_THETA + 0.3 * STEP, far):
        fd = _fd_grad(lambda x: tr.clipped_objective(mdp, DEFAULT_THETA, x, 0.2), th)
        assert np.allclose(tr.clipped_objective_gradient(mdp, DEFAULT_THETA, th, 0.2), fd, atol=1e-7)


def test_exact_gradient_steps_never_hurt_on_the_tabular_softmax():
    """Along the exact gradient each state's term of the lemma is Σ_a w_a e^{αw_a}/Z ≥ 0 with Σ_a w_a = 0."""
    mdp = course_mdp()
    c = tr.step_curves(mdp, DEFAULT_THETA, mdp.exact_gradient(DEFAULT_THETA), np.linspace(0, 100, 51))
    assert np.all(c.true_improvement >= -1e-15) and np.all(np.diff(c.mean_kl) > 0)
    assert c.at(0.0)["alpha"] == 0.0
    assert all(abs(v) < 1e-15 for k, v in c.at(0.0).items() if k != "alpha")


def test_ppo_updates_and_the_kl_coefficient_rule():
    mdp = course_mdp()
    small = tr.ppo_clip_update(mdp, DEFAULT_THETA, clip_eps=0.2, lr=1.0, n_epochs=10)
    big = tr.ppo_clip_update(mdp, DEFAULT_THETA, clip_eps=0.2, lr=100.0, n_epochs=10)
    assert big.mean_kl > 10 * small.mean_kl  # the clip bounds no KL
    pen = tr.ppo_penalty_update(mdp, DEFAULT_THETA, kl_coef=1.0, lr=10.0, n_epochs=50)
    strong = tr.ppo_penalty_update(mdp, DEFAULT_THETA, kl_coef=10.0, lr=1.0, n_epochs=50)
    assert strong.mean_kl < pen.mean_kl and pen.surrogates[-1] > 0 and len(pen.kls) == 50
    assert tr.adapt_kl_coef(1.0, 0.1, 0.01) == 2.0
    assert tr.adapt_kl_coef(1.0, 0.001, 0.01) == 0.5
    assert tr.adapt_kl_coef(1.0, 0.01, 0.01) == 1.0


def test_natural_step_is_invariant_to_rescaling_the_parameters_vanilla_is_not():
    mdp = course_mdp()
    scale = np.array([[1.0, 3.0], [0.5, 2.0], [1.0, 1.0], [4.0, 0.25]])
    ones = np.ones((4, 2))
    for alpha in (0.1, 1.0):
        nat_1 = mdp.policy(tr.reparametrised_step(mdp, DEFAULT_THETA, ones, alpha, natural=True))
        nat_c = mdp.policy(tr.reparametrised_step(mdp, DEFAULT_THETA, scale, alpha, natural=True))
        van_1 = mdp.policy(tr.reparametrised_step(mdp, DEFAULT_THETA, ones, alpha, natural=False))
        van_c = mdp.policy(tr.reparametrised_step(mdp, DEFAULT_THETA, scale, alpha, natural=False))
        assert np.allclose(nat_1, nat_c, atol=1e-12)
        assert not np.allclose(van_1, van_c, atol=1e-3)
    assert np.allclose(tr.reparametrised_step(mdp, DEFAULT_THETA, ones, 1.0, True),
                       DEFAULT_THETA + mdp.natural_gradient(DEFAULT_THETA))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m: tr.trpo_step(m, DEFAULT_THETA, delta=0.0), r"delta=0.0 is outside the allowed range \(0, 10\]"),
        (lambda m: tr.trpo_step(m, DEFAULT_THETA, delta=-1), "delta=-1 is outside"),
        (lambda m: tr.trpo_step(m, DEFAULT_THETA, backtrack=1.5), "backtrack=1.5 is outside"),
        (lambda m: tr.clipped_objective(m, DEFAULT_THETA, DEFAULT_THETA, clip_eps=0), "clip_eps=0 is outside"),
        (lambda m: tr.ppo_clip_update(m, DEFAULT_THETA, lr=float("nan")), "lr=nan is outside"),
        (lambda m: tr.ppo_penalty_update(m, DEFAULT_THETA, kl_coef=-1.0), r"kl_coef=-1.0 is outside .*\[0, "),
        (lambda m: tr.conjugate_gradient(lambda v: v, np.ones(3), n_iters=0), "n_iters=0 is outside"),
        (lambda m: tr.adapt_kl_coef(1.0, 0.1, target_kl=0), "target_kl=0 is outside"),
        (lambda m: m.mean_kl(DEFAULT_THETA, np.zeros(3)), r"theta must have shape \(S, A\)"),
        (lambda m: m.fisher(np.zeros((4, 3))), r"theta must have shape \(S, A\) = \(4, 2\)"),
        (lambda m: tr.fisher_vector_product(m, DEFAULT_THETA, np.zeros(8)), r"v must have shape \(S, A\)"),
        (lambda m: tr.reparametrised_step(m, DEFAULT_THETA, np.zeros((4, 2)), 1.0, True), "scale must be"),
        (lambda m: tr.kl_step_size(m, DEFAULT_THETA, np.ones((4, 2)), 0.01), "no KL curvature"),
    ],
)
def test_bad_input_raises_value_error_naming_it(call, match):
    with pytest.raises(ValueError, match=match):
        call(course_mdp())
