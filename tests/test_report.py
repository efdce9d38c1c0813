"""The claims report: verdicts from hand-made results, missing data never passes."""
import json

import numpy as np
import pytest

from utils import report
from utils.experiments import FigureSettings, per_seed_and_mean, write_results

ROWS, COLS = ["U^σ", "U", "B^σ", "B"], ["U^σ", "U", "𝒰", "B^σ", "B", "R^σ"]


def kl_matrix(own_u=0.2, own_b=0.1):
    #                U^σ   U    𝒰    B^σ   B    R^σ
    m = np.array([[own_u, 2.0, 0.15, 3.0, 3.0, 4.0],   # active U^σ
                  [1.0, 0.3, 0.5, 2.0, 2.5, 3.0],     # active U
                  [2.0, 2.0, 1.5, own_b, 1.0, 3.0],   # active B^σ
                  [2.0, 2.5, 1.5, 1.0, 0.4, 3.0]])    # active B
    return {"kl_rows": ROWS, "kl_cols": COLS, "kl_matrix": per_seed_and_mean({0: m, 1: m + 0.01})}


def write(tmp_path, name, results):
    write_results(name, results, FigureSettings.create("smoke", [0, 1], "cpu", tmp_path))


def rows_by_id(tmp_path):
    return {r["id"]: r for r in report.evaluate_claims("smoke", tmp_path)}


def test_every_claim_has_a_check():
    claims = report.load_claims()
    assert len(claims) == len({c["id"] for c in claims}) == 24
    for c in claims:
        assert hasattr(report, f"check_{c['check']}"), c["id"]


def test_theory_rows_are_counted_and_shown_apart_from_the_paper_claims():
    rows = [{"id": "a", "figure": "fig1", "statement": "s", "threshold": "t", "value": "v", "per_seed": {},
             "verdict": "passed"},
            {"id": "b", "figure": "ext_score", "statement": "s", "threshold": "t", "value": "v", "per_seed": {},
             "verdict": "failed", "group": "theory"}]
    assert report.summary_line(rows) == "1 passed, 0 failed (theory predictions beyond the paper: 0 passed, 1 failed)"
    md = report.to_markdown(rows, "smoke")
    assert md.index("## Claims of the paper") < md.index("| [a]") < md.index("## Beyond the paper") < md.index("| [b]")
    assert report.summary_line(rows[:1]) == "1 passed, 0 failed"
    assert {c["id"].startswith("ext-") for c in report.load_claims() if report.group_of(c) == "theory"} == {True}


def test_missing_results_are_missing_not_passed(tmp_path):
    rows = report.evaluate_claims("smoke", tmp_path)
    assert {r["verdict"] for r in rows} == {"missing"}
    assert report.summary_line(rows) == "0 passed, 0 failed, 15 missing (theory predictions beyond the paper: 0 passed, 0 failed, 8 missing)"


def test_fig2_verdicts_follow_the_thresholds(tmp_path):
    variance = {k: per_seed_and_mean({0: v, 1: v}) for k, v in
                [("noisy_unbiased", 0.4), ("noiseless_unbiased", 0.01), ("noisy_biased", 0.1), ("noiseless_biased", 0.02)]}
    write(tmp_path, "fig2", kl_matrix() | {"total_variance": variance})
    r = rows_by_id(tmp_path)
    assert r["fig2-unbiased"]["verdict"] == "passed"       # 0.205 ≤ 0.155 + 0.1
    assert r["fig2-biased"]["verdict"] == "passed"         # 0.105 ≤ 0.25 × 1.505
    assert r["fig2-diverge"]["verdict"] == "passed"
    assert r["fig2-noiseless"]["verdict"] == "passed"
    assert r["fig2-explore"]["verdict"] == "passed"
    assert set(r["fig2-unbiased"]["per_seed"]) == {"0", "1"}

    write(tmp_path, "fig2", kl_matrix(own_u=0.5, own_b=0.6) | {"total_variance": variance})
    r = rows_by_id(tmp_path)
    assert r["fig2-unbiased"]["verdict"] == "failed"       # 0.505 > 0.255
    assert r["fig2-biased"]["verdict"] == "failed"
    assert r["fig2-diverge"]["verdict"] == "passed"        # 3.005 ≥ 1.515


def test_fig1_all_seeds_must_pass(tmp_path):
    ev = per_seed_and_mean({0: np.linspace(0.5, 0.9, 10), 1: np.linspace(0.5, 0.9, 10)})
    base = {"ev_active": ev, "ev_max_abs_diff": per_seed_and_mean({0: 0.05, 1: 0.08}),
            "final_decode_error": per_seed_and_mean({0: 0.01, 1: 0.03})}
    write(tmp_path, "fig1", base | {"final_test_loss": per_seed_and_mean({0: 1e-5, 1: 2e-5})})
    r = rows_by_id(tmp_path)
    assert r["fig1-trained"]["verdict"] == "failed"   # seed 1's decoding error 0.03 > 0.02
    assert r["fig1-low-dim"]["verdict"] == "passed"


def test_supplementary_checks(tmp_path):
    kl = {k: per_seed_and_mean({0: v}) for k, v in [("unbiased", 0.2), ("biased", 0.1), ("uniform_vs_unbiased", 0.15),
          ("uniform_vs_biased", 1.0), ("unbiased_q_vs_biased_a", 2.0), ("random_vs_biased", 3.0)]}
    write(tmp_path, "figC1", {"kl": kl})
    write(tmp_path, "figC2", {"kl": kl | {"biased": per_seed_and_mean({0: 0.3})}})
    sd = {b: {"NT quiescent": {"median": 0.01}, "DT noisy quiescent": {"median": m}} for b, m in
          [("unbiased", 0.05), ("biased", 0.02)]}
    write(tmp_path, "figC4", {"step_distance": sd})
    av = {"quiescent_biased": per_seed_and_mean({0: 0.015, 1: 0.012}),
          "quiescent_unbiased": per_seed_and_mean({0: 0.001, 1: -0.001})}
    write(tmp_path, "figC5", {"angular_velocity_mean": av})
    r = rows_by_id(tmp_path)
    assert r["figC1-same-noise"]["verdict"] == "passed"
    assert r["figC2-gru"]["verdict"] == "failed"      # 0.3 > 0.25 × 1.0
    assert r["figC4-erratic"]["verdict"] == "failed"  # biased: 0.02 < 3 × 0.01
    assert r["figC5-ccw"]["verdict"] == "passed"


def test_report_files_are_written(tmp_path):
    write(tmp_path, "fig3", {"bearing_kl": per_seed_and_mean({0: 0.05, 1: 0.07}),
                             "bearing_kl_untrained": per_seed_and_mean({0: 0.5, 1: 0.6})})
    assert report.main("smoke", tmp_path) == 0
    md = (tmp_path / "smoke" / "report.md").read_text()
    summary = "1 passed, 0 failed, 14 missing (theory predictions beyond the paper: 0 passed, 0 failed, 8 missing)"
    assert "fig3-hd" in md and md.strip().endswith(summary)
    data = json.loads((tmp_path / "smoke" / "report.json").read_text())
    assert data["summary"] == summary
    assert (data["preset"], data["variant"], data["seeds"]) == ("smoke", "default", [0, 1])
    row = next(r for r in data["claims"] if r["id"] == "fig3-hd")
    assert {"id", "figure", "verdict", "value", "per_seed"} <= set(row) and row["seeds"] == [0, 1]
    assert (tmp_path / "smoke" / "report.html").exists()


def test_fig3_threshold_is_absolute(tmp_path):
    """The untrained network is reported beside the trained value but does not gate it (see claims.yaml)."""
    write(tmp_path, "fig3", {"bearing_kl": per_seed_and_mean({0: 0.05, 1: 0.07}),
                             "bearing_kl_untrained": per_seed_and_mean({0: 0.01, 1: 0.01})})
    assert rows_by_id(tmp_path)["fig3-hd"]["verdict"] == "passed"
    write(tmp_path, "fig3", {"bearing_kl": per_seed_and_mean({0: 0.15, 1: 0.07}),
                             "bearing_kl_untrained": per_seed_and_mean({0: 0.5, 1: 0.5})})
    assert rows_by_id(tmp_path)["fig3-hd"]["verdict"] == "failed"   # mean 0.11 > 0.1


def steps(active_p99, quiescent_p99, active_jumps=None, quiescent_jumps=None) -> dict:
    """A `step_lengths` entry of fig1/fig3 results from per-seed values."""
    def stats(p99, jumps):
        out = {"p99": per_seed_and_mean(dict(enumerate(p99)))}
        return out | ({"jump_fraction": per_seed_and_mean(dict(enumerate(jumps)))} if jumps else {})
    return {"active": stats(active_p99, active_jumps), "quiescent": stats(quiescent_p99, quiescent_jumps)}


def test_fig1_smooth_needs_every_seed(tmp_path):
    write(tmp_path, "fig1", {"step_lengths": steps([0.16, 0.17], [0.2, 0.25], [0.004, 0.004], [0.01, 0.012])})
    assert rows_by_id(tmp_path)["fig1-smooth"]["verdict"] == "passed"   # 0.012 ≤ 2 × 0.004 + 0.005; 0.25 ≤ 1.5 × 0.17
    write(tmp_path, "fig1", {"step_lengths": steps([0.16, 0.17], [0.2, 0.26], [0.004, 0.004], [0.01, 0.012])})
    assert rows_by_id(tmp_path)["fig1-smooth"]["verdict"] == "failed"   # seed 1: 0.26 > 1.5 × 0.17
    write(tmp_path, "fig1", {"step_lengths": steps([0.16, 0.17], [0.2, 0.25], [0.004, 0.004], [0.014, 0.01])})
    assert rows_by_id(tmp_path)["fig1-smooth"]["verdict"] == "failed"   # seed 0: 0.014 > 0.013


def test_fig3_trained_and_smooth(tmp_path):
    errors = {"noisy_unbiased": per_seed_and_mean({0: 0.05, 1: 0.06}), "noisy_biased": per_seed_and_mean({0: 0.07, 1: 0.03})}
    write(tmp_path, "fig3", {"step_lengths": steps([0.4, 0.5], [0.6, 0.7]), "final_decode_error": errors})
    r = rows_by_id(tmp_path)
    assert (r["fig3-trained"]["verdict"], r["fig3-smooth"]["verdict"]) == ("passed", "passed")
    errors["noisy_biased"] = per_seed_and_mean({0: 0.0701, 1: 0.03})
    write(tmp_path, "fig3", {"step_lengths": steps([0.4, 0.5], [0.61, 0.7]), "final_decode_error": errors})
    r = rows_by_id(tmp_path)
    assert (r["fig3-trained"]["verdict"], r["fig3-smooth"]["verdict"]) == ("failed", "failed")


def test_variance_scale_is_reported_never_passed_or_failed(tmp_path):
    variance = {k: per_seed_and_mean({0: v, 1: v}) for k, v in
                [("noisy_unbiased", 0.4), ("noiseless_unbiased", 0.01), ("noisy_biased", 0.1), ("noiseless_biased", 0.002)]}
    write(tmp_path, "fig2", kl_matrix() | {"total_variance": variance})
    rows = report.evaluate_claims("smoke", tmp_path)
    row = next(r for r in rows if r["id"] == "fig2-variance-scale")
    assert row["verdict"] == "reported" and "2 of 4 within" in row["value"]
    assert report.summary_line(rows).startswith("5 passed, 0 failed, 10 missing; 1 reported without a verdict")
    md = report.to_markdown(rows, "smoke")
    assert md.index("## Claims of the paper") < md.index("## Reported beside") < md.index("| [fig2-variance-scale]")


def test_constant_drive_prediction(tmp_path):
    default, as_written = list(report.C.CONSTANT_DRIVE_MODELS)[:2]

    def model(error, q_p99):
        return {"homogeneity_error": {"2": per_seed_and_mean({0: error, 1: error})},
                "steps_active": {"p99": per_seed_and_mean({0: 0.2, 1: 0.2})},
                "steps_quiescent": {"p99": per_seed_and_mean({0: q_p99, 1: q_p99})}}
    task = {default: model(0.05, 0.25), as_written: model(0.0, 1.7)}
    write(tmp_path, "ext_constant_drive", {"spatial": task, "head_direction": task})
    assert rows_by_id(tmp_path)["ext-constant-drive"]["verdict"] == "passed"
    task = {default: model(0.05, 0.31), as_written: model(0.0, 1.7)}   # with the bias, 0.31 > 1.5 × 0.2
    write(tmp_path, "ext_constant_drive", {"spatial": task, "head_direction": task})
    assert rows_by_id(tmp_path)["ext-constant-drive"]["verdict"] == "failed"


def test_show_claims_prints_the_figure_rows(tmp_path, capsys):
    write(tmp_path, "fig3", {"bearing_kl": per_seed_and_mean({0: 0.05, 1: 0.07}),
                             "bearing_kl_untrained": per_seed_and_mean({0: 0.5, 1: 0.6})})
    rows = report.show_claims("fig3", FigureSettings.create("smoke", [0, 1], "cpu", tmp_path))
    assert [r["id"] for r in rows] == ["fig3-trained", "fig3-smooth", "fig3-hd"]
    out = capsys.readouterr().out
    assert "fig3-hd: PASSED" in out and "threshold: mean ≤ 0.1 nats" in out and "seed 1: 0.07" in out
