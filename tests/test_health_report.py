"""The automatic health report: each failure flagged on a synthetic history, healthy runs left alone."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pgcourse.algorithms import HISTORY_KEYS, TrainResult, train_ppo
from pgcourse.health import HEALTHY_RANGES, Finding, HealthReport, health_report

N = 200
STEPS_PER_UPDATE = 256


def healthy_columns(n: int = N, seed: int = 0) -> dict[str, np.ndarray]:
    """A healthy PPO-like run: return rising to 500, the LR annealed to 0 and KL / clip fraction with it."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / n
    lr_frac = 1.0 - t  # linear annealing, as in the trainers
    return {
        "update": np.arange(1, n + 1, dtype=float),
        "env_steps": STEPS_PER_UPDATE * np.arange(1, n + 1, dtype=float),
        "episodes": np.arange(n, dtype=float),
        "time": 0.1 * np.arange(1, n + 1, dtype=float),
        "mean_return": 20 + 480 / (1 + np.exp(-(t - 0.35) * 15)),
        "policy_loss": rng.normal(0, 0.01, n),
        "value_loss": 20 * np.exp(-6 * t) + 0.01,
        "entropy": 0.69 - 0.4 * t + rng.normal(0, 0.01, n),
        "approx_kl": np.abs(0.015 * lr_frac + rng.normal(0, 0.004, n)) * lr_frac,
        "clip_fraction": np.clip(0.15 * lr_frac + rng.normal(0, 0.03, n), 0, 1) * lr_frac,
        "explained_variance": np.clip(0.8 + rng.normal(0, 0.1, n), -1, 1),
        "grad_norm": np.exp(rng.normal(0, 0.3, n)),
        "lr": 2e-3 * lr_frac,
    }


def history(cols: dict[str, np.ndarray]) -> list[dict[str, float]]:
    n = len(cols["update"])
    return [{k: float(cols[k][i]) if k in cols else math.nan for k in HISTORY_KEYS} for i in range(n)]


def only(report: HealthReport, metric: str) -> list[Finding]:
    """The findings about ``metric``, after checking that no other metric was flagged."""
    others = [f for f in report.findings if f.metric != metric]
    assert not others, f"unexpected findings: {[str(f) for f in others]}"
    return report.for_metric(metric)


# ---------------------------------------------------------------- healthy runs stay quiet
def test_healthy_history_with_annealed_lr_is_quiet():
    cols = healthy_columns()
    # as the LR anneals to 0, KL and clip fraction fall to ~0: below their "healthy range", but not a problem
    assert cols["approx_kl"][-20:].max() < 1e-3 and cols["clip_fraction"][-20:].max() < 0.02
    report = health_report(history(cols))
    assert report.ok, str(report)
    assert report.findings == [] and len(report) == 0
    assert report.checked == ("approx_kl", "clip_fraction", "entropy", "explained_variance", "grad_norm")
    assert "Healthy" in str(report) and "Healthy" in report._repr_html_()


@pytest.mark.parametrize("seed", range(5))
def test_healthy_history_is_quiet_for_other_noise(seed):
    assert health_report(history(healthy_columns(seed=seed))).ok


def test_low_values_are_never_flagged_one_sided_rules():
    cols = healthy_columns()
    cols["approx_kl"][:] = 0.0
    cols["clip_fraction"][:] = 0.0
    cols["grad_norm"][100:] *= 0.01  # a shrinking gradient is not a spike
    assert health_report(history(cols)).ok


def test_ev_near_zero_with_a_small_value_loss_is_not_lag():
    # CartPole at the time limit: the returns of a rollout barely vary, EV is noise around 0,
    # but the critic is accurate (its loss fell a thousandfold)
    cols = healthy_columns()
    cols["explained_variance"][100:] = np.random.default_rng(1).normal(-0.05, 0.3, N - 100)
    cols["value_loss"][100:] = 0.005
    assert health_report(history(cols)).ok


def test_entropy_collapse_after_the_return_reached_its_best_late_in_the_run_is_fine():
    cols = healthy_columns()
    cols["entropy"][150:] = 0.01
    assert cols["mean_return"][150] > 0.99 * cols["mean_return"].max()
    assert health_report(history(cols)).ok


# ---------------------------------------------------------------- each failure is flagged
def test_kl_too_high_is_a_problem_with_when_value_cause_and_fix():
    cols = healthy_columns()
    cols["approx_kl"][100:130] = 0.2  # updates 101-130
    report = health_report(history(cols))
    assert not report.ok
    (f,) = only(report, "approx_kl")
    assert f.severity == "problem"
    assert 101 <= f.update <= 105 and f.env_steps == f.update * STEPS_PER_UPDATE
    assert 130 <= f.until_update <= 134
    assert f.value == pytest.approx(0.2, rel=0.05)
    assert "too large" in f.cause and "lr" in f.fix
    assert str(f.update) in str(report) and "approx KL" in report._repr_html_()


def test_kl_slightly_above_range_is_a_warning():
    cols = healthy_columns()
    cols["approx_kl"][60:90] = 0.07
    (f,) = only(health_report(history(cols)), "approx_kl")
    assert f.severity == "warning" and 0.05 < f.value < 0.1


def test_clip_fraction_too_high_is_flagged():
    cols = healthy_columns()
    cols["clip_fraction"][80:110] = 0.6
    (f,) = only(health_report(history(cols)), "clip_fraction")
    assert f.severity == "problem" and 81 <= f.update <= 84
    assert "ε" in f.cause and "clip_eps" in f.fix
    # the advice matches notebook 07's measurement: lr is the lever, a larger ε does not lower the fraction
    assert f.fix.startswith("lower lr") and "n_minibatches" in f.fix and "n_epochs" in f.fix
    assert "raise clip_eps (" not in f.fix and "does not lower it" in f.fix and "too tight" not in f.cause


def test_entropy_collapse_while_the_return_is_low_is_premature_convergence():
    cols = healthy_columns()
    cols["entropy"][40:] = 0.02  # ~3% of the initial entropy, from update 41 on
    cols["mean_return"][40:] = 30.0  # ... and the agent stops improving
    (f,) = only(health_report(history(cols)), "entropy")
    assert f.severity == "problem" and 41 <= f.update <= 45
    assert f.value == pytest.approx(0.02, abs=1e-3)
    assert "premature" in f.cause and "ent_coef" in f.fix


def gaussian_columns(sigma_end: float, returns: np.ndarray) -> dict[str, np.ndarray]:
    """A Pendulum-like run (1-D actions in [-2, 2]) whose σ narrows from 1 to ``sigma_end``."""
    cols = healthy_columns()
    sigma = np.exp(np.linspace(0.0, math.log(sigma_end), N))
    cols["entropy"] = 0.5 * np.log(2 * math.pi * math.e * sigma**2)  # the Gaussian's entropy: negative for σ < 0.24
    cols["mean_return"] = returns
    cols["act_dim"], cols["action_range"] = np.ones(N), np.full(N, 4.0)
    return cols


def test_a_narrowing_gaussian_that_keeps_improving_raises_nothing():
    cols = gaussian_columns(0.15, np.linspace(-1200, -200, N))
    # the old rule (a fraction of the initial entropy) flagged this: 20% at t = 0.7, negative from t = 0.87
    assert cols["entropy"][int(0.8 * N)] < 0.2 * cols["entropy"][0] and cols["entropy"][-1] < 0
    assert health_report(history(cols)).ok


def test_a_gaussian_collapsing_while_the_return_is_low_is_flagged():
    returns = np.full(N, -1200.0)
    returns[20:30] = -1000.0  # a brief better stretch, then no progress
    cols = gaussian_columns(0.005, returns)  # σ ends at 0.1% of the range
    (f,) = only(health_report(history(cols)), "entropy")
    assert f.severity == "problem" and "premature" in f.cause


def test_categorical_entropy_is_judged_against_log_of_the_number_of_actions():
    cols = healthy_columns()
    cols["n_actions"] = np.full(N, 2.0)
    cols["entropy"][:] = 0.05  # collapsed from the very first update: the initial entropy cannot tell
    cols["mean_return"][:] = 30.0
    (f,) = only(health_report(history(cols)), "entropy")
    assert f.severity == "problem" and "7% of the reference" in f.observed


def test_negative_explained_variance_with_a_stuck_critic_is_value_lag():
    cols = healthy_columns()
    cols["explained_variance"][50:90] = -0.5
    cols["value_loss"][50:90] = 20.0  # the critic's error is back at its initial level
    (f,) = only(health_report(history(cols)), "explained_variance")
    assert f.severity == "problem" and 51 <= f.update <= 55
    assert f.value == pytest.approx(-0.5)
    assert "critic" in f.cause and "vf_coef" in f.fix


def test_a_short_dip_of_explained_variance_is_not_flagged():
    cols = healthy_columns()
    cols["explained_variance"][50:55] = -0.5  # one window only: the critic catching up with a fast-moving policy
    cols["value_loss"][50:55] = 20.0
    assert health_report(history(cols)).ok


def test_grad_norm_spike_is_flagged():
    cols = healthy_columns()
    cols["grad_norm"][120:126] *= 50.0
    (f,) = only(health_report(history(cols)), "grad_norm")
    assert f.severity == "problem" and 121 <= f.update <= 126
    assert f.value > 30 and "instability" in f.cause
    cols = healthy_columns()
    cols["grad_norm"][120:126] *= 15.0
    (f,) = only(health_report(history(cols)), "grad_norm")
    assert f.severity == "warning"


def test_repeated_isolated_grad_norm_spikes_are_flagged():
    cols = healthy_columns()
    cols["grad_norm"][[100, 106, 112, 118]] *= 50.0  # one per window: the rolling median never sees them
    (f,) = only(health_report(history(cols)), "grad_norm")
    assert f.severity == "problem" and 112 <= f.update <= 113 and f.value > 20
    assert "repeated spikes" in HEALTHY_RANGES["grad_norm"].problem_text


@pytest.mark.parametrize("n_spikes", [1, 2])
def test_one_or_two_gradient_outliers_are_not_flagged(n_spikes):
    cols = healthy_columns()
    cols["grad_norm"][[100, 110][:n_spikes]] *= 50.0
    assert health_report(history(cols)).ok


def test_every_failure_at_once_gives_one_finding_per_metric_in_time_order():
    cols = healthy_columns()
    cols["approx_kl"][100:130] = 0.2
    cols["clip_fraction"][80:110] = 0.6
    cols["grad_norm"][150:156] *= 50.0
    report = health_report(history(cols))
    assert [f.metric for f in report.findings] == ["clip_fraction", "approx_kl", "grad_norm"]
    assert report.problems == report.findings and report.warnings == []
    assert "3 problems" in str(report)
    assert [f.metric for f in report.for_metric("grad_norm")] == ["grad_norm"]
    assert report.for_metric("entropy") == []


# ---------------------------------------------------------------- warm-up, window, NaN, inputs
def test_warmup_excludes_the_start_of_the_run():
    cols = healthy_columns()
    cols["approx_kl"][5:15] = 0.3  # updates 6-15, inside the default 10% warm-up (20 updates)
    assert health_report(history(cols)).ok
    (f,) = only(health_report(history(cols), warmup=0.0), "approx_kl")
    assert f.update == 6


def test_window_smooths_a_single_noisy_update():
    cols = healthy_columns()
    cols["clip_fraction"][100] = 0.9  # one update: averaged over 5 it stays below 0.3
    assert health_report(history(cols)).ok
    assert health_report(history(cols), window=1).for_metric("clip_fraction")


def test_nan_metrics_are_skipped():
    cols = healthy_columns()
    cols["clip_fraction"][:] = math.nan  # A2C and REINFORCE have no clip fraction
    cols["approx_kl"][:] = math.nan
    report = health_report(history(cols))
    assert report.ok and report.not_tracked == ("approx_kl", "clip_fraction")
    assert "not tracked" in str(report)
    cols["entropy"][40:] = 0.02
    cols["mean_return"][40:] = 30.0
    assert [f.metric for f in health_report(history(cols)).findings] == ["entropy"]


def test_accepts_a_train_result_and_records_with_missing_keys():
    cols = healthy_columns()
    cols["approx_kl"][100:130] = 0.2
    result = TrainResult(policy=None, config=None, seed=0, env_id="CartPole-v1", history=history(cols))
    assert health_report(result).for_metric("approx_kl")
    sparse = [{"update": r["update"], "approx_kl": r["approx_kl"]} for r in history(cols)]
    report = health_report(sparse)
    assert [f.metric for f in report.findings] == ["approx_kl"] and report.findings[0].env_steps is None


def test_bad_input_fails_clearly():
    with pytest.raises(ValueError, match="history is empty"):
        health_report([])
    with pytest.raises(TypeError, match="TrainResult or a history"):
        health_report(42)
    with pytest.raises(ValueError, match=r"warmup=1.5 is outside the allowed range \[0, 1\)"):
        health_report(history(healthy_columns()), warmup=1.5)
    with pytest.raises(ValueError, match="window=0 is outside"):
        health_report(history(healthy_columns()), window=0)
    with pytest.raises(KeyError, match="no rule checks 'kl'"):
        health_report(history(healthy_columns())).for_metric("kl")


def test_healthy_ranges_table_shows_the_thresholds_the_rules_use():
    assert list(HEALTHY_RANGES) == ["approx_kl", "clip_fraction", "entropy", "explained_variance", "grad_norm"]
    kl = HEALTHY_RANGES["approx_kl"]
    assert (kl.warning, kl.problem) == (0.05, 0.1) and "0.1 (problem)" in kl.problem_text
    assert "10%" in HEALTHY_RANGES["entropy"].problem_text
    table = HEALTHY_RANGES._repr_html_()
    assert table.count("<tr>") == 1 + len(HEALTHY_RANGES)
    for row in HEALTHY_RANGES.rows():
        assert all(cell and cell in repr(HEALTHY_RANGES) for cell in row)
    assert HEALTHY_RANGES.bands()["approx_kl"] == (0.01, 0.05)
    with pytest.raises(KeyError, match="no healthy range for 'loss'"):
        HEALTHY_RANGES["loss"]


def test_report_html_is_a_table_of_findings():
    cols = healthy_columns()
    cols["approx_kl"][100:130] = 0.2
    html = health_report(history(cols))._repr_html_()
    assert "<table>" in html and "problem" in html and "suggested fix" in html and "updates 10" in html


# ---------------------------------------------------------------- a real run
@pytest.mark.learning
def test_default_ppo_run_on_cartpole_is_healthy():
    result = train_ppo("CartPole-v1", seed=0, progress=False)
    assert result.metric("mean_return")[-1] >= 475
    # the tuned run anneals its LR: the last updates have a KL far below the "typical" 0.01
    assert np.mean(result.metric("approx_kl")[-10:]) < 0.01
    report = health_report(result)
    assert report.ok, str(report)
    assert report.checked == ("approx_kl", "clip_fraction", "entropy", "explained_variance", "grad_norm")
