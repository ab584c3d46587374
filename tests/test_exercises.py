"""The exercise checkers accept correct answers, diagnose typical wrong ones, and never raise.

Learner code below is written the way a learner would write it (loops, different
variable names), independently of the mistake tables inside ``pgcourse.exercises``.
"""

from __future__ import annotations

import json
import math
import pathlib

import pytest
import torch

import pgcourse
from pgcourse import exercises as ex
from pgcourse.exercises import (
    CheckResult,
    check_a2c_loss,
    check_approx_kl,
    check_clipped_surrogate,
    check_debug_gae,
    check_debug_ppo_update,
    check_discounted_returns,
    check_explained_variance,
    check_gae,
    check_gaussian_log_prob,
    check_normalized_advantages,
    check_optimal_baseline_scale,
    check_reinforce_loss,
    check_surrogate,
    check_tanh_gaussian_log_prob,
    show_source,
)

CHECKERS = {
    "discounted_returns": check_discounted_returns,
    "reinforce_loss": check_reinforce_loss,
    "normalized_advantages": check_normalized_advantages,
    "optimal_baseline_scale": check_optimal_baseline_scale,
    "gae": check_gae,
    "debug_gae": check_debug_gae,
    "a2c_loss": check_a2c_loss,
    "surrogate": check_surrogate,
    "clipped_surrogate": check_clipped_surrogate,
    "debug_ppo_update": check_debug_ppo_update,
    "gaussian_log_prob": check_gaussian_log_prob,
    "tanh_gaussian_log_prob": check_tanh_gaussian_log_prob,
    "approx_kl": check_approx_kl,
    "explained_variance": check_explained_variance,
}


# ---- correct learner solutions ------------------------------------------------------------


def returns_solution(rewards, gamma, dones):
    out = torch.zeros_like(rewards)
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * (1 - dones[t]) * running
        out[t] = running
    return out


def reinforce_solution(log_probs, returns):
    return -(log_probs * returns.detach()).mean()


def advantages_solution(returns, values):
    adv = returns - values.detach()
    return (adv - adv.mean()) / (adv.std() + 1e-8)


def gae_solution(rewards, values, next_values, terminated, truncated, gamma, lam):
    adv = torch.zeros_like(rewards)
    last = 0.0
    for t in reversed(range(len(rewards))):
        delta = rewards[t] + gamma * (1 - terminated[t]) * next_values[t] - values[t]
        last = delta + gamma * lam * (1 - terminated[t]) * (1 - truncated[t]) * last
        adv[t] = last
    return adv


def surrogate_solution(theta, visitation, advantages):
    total = 0.0
    for s in range(theta.shape[0]):
        probs = torch.exp(theta[s]) / torch.exp(theta[s]).sum()
        total = total + visitation[s] * (probs * advantages[s]).sum()
    return total


def clipped_solution(ratio, advantages, clip_eps):
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * advantages
    return -torch.minimum(unclipped, clipped).mean()


def gaussian_solution(actions, mean, log_std):
    var = torch.exp(2 * log_std)
    per_dim = -((actions - mean) ** 2) / (2 * var) - log_std - 0.5 * math.log(2 * math.pi)
    return per_dim.sum(dim=-1)


def kl_solution(old_log_probs, new_log_probs):
    log_ratio = new_log_probs - old_log_probs
    return ((torch.exp(log_ratio) - 1) - log_ratio).mean()


def ev_solution(values, returns):
    return 1 - (returns - values).var() / returns.var()  # the unbiased variance cancels out


def beta_star_solution(g0, h):
    g0c, hc = g0 - g0.mean(dim=0), h - h.mean(dim=0)
    return (g0c * hc).sum() / (hc * hc).sum()  # the 1/(n − 1) of both moments cancels


def a2c_solution(log_probs, values, entropy, advantages, returns, vf_coef, ent_coef):
    policy_loss = -(log_probs * advantages.detach()).mean()
    value_loss = 0.5 * torch.nn.functional.mse_loss(values, returns)
    return policy_loss + vf_coef * value_loss - ent_coef * entropy.mean()


def tanh_solution(u, mean, log_std):
    log_gauss = torch.distributions.Normal(mean, log_std.exp()).log_prob(u)
    log_det = 2 * (math.log(2) - u - torch.nn.functional.softplus(-2 * u))  # log(1 − tanh² u), stably
    return (log_gauss - log_det).sum(-1)


def ppo_update_solution(params, actions, returns, clip_eps, lr, n_epochs):
    params = params.detach().clone().requires_grad_(True)
    optimizer = torch.optim.SGD([params], lr=lr)
    with torch.no_grad():
        old_log_probs = torch.log_softmax(params[..., :-1], dim=-1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        advantages = returns - params[..., -1]
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    for _ in range(n_epochs):
        logits, values = params[..., :-1], params[..., -1]
        log_probs = torch.log_softmax(logits, dim=-1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        ratio = torch.exp(log_probs - old_log_probs)
        policy_loss = -torch.min(ratio * advantages, torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * advantages).mean()
        loss = policy_loss + 0.5 * ((values - returns) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return params.detach()


SOLUTIONS = {
    "discounted_returns": returns_solution,
    "reinforce_loss": reinforce_solution,
    "normalized_advantages": advantages_solution,
    "optimal_baseline_scale": beta_star_solution,
    "gae": gae_solution,
    "debug_gae": gae_solution,
    "a2c_loss": a2c_solution,
    "surrogate": surrogate_solution,
    "clipped_surrogate": clipped_solution,
    "debug_ppo_update": ppo_update_solution,
    "gaussian_log_prob": gaussian_solution,
    "tanh_gaussian_log_prob": tanh_solution,
    "approx_kl": kl_solution,
    "explained_variance": ev_solution,
}


@pytest.mark.parametrize("name", CHECKERS)
def test_correct_solution_passes(name):
    result = CHECKERS[name](SOLUTIONS[name])
    assert result.passed, str(result)
    assert result and result.mistake is None and result.hint is None
    assert "match the reference" in result.message


def test_package_reference_implementations_pass():
    assert check_discounted_returns(lambda r, g, d: pgcourse.discounted_returns(r, g, d)).passed
    assert check_gae(lambda *args: pgcourse.gae(*args)[0]).passed
    assert check_normalized_advantages(lambda g, v: pgcourse.normalize(g - v)).passed
    assert check_approx_kl(pgcourse.approx_kl).passed
    assert check_explained_variance(pgcourse.explained_variance).passed
    assert check_gaussian_log_prob(lambda a, m, s: torch.distributions.Normal(m, s.exp()).log_prob(a).sum(-1)).passed


def test_scalar_answers_may_be_python_floats_but_losses_may_not():
    assert check_approx_kl(lambda o, n: float(kl_solution(o, n))).passed
    assert check_explained_variance(lambda v, g: ev_solution(v, g).item()).passed
    result = check_reinforce_loss(lambda lp, g: reinforce_solution(lp, g).item())
    assert not result.passed and "no gradient" in result.message


def test_population_std_is_accepted_with_a_note():
    def population(returns, values):
        adv = returns - values.detach()
        return (adv - adv.mean()) / (adv.std(correction=0) + 1e-8)

    result = check_normalized_advantages(population)
    assert result.passed
    assert result.mistake == "population_std" and "population std" in result.hint


# ---- untouched stubs ---------------------------------------------------------------------


def stub(*args):
    raise NotImplementedError


@pytest.mark.parametrize("name", CHECKERS)
def test_untouched_stub_is_not_implemented_yet(name):
    result = CHECKERS[name](stub)
    assert not result.passed
    assert "not implemented yet" in result.message.lower()
    assert result.hint and result.hint.startswith("Implement")
    assert "Traceback" not in str(result)


# ---- typical wrong answers: rejected, and the hint names the mistake ---------------------


def returns_leaking(rewards, gamma, dones):
    out, running = torch.zeros_like(rewards), 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def returns_discounting_now(rewards, gamma, dones):
    out, running = torch.zeros_like(rewards), 0.0
    for t in reversed(range(len(rewards))):
        running = gamma * (rewards[t] + (1 - dones[t]) * running)
        out[t] = running
    return out


def returns_store_before_update(rewards, gamma, dones):
    out, running = torch.zeros_like(rewards), 0.0
    for t in reversed(range(len(rewards))):
        out[t] = running
        running = rewards[t] + gamma * (1 - dones[t]) * running
    return out


def returns_list_not_reversed(rewards, gamma, dones):
    out, running = [], 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * (1 - dones[t]) * running
        out.append(float(running))
    return torch.tensor(out)


def returns_forward_loop(rewards, gamma, dones):
    out, running = torch.zeros_like(rewards), 0.0
    for t in range(len(rewards)):
        running = rewards[t] + gamma * (1 - dones[t]) * running
        out[t] = running
    return out


def returns_normalised(rewards, gamma, dones):
    g = returns_solution(rewards, gamma, dones)
    return (g - g.mean()) / (g.std() + 1e-8)


def gae_truncation_as_termination(rewards, values, next_values, terminated, truncated, gamma, lam):
    done = torch.maximum(terminated, truncated)
    return gae_solution(rewards, values, next_values, done, torch.zeros_like(done), gamma, lam)


def gae_no_terminal_mask(rewards, values, next_values, terminated, truncated, gamma, lam):
    adv, last = torch.zeros_like(rewards), 0.0
    for t in reversed(range(len(rewards))):
        delta = rewards[t] + gamma * next_values[t] - values[t]
        last = delta + gamma * lam * (1 - terminated[t]) * (1 - truncated[t]) * last
        adv[t] = last
    return adv


def gae_leaking(rewards, values, next_values, terminated, truncated, gamma, lam):
    adv, last = torch.zeros_like(rewards), 0.0
    for t in reversed(range(len(rewards))):
        delta = rewards[t] + gamma * (1 - terminated[t]) * next_values[t] - values[t]
        last = delta + gamma * lam * last
        adv[t] = last
    return adv


def gae_next_row(rewards, values, next_values, terminated, truncated, gamma, lam):
    adv, last, T = torch.zeros_like(rewards), 0.0, len(rewards)
    for t in reversed(range(T)):
        v_next = values[t + 1] if t + 1 < T else next_values[t]
        delta = rewards[t] + gamma * (1 - terminated[t]) * v_next - values[t]
        last = delta + gamma * lam * (1 - terminated[t]) * (1 - truncated[t]) * last
        adv[t] = last
    return adv


def gae_returns(rewards, values, next_values, terminated, truncated, gamma, lam):
    return gae_solution(rewards, values, next_values, terminated, truncated, gamma, lam) + values


def advantages_per_env(returns, values):
    adv = returns - values.detach()
    return (adv - adv.mean(dim=0)) / (adv.std(dim=0) + 1e-8)


def advantages_no_detach(returns, values):
    adv = returns - values
    return (adv - adv.mean()) / (adv.std() + 1e-8)


def gaussian_std_denominator(actions, mean, log_std):
    std = log_std.exp()
    return (-((actions - mean) ** 2) / (2 * std) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


def gaussian_no_log_std(actions, mean, log_std):
    return (-((actions - mean) ** 2) / (2 * torch.exp(2 * log_std)) - 0.5 * math.log(2 * math.pi)).sum(-1)


def gae_loop(rewards, values, next_values, terminated, truncated, gamma, lam, *, skip_last, next_row, cut_trunc):
    """The debugging exercise's GAE loop, with each of its three bugs present or fixed."""
    T = len(rewards)
    adv, last = torch.zeros_like(rewards), 0.0
    for t in reversed(range(T - 1 if skip_last else T)):
        v_next = values[t + 1] if next_row and t + 1 < T else next_values[t]
        delta = rewards[t] + gamma * (1 - terminated[t]) * v_next - values[t]
        keep = (1 - terminated[t]) * ((1 - truncated[t]) if cut_trunc else 1)
        last = delta + gamma * lam * keep * last
        adv[t] = last
    return adv


def gae_loop_with(**bugs):
    return lambda *args: gae_loop(*args, **bugs)


def ppo_update_with(*, old_inside, detach, all_elements):
    """The debugging exercise's PPO update, with each of its three bugs present or fixed."""

    def update(params, actions, returns, clip_eps, lr, n_epochs):
        params = params.detach().clone().requires_grad_(True)
        optimizer = torch.optim.SGD([params], lr=lr)

        def log_pi():
            return torch.log_softmax(params[..., :-1], dim=-1).gather(-1, actions[..., None])[..., 0]

        old = log_pi().detach()
        raw = returns - (params[..., -1].detach() if detach else params[..., -1])
        for _ in range(n_epochs):
            log_probs = log_pi()
            if old_inside:
                old = log_probs.detach()
            ratio = (log_probs - old).exp()
            dim = None if all_elements else 0
            adv = (raw - raw.mean(dim=dim, keepdim=dim is not None)) / (
                raw.std(dim=dim, keepdim=dim is not None) + 1e-8
            )
            policy_loss = -torch.min(ratio * adv, ratio.clamp(1 - clip_eps, 1 + clip_eps) * adv).mean()
            loss = policy_loss + 0.5 * ((params[..., -1] - returns) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return params.detach()

    return update


def beta_per_component(g0, h):
    return torch.stack(
        [torch.cov(torch.stack([g0[:, k], h[:, k]]))[0, 1] / h[:, k].var() for k in range(h.shape[1])]
    ).mean()


def beta_mixed_ddof(g0, h):  # torch.cov divides by n − 1, var(correction=0) by n
    return (
        sum(torch.cov(torch.stack([g0[:, k], h[:, k]]))[0, 1] for k in range(h.shape[1])) / h.var(0, correction=0).sum()
    )


def tanh_naive(u, mean, log_std):
    log_gauss = torch.distributions.Normal(mean, log_std.exp()).log_prob(u).sum(-1)
    return log_gauss - torch.log(1 - torch.tanh(u) ** 2 + 1e-6).sum(-1)


def tanh_gauss_at_action(u, mean, log_std):
    a = torch.tanh(u)
    log_det = 2 * (math.log(2) - u - torch.nn.functional.softplus(-2 * u))
    return (torch.distributions.Normal(mean, log_std.exp()).log_prob(a) - log_det).sum(-1)


WRONG = [
    # (exercise, learner function, mistake key, keyword the hint must contain)
    ("discounted_returns", returns_leaking, "ignores_dones", "(1 − done_t)"),
    ("discounted_returns", returns_discounting_now, "discounts_current_reward", "not discounted"),
    ("discounted_returns", returns_store_before_update, "missing_current_reward", "first update"),
    ("discounted_returns", returns_list_not_reversed, "reversed_output", "reverse"),
    ("discounted_returns", returns_forward_loop, "not_reversed", "reversed(range(T))"),
    ("discounted_returns", returns_normalised, "normalised", "raw discounted returns"),
    ("reinforce_loss", lambda lp, g: (lp * g).mean(), "wrong_sign", "minimise"),
    ("reinforce_loss", lambda lp, g: -(lp * g).mean(), "no_detach", "returns.detach()"),
    ("reinforce_loss", lambda lp, g: -(lp * g.detach()).sum(), "sum", "learning rate"),
    ("reinforce_loss", lambda lp, g: -(torch.exp(lp) * g.detach()).mean(), "exp_log_probs", "log"),
    ("normalized_advantages", advantages_per_env, "per_column", "each environment"),
    (
        "normalized_advantages",
        lambda g, v: (lambda a: (a - a.mean(1, keepdim=True)) / a.std(1, keepdim=True))(g - v.detach()),
        "per_row",
        "each time step",
    ),
    ("normalized_advantages", lambda g, v: advantages_solution(v.detach(), g), "wrong_sign", "V − G"),
    ("normalized_advantages", lambda g, v: (g - g.mean()) / (g.std() + 1e-8), "no_baseline", "G − V(s)"),
    ("normalized_advantages", advantages_no_detach, "no_detach", "values.detach()"),
    ("gae", gae_truncation_as_termination, "truncation_as_termination", "bootstrap"),
    ("gae", gae_no_terminal_mask, "no_terminal_mask", "terminal"),
    ("gae", gae_leaking, "leak_everywhere", "next episode"),
    ("gae", gae_next_row, "next_row_values", "next_values[t]"),
    ("gae", gae_returns, "returns_instead", "advantages A_t"),
    ("surrogate", lambda t, d, a: (d[:, None] / d.sum() * t.softmax(-1) * a).sum(), "normalised_visitation", "1"),
    ("surrogate", lambda t, d, a: (t.softmax(-1) * a).sum(), "no_visitation", "d_old(s)"),
    ("surrogate", lambda t, d, a: (d[:, None] * t.softmax(0) * a).sum(), "softmax_over_states", "dim=-1"),
    ("surrogate", lambda t, d, a: (d[:, None] * t.log_softmax(-1) * a).sum(), "log_probabilities", "REINFORCE"),
    ("surrogate", lambda t, d, a: -(d[:, None] * t.softmax(-1) * a).sum(), "wrong_sign", "not a loss"),
    (
        "clipped_surrogate",
        lambda r, a, e: -torch.maximum(r * a, r.clamp(1 - e, 1 + e) * a).mean(),
        "max_instead_of_min",
        "minimum",
    ),
    ("clipped_surrogate", lambda r, a, e: torch.min(r * a, r.clamp(1 - e, 1 + e) * a).mean(), "wrong_sign", "negative"),
    ("clipped_surrogate", lambda r, a, e: -(r * a).mean(), "no_clipping", "clipped term"),
    (
        "clipped_surrogate",
        lambda r, a, e: -torch.min(r * a, r * a.clamp(1 - e, 1 + e)).mean(),
        "clipped_advantage",
        "not the advantage",
    ),
    (
        "clipped_surrogate",
        lambda r, a, e: -torch.min(r * a, r.clamp(-e, e) * a).mean(),
        "clip_around_zero",
        "centred on 1",
    ),
    ("gaussian_log_prob", lambda a, m, s: torch.distributions.Normal(m, s.exp()).log_prob(a), "no_sum", ".sum(-1)"),
    ("gaussian_log_prob", gaussian_no_log_std, "missing_log_std", "−log σ"),
    ("gaussian_log_prob", gaussian_std_denominator, "std_in_denominator", "variance"),
    (
        "gaussian_log_prob",
        lambda a, m, s: (-((a - m) ** 2) / (2 * torch.exp(2 * s)) - s).sum(-1),
        "missing_constant",
        "½ log 2π",
    ),
    ("approx_kl", lambda old, new: (old - new).mean(), "k1", "k1 estimator"),
    ("approx_kl", lambda old, new: ((torch.exp(old - new) - 1) - (old - new)).mean(), "inverted_ratio", "inverse"),
    ("approx_kl", lambda old, new: (torch.exp(new - old) - (new - old)).mean(), "missing_minus_one", "−1"),
    ("approx_kl", lambda old, new: (new - old).mean(), "naive_mean_log_ratio", "wrong sign"),
    ("explained_variance", lambda v, g: 1 - (g - v).var() / v.var(), "divides_by_var_values", "*returns*"),
    ("explained_variance", lambda v, g: (g - v).var() / g.var(), "missing_one_minus", "1 − that"),
    ("explained_variance", lambda v, g: torch.corrcoef(torch.stack([v, g]))[0, 1], "correlation", "Correlation"),
    ("explained_variance", lambda v, g: 1 - ((g - v) ** 2).mean() / g.var(), "uncentred_residual", "MSE"),
    ("optimal_baseline_scale", lambda g0, h: 1 / beta_star_solution(g0, h), "inverted", "denominator"),
    ("optimal_baseline_scale", beta_per_component, "per_component", "sum the covariances"),
    ("optimal_baseline_scale", lambda g0, h: (g0 * h).mean(0).sum() / (h**2).mean(0).sum(), "uncentred", "Centre"),
    ("optimal_baseline_scale", beta_mixed_ddof, "mixed_normalisation", "n − 1"),
    ("optimal_baseline_scale", lambda g0, h: -beta_star_solution(g0, h), "wrong_sign", "minus sign"),
    ("debug_gae", gae_loop_with(skip_last=True, next_row=True, cut_trunc=False), "last_step+next_row+leak", "T − 1"),
    ("debug_gae", gae_loop_with(skip_last=False, next_row=True, cut_trunc=False), "next_row+leak", "*next* episode"),
    ("debug_gae", gae_loop_with(skip_last=False, next_row=False, cut_trunc=False), "leak", "stop the recursion"),
    ("debug_gae", gae_loop_with(skip_last=True, next_row=False, cut_trunc=True), "last_step", "last row"),
    ("debug_gae", gae_loop_with(skip_last=False, next_row=True, cut_trunc=True), "next_row", "wrong bootstrap"),
    (
        "a2c_loss",
        lambda lp, v, e, a, r, cv, ce: -(lp * a.detach()).mean() + cv * 0.5 * ((v - r) ** 2).mean() + ce * e.mean(),
        "entropy_sign",
        "subtracted",
    ),
    (
        "a2c_loss",
        lambda lp, v, e, a, r, cv, ce: (
            -(lp * a.detach()).mean() + cv * torch.nn.functional.mse_loss(v, r) - ce * e.mean()
        ),
        "missing_half",
        "½",
    ),
    (
        "a2c_loss",
        lambda lp, v, e, a, r, cv, ce: -(lp * a).mean() + cv * 0.5 * ((v - r) ** 2).mean() - ce * e.mean(),
        "no_detach",
        "advantages.detach()",
    ),
    (
        "a2c_loss",
        lambda lp, v, e, a, r, cv, ce: a2c_solution(lp, v, e, a, r, ce, cv),
        "swapped_coefficients",
        "vf_coef",
    ),
    (
        "a2c_loss",
        lambda lp, v, e, a, r, cv, ce: -(lp * a.detach()).sum() + cv * 0.5 * ((v - r) ** 2).sum() - ce * e.sum(),
        "sum",
        "learning rate",
    ),
    (
        "debug_ppo_update",
        ppo_update_with(old_inside=True, detach=False, all_elements=False),
        "old_after_update+wrong_axis",
        "before the first optimizer step",
    ),
    (
        "debug_ppo_update",
        ppo_update_with(old_inside=False, detach=False, all_elements=False),
        "no_detach+wrong_axis",
        "constants",
    ),
    ("debug_ppo_update", ppo_update_with(old_inside=False, detach=True, all_elements=False), "wrong_axis", "T·N"),
    ("debug_ppo_update", ppo_update_with(old_inside=False, detach=False, all_elements=True), "no_detach", "V(s)"),
    ("debug_ppo_update", ppo_update_with(old_inside=True, detach=True, all_elements=True), "old_after_update", "ratio"),
    (
        "tanh_gaussian_log_prob",
        lambda u, m, s: torch.distributions.Normal(m, s.exp()).log_prob(u).sum(-1),
        "no_correction",
        "1 − tanh² u",
    ),
    ("tanh_gaussian_log_prob", tanh_gauss_at_action, "gaussian_at_action", "evaluate log N(u"),
    ("tanh_gaussian_log_prob", tanh_naive, "unstable_correction", "softplus"),
    (
        "tanh_gaussian_log_prob",
        lambda u, m, s: (
            tanh_solution(u, m, s)
            + (2 * (math.log(2) - u - torch.nn.functional.softplus(-2 * u))).sum(-1)
            - (2 * (math.log(2) - u - torch.nn.functional.softplus(-2 * u))).sum()
        ),
        "correction_summed_over_batch",
        "last axis",
    ),
]


@pytest.mark.parametrize(("name", "fn", "key", "keyword"), WRONG, ids=[f"{w[0]}-{w[2]}" for w in WRONG])
def test_typical_mistake_is_rejected_and_named(name, fn, key, keyword):
    result = CHECKERS[name](fn)
    assert not result.passed, str(result)
    assert result.mistake == key, str(result)
    assert keyword in result.hint, result.hint
    assert result.message.startswith("Not yet")
    assert "expected:" in result.details and "got:" in result.details


def test_at_least_three_typical_mistakes_per_checker():
    counts = {name: sum(w[0] == name for w in WRONG) for name in CHECKERS}
    assert min(counts.values()) >= 3, counts


def test_hint_points_at_the_step_where_the_boundary_is():
    result = check_discounted_returns(returns_leaking)
    assert "At step 1 an episode ends" in result.hint  # the case has done = 1 at step 1
    result = check_gae(gae_truncation_as_termination)
    assert "At step 4 the episode was *truncated*" in result.hint
    result = check_gae(gae_no_terminal_mask)
    assert "At step 2 the episode terminated" in result.hint


@pytest.mark.parametrize("name", list(ex.EXERCISES))
def test_every_known_mistake_is_diagnosed_as_itself(name):
    """Each variant in the table is rejected (or, if acceptable, passed) and matched to its own key.

    This guards the case design: if two mistakes became indistinguishable on the cases,
    or a mistake coincided with the reference, this test would fail.
    """
    exercise = ex.EXERCISES[name]
    assert CHECKERS[name](exercise.reference).passed
    for mistake in exercise.mistakes:
        for variant in mistake.variants:
            result = CHECKERS[name](variant)
            assert result.passed == mistake.acceptable, (mistake.key, str(result))
            assert result.mistake == mistake.key, (mistake.key, str(result))


def test_unknown_wrong_answer_reports_index_expected_and_got():
    result = check_discounted_returns(lambda r, g, d: r * 1.1)
    assert not result.passed and result.mistake is None
    assert "differs from the reference" in result.message
    assert "at index 2: expected 3, got 3.3" in result.message  # latest differing step of "one short episode"
    assert "G_t = r_t + γ(1 − done_t)·G_{t+1}" in result.hint

    result = check_approx_kl(lambda old, new: (new - old).abs().mean())
    assert not result.passed and "expected" in result.message and "got" in result.message


def test_gradient_cut_from_the_graph_is_explained():
    result = check_reinforce_loss(lambda lp, g: -(lp.detach() * g).mean())
    assert not result.passed
    assert "no gradient reaches `log_probs`" in result.message
    assert ".item()" in result.hint


# ---- errors and wrong outputs never escape ---------------------------------------------------


def raises_value_error(*args):
    raise ValueError("something <went> wrong")


@pytest.mark.parametrize("name", CHECKERS)
def test_exception_in_learner_code_is_one_friendly_message(name):
    result = CHECKERS[name](raises_value_error)
    assert not result.passed
    assert result.message == "Your function raised ValueError: something <went> wrong"
    assert "Traceback" not in str(result)
    assert "&lt;went&gt;" in result._repr_html_()


@pytest.mark.parametrize("name", CHECKERS)
def test_wrong_shape_is_reported(name):
    result = CHECKERS[name](lambda *args: torch.zeros(7, 7, requires_grad=True) * 1.0)
    assert not result.passed
    assert "shape (7, 7)" in result.message and "expected shape" in result.message


@pytest.mark.parametrize(
    ("fn", "phrase"),
    [
        (lambda r, g, d: None, "returned None"),
        (lambda r, g, d: (r, r), "returned a tuple"),
        (lambda r, g, d: [1.0, 2.0, 3.0], "returned a list"),
        (lambda r, g, d: torch.zeros(3, dtype=torch.long), "dtype torch.int64"),
        (lambda r, g: r, "raised TypeError"),
        (lambda r, g, d: r.add_(0.0).mul_(2.0), "changed its input `rewards` in place"),
        (lambda r, g, d: r[torch.arange(len(r)) + 1], "raised IndexError"),
    ],
)
def test_wrong_output_types_are_explained(fn, phrase):
    result = check_discounted_returns(fn)
    assert not result.passed
    assert phrase in result.message, result.message
    assert result.hint


def test_wrong_argument_count_hint_lists_the_arguments():
    result = check_gae(lambda rewards, values, gamma: rewards)
    assert "raised TypeError" in result.message
    assert "(rewards, values, next_values, terminated, truncated, gamma, lam)" in result.hint


def test_passing_a_result_instead_of_a_function():
    result = check_approx_kl(0.3)
    assert not result.passed and "expects your function itself" in result.message


def test_checks_are_deterministic():
    first, second = check_gae(gae_leaking), check_gae(gae_leaking)
    assert (first.message, first.hint, first.details) == (second.message, second.hint, second.details)


# ---- the verdict's display --------------------------------------------------------------------


def test_check_result_renders_green_and_red_boxes():
    good = check_gae(gae_solution)
    bad = check_gae(gae_leaking)
    assert "#2e7d32" in good._repr_html_() and "✔" in good._repr_html_()
    assert "#c62828" in bad._repr_html_() and "Hint" in bad._repr_html_()
    assert str(good).startswith("✔ PASSED [gae]")
    assert str(bad).startswith("✘ NOT YET [gae]") and "Hint:" in str(bad)
    assert repr(bad) == str(bad)
    assert bool(good) and not bool(bad)


def test_check_result_escapes_html():
    result = CheckResult("x", False, "a <script> b", hint="c & d", details="e > f")
    html = result._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "c &amp; d" in html and "e &gt; f" in html


# ---- show_source ----------------------------------------------------------------------------


def test_show_source_of_a_function():
    view = show_source(pgcourse.gae)
    assert str(view).startswith("def gae(")
    assert "pgcourse.returns.gae" in repr(view)
    html = view._repr_html_()
    assert "pgcourse/returns.py, line" in html
    assert "<span" in html and "style=" in html  # syntax-highlighted with inline styles (survives HTML export)


def test_show_source_of_a_class_and_a_method():
    assert str(show_source(CheckResult)).startswith("@dataclass")
    assert str(show_source(CheckResult._repr_html_)).startswith("def _repr_html_(self)")  # dedented


@pytest.mark.parametrize("obj", [len, 3, torch.zeros(2)])
def test_show_source_rejects_objects_without_source(obj):
    with pytest.raises(TypeError, match="show_source needs"):
        show_source(obj)


def test_surrogate_reference_is_the_tabular_surrogate_and_its_gradient_is_the_policy_gradient():
    import numpy as np

    from pgcourse.exercises.trust import surrogate_reference
    from pgcourse.toy import DEFAULT_THETA, course_mdp

    mdp = course_mdp()
    new = DEFAULT_THETA + 0.3
    new[1, 0] -= 1.0
    d, adv = (torch.tensor(x) for x in (mdp.visitation(DEFAULT_THETA), mdp.advantages(DEFAULT_THETA)))
    assert float(surrogate_reference(torch.tensor(new), d, adv)) == pytest.approx(mdp.surrogate(DEFAULT_THETA, new))
    theta = torch.tensor(DEFAULT_THETA, requires_grad=True)
    surrogate_reference(theta, d, adv).backward()
    assert np.allclose(theta.grad.numpy(), mdp.exact_gradient(DEFAULT_THETA), atol=1e-14)


# ---- the new exercises: derivation, debugging, squashed Gaussian ----------------------------


NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"


def _notebook_function(notebook: str, name: str):
    """The function ``name`` as defined by the notebook's own exercise cell (the code the learner starts from)."""
    cells = json.loads((NOTEBOOKS / notebook).read_text())["cells"]
    (source,) = [
        "".join(c["source"]) for c in cells if c["cell_type"] == "code" and f"def {name}(" in "".join(c["source"])
    ]
    namespace: dict = {"torch": torch}  # the notebooks import torch in their first cell
    exec(source, namespace)
    return namespace[name]


@pytest.mark.parametrize(
    ("notebook", "name", "checker", "key"),
    [
        ("04_gae.ipynb", "my_gae_loop", check_debug_gae, "last_step+next_row+leak"),
        ("07_ppo.ipynb", "my_ppo_update", check_debug_ppo_update, "old_after_update+wrong_axis"),
    ],
)
def test_the_notebooks_buggy_code_has_all_its_bugs_diagnosed(notebook, name, checker, key):
    result = checker(_notebook_function(notebook, name))
    assert not result.passed and result.mistake == key, str(result)
    assert result.message.startswith(("Not yet: 3 of the 3 bugs remain", "Not yet: 2 of the 3 bugs remain"))


def test_a_bug_hidden_by_another_is_announced_not_named():
    result = check_debug_ppo_update(ppo_update_with(old_inside=True, detach=False, all_elements=True))
    assert result.mistake == "old_after_update"  # with r ≡ 1 the missing detach changes nothing
    assert "whether “the policy loss trains the critic” is fixed shows only once" in result.message
    assert "before the first optimizer step" in result.hint and "Fix it" in result.hint


def test_debugging_hints_come_one_at_a_time():
    result = check_debug_gae(gae_loop_with(skip_last=True, next_row=True, cut_trunc=False))
    assert "3 of the 3 bugs remain" in result.message
    assert "last row" in result.hint and "recursion" not in result.hint  # only the first bug's hint


def test_beta_star_reference_equals_the_baseline_demos_closed_form():
    from pgcourse import demos
    from pgcourse.exercises.advantages import optimal_baseline_scale

    study = demos.baseline_study(n=500)
    n = study.g0.shape[0]
    mine = optimal_baseline_scale(torch.as_tensor(study.g0.reshape(n, -1)), torch.as_tensor(study.h.reshape(n, -1)))
    assert float(mine) == pytest.approx(demos.optimal_baseline_scale(study.g0, study.h), rel=1e-12)


def test_tanh_reference_equals_torch_transformed_distribution_and_stays_finite():
    from torch.distributions import Independent, Normal, TanhTransform, TransformedDistribution

    from pgcourse.exercises.continuous import tanh_gaussian_log_prob

    g = torch.Generator().manual_seed(0)
    u, mean, log_std = (
        torch.randn(64, 3, generator=g),
        torch.randn(64, 3, generator=g),
        0.3 * torch.randn(3, generator=g),
    )
    plain = TransformedDistribution(Independent(Normal(mean, log_std.exp()), 1), [TanhTransform()])  # no cache: atanh
    assert torch.allclose(tanh_gaussian_log_prob(u, mean, log_std), plain.log_prob(torch.tanh(u)), atol=1e-4)
    saturated = tanh_gaussian_log_prob(torch.tensor([[12.0]]), torch.zeros(1, 1), torch.zeros(1))
    assert torch.isfinite(saturated).all() and torch.tanh(torch.tensor(12.0)) == 1.0  # naive log(1 − tanh²) = −inf
    assert float(saturated) == pytest.approx(
        -0.5 * 144 - 0.5 * math.log(2 * math.pi) + 2 * 12 - 2 * math.log(2), abs=1e-3
    )


def test_the_course_has_at_least_twelve_exercises_two_of_them_debugging():
    assert len(ex.EXERCISES) >= 12
    assert sum(name.startswith("debug_") for name in ex.EXERCISES) >= 2
    assert set(CHECKERS) == set(ex.EXERCISES)
