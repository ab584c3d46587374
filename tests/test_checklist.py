"""The checklist before training: each item met / not met / not applicable, from the health report's table."""

import nbformat
import pytest
from test_layout import ROOT

from pgcourse import health
from pgcourse.algorithms import A2CConfig, PPOConfig, ReinforceConfig
from pgcourse.algorithms.ppo import PRESETS
from pgcourse.checklist import ITEMS, STATUSES, checklist


def test_the_course_preset_and_a_bad_config():
    good = health.checklist(PRESETS["CartPole-v1"], "CartPole-v1").status()
    assert good == {
        "advantages": "met", "entropy": "not met", "kl": "not met", "epochs": "met",
        "normalisation": "not applicable", "lr_schedule": "met", "grad_clip": "met", "truncation": "met",
    }
    bad = PPOConfig(adv_norm="none", n_epochs=1, n_minibatches=1, anneal_lr=False, max_grad_norm=100.0)
    report = checklist(bad, "Pendulum-v1")
    assert all(i.status == "not met" for i in report if i.key != "truncation")
    assert {i.key: i.field for i in report.not_met} == {
        "advantages": "adv_norm", "entropy": "ent_coef", "kl": "target_kl", "epochs": "n_epochs",
        "normalisation": "normalize_obs", "lr_schedule": "anneal_lr", "grad_clip": "max_grad_norm",
    }
    assert checklist(PRESETS["Pendulum-v1"], "Pendulum-v1")["normalisation"].status == "met"
    fixed = checklist(PPOConfig(ent_coef=0.01, target_kl=0.03)).status()
    assert fixed["entropy"] == fixed["kl"] == "met" and fixed["normalisation"] == "not applicable"  # no env_id
    assert checklist(PPOConfig(anneal_clip=True))["kl"].status == "met"


def test_every_algorithm_config_is_accepted_and_ppo_only_items_are_not_applicable():
    a2c = checklist(A2CConfig(), "CartPole-v1").status()
    assert a2c["kl"] == a2c["epochs"] == "not applicable" and a2c["advantages"] == "not met"
    rf = checklist(ReinforceConfig(), "CartPole-v1").status()
    assert rf["entropy"] == rf["kl"] == rf["epochs"] == "not applicable" and rf["truncation"] == "met"
    rf_plain = checklist(ReinforceConfig(baseline="none", normalize="returns"), "CartPole-v1")
    assert rf_plain["truncation"].status == "not met" and rf_plain["truncation"].field == "baseline"
    with pytest.raises(TypeError, match="PPOConfig, A2CConfig or ReinforceConfig"):
        checklist({"lr": 1e-3})


def test_statuses_reasons_and_display():
    report = checklist(PPOConfig(), "CartPole-v1")
    assert len(report) == len(ITEMS) == 8 and all(i.status in STATUSES and i.reason for i in report)
    assert sum(i.source == "seed" for i in report) == 4
    html = report._repr_html_()
    assert "<table>" in html and "not met" in html and "<code>ent_coef</code>" in html
    assert "2 not met" in str(report) and "(change target_kl)" in str(report)


def test_one_table_the_checklist_quotes_the_health_reports_fixes_and_thresholds():
    report = checklist(PPOConfig(max_grad_norm=50.0))
    entropy_fix = health.HEALTHY_RANGES["entropy"].fix.split(",")[0]
    assert entropy_fix in report["entropy"].reason and f"{health.ENT_COEF_TYPICAL[1]:g}" in entropy_fix
    assert health.HEALTHY_RANGES["grad_norm"].fix.split(",")[0] in report["grad_clip"].reason
    assert f"target_kl={health.TARGET_KL_SUGGESTED:g}" in report["kl"].reason
    assert f"target_kl={health.TARGET_KL_SUGGESTED:g}" in health.HEALTHY_RANGES["approx_kl"].fix
    assert all(i.watch is None or i.watch in health.HEALTHY_RANGES for i in report)


def test_every_link_points_to_a_heading_that_exists():
    for item in checklist(PPOConfig()):
        nb = nbformat.read(ROOT / "notebooks" / item.notebook, as_version=4)
        headings = {line.lstrip("#").strip() for c in nb.cells if c.cell_type == "markdown"
                    for line in c.source.splitlines() if line.startswith("#")}
        assert item.section in headings, (item.notebook, item.section)
        assert item.link.endswith(f"({item.notebook}#{item.section.replace(' ', '-')})")


def test_plain_reinforce_is_checked_without_error_and_fails_its_four_course_items():
    report = checklist(ReinforceConfig.plain(), env_id="CartPole-v1")
    assert report["grad_clip"].status == "not met" and report["grad_clip"].field == "max_grad_norm"
    assert report["lr_schedule"].status == "not met" and report["lr_schedule"].field == "anneal_lr"
    assert report["advantages"].status == "not met" and report["truncation"].status == "not met"
    assert checklist(ReinforceConfig(max_grad_norm=float("inf")))["grad_clip"].status == "not met"
    assert checklist(ReinforceConfig())["lr_schedule"].status == "met"
