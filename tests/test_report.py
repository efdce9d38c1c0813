"""The claims report: verdicts from hand-made results, missing data never passes, a failing check is an error."""
import json
import re
from pathlib import Path

import numpy as np
import pytest

from utils import registry, report
from utils.figures import ext_constant_drive
from utils.__main__ import main as cli
from utils.figures.base import per_seed_and_mean, write_results
from utils.settings import RunSettings

from conftest import settings_for

ROOT = Path(__file__).resolve().parent.parent

ROWS, COLS = ["U^σ", "U", "B^σ", "B"], ["U^σ", "U", "𝒰", "B^σ", "B", "R^σ"]


def kl_matrix(own_u=0.2, own_b=0.1):
    #                U^σ   U    𝒰    B^σ   B    R^σ
    m = np.array([[own_u, 2.0, 0.15, 3.0, 3.0, 4.0],   # active U^σ
                  [1.0, 0.3, 0.5, 2.0, 2.5, 3.0],     # active U
                  [2.0, 2.0, 1.5, own_b, 1.0, 3.0],   # active B^σ
                  [2.0, 2.5, 1.5, 1.0, 0.4, 3.0]])    # active B
    return {"kl_rows": ROWS, "kl_cols": COLS, "kl_matrix": per_seed_and_mean({0: m, 1: m + 0.01})}


def write(tmp_path, name, results):
    write_results(name, results, settings_for(tmp_path, [0, 1]))


def rows_by_id(tmp_path):
    return {r["id"]: r for r in report.evaluate_claims(RunSettings("smoke", outputs_dir=str(tmp_path)))}


def group_sizes() -> tuple[int, int]:
    """How many claims of the paper and how many theory rows claims.yaml holds (a new figure's claim adds one)."""
    claims = report.load_claims()
    return (sum(report.group_of(c) == "paper" for c in claims), sum(report.group_of(c) == "theory" for c in claims))


def test_every_claim_has_a_check_and_every_check_a_claim():
    claims = report.load_claims()
    assert len(claims) == len({c["id"] for c in claims})
    assert set(report.CHECKS) == {c["id"] for c in claims}
    for c in claims:   # every figure a claim is measured on is made by a notebook
        registry.by_figure(c["figure"])
    fig3 = report.claims_for(registry.notebook("fig3_head_direction").figure)
    assert [c["id"] for c in fig3] == ["fig3-trained", "fig3-smooth", "fig3-hd"]
    assert report.claims_for(registry.notebook("explore").figure) == []


def test_each_figure_module_holds_the_checks_of_its_own_claims():
    from utils import registry
    claims = report.load_claims()
    for module in registry.MODULES:
        own = {c["id"] for c in claims if c["figure"] == module.NOTEBOOK.figure and c.get("group") != "inferred"}
        assert set(module.CHECKS) == own, module.__name__


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
    rows = report.evaluate_claims(RunSettings("smoke", outputs_dir=str(tmp_path)))
    assert {r["verdict"] for r in rows} == {"missing"}
    paper, theory = group_sizes()
    assert report.summary_line(rows) == (f"0 passed, 0 failed, {paper} not run in this set (theory predictions "
                                         f"beyond the paper: 0 passed, 0 failed, {theory} not run in this set)")


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
    write(tmp_path, "fig1", fig1_results(**base, final_test_loss=per_seed_and_mean({0: 1e-5, 1: 2e-5})))
    r = rows_by_id(tmp_path)
    assert r["fig1-trained"]["verdict"] == "failed"   # seed 1's decoding error 0.03 > 0.02
    assert r["fig1-low-dim"]["verdict"] == "passed"


def test_supplementary_checks(tmp_path):
    kl = {k: per_seed_and_mean({0: v}) for k, v in [("unbiased", 0.2), ("biased", 0.1), ("uniform_vs_unbiased", 0.15),
          ("uniform_vs_biased", 1.0), ("unbiased_q_vs_biased_a", 2.0), ("random_vs_biased", 3.0)]}
    rest = {"conditions": {}, "quiescent_noise": "same", "quiescent_noise_std": {}}
    write(tmp_path, "figC1", {"kl": kl} | rest)
    write(tmp_path, "figC2", {"kl": kl | {"biased": per_seed_and_mean({0: 0.3})}} | rest)
    def pooled(median):
        return {"per_seed": {"0": [median], "1": [median]}, "median": median, "mean": median}
    sd = {b: {"NT quiescent": pooled(0.01), "DT noisy quiescent": pooled(m)} for b, m in
          [("unbiased", 0.05), ("biased", 0.02)]}
    write(tmp_path, "figC4", {"step_distance": sd, "share_beyond_paper_axis": {}, "quiescent_noise_std": {}})
    av = {"quiescent_biased": per_seed_and_mean({0: 0.015, 1: 0.012}),
          "quiescent_unbiased": per_seed_and_mean({0: 0.001, 1: -0.001})}
    write(tmp_path, "figC5", {"angular_velocity_mean": av, "angular_velocity_sd": {}, "share_beyond_paper_axis": {},
                              "example_steps": {}, "quiescent_noise_std": 0.14})
    r = rows_by_id(tmp_path)
    assert r["figC1-same-noise"]["verdict"] == "passed"
    assert r["figC2-gru"]["verdict"] == "failed"      # 0.3 > 0.25 × 1.0
    assert r["figC4-erratic"]["verdict"] == "failed"  # biased: 0.02 < 3 × 0.01
    assert r["figC5-ccw"]["verdict"] == "passed"


def test_report_files_are_written(tmp_path):
    write(tmp_path, "fig3", fig3_results())
    assert report.main(RunSettings("smoke", outputs_dir=str(tmp_path))) == 0
    md = (tmp_path / "smoke" / "report.md").read_text()
    paper, theory = group_sizes()
    summary = (f"3 passed, 0 failed, {paper - 3} not run in this set (theory predictions beyond the paper: 0 passed, "
               f"0 failed, {theory} not run in this set)")
    assert "fig3-hd" in md and md.strip().endswith(summary)
    data = json.loads((tmp_path / "smoke" / "report.json").read_text())
    assert data["summary"] == summary
    assert (data["preset"], data["variant"], data["seeds"]) == ("smoke", "default", [0, 1])
    row = next(r for r in data["claims"] if r["id"] == "fig3-hd")
    assert {"id", "figure", "verdict", "value", "per_seed"} <= set(row) and row["seeds"] == [0, 1]
    assert row["params"] == {"max_mean_kl": 0.1} and row["threshold"] == "mean ≤ 0.1 nats"
    assert (tmp_path / "smoke" / "report.html").exists()


def test_fig3_threshold_is_absolute(tmp_path):
    """The untrained network is reported beside the trained value but does not gate it (see claims.yaml)."""
    write(tmp_path, "fig3", fig3_results(bearing_kl=per_seed_and_mean({0: 0.05, 1: 0.07}),
                                         bearing_kl_untrained=per_seed_and_mean({0: 0.01, 1: 0.01})))
    assert rows_by_id(tmp_path)["fig3-hd"]["verdict"] == "passed"
    write(tmp_path, "fig3", fig3_results(bearing_kl=per_seed_and_mean({0: 0.15, 1: 0.07}),
                                         bearing_kl_untrained=per_seed_and_mean({0: 0.5, 1: 0.5})))
    assert rows_by_id(tmp_path)["fig3-hd"]["verdict"] == "failed"   # mean 0.11 > 0.1


def steps(active_p99, quiescent_p99, active_jumps=None, quiescent_jumps=None) -> dict:
    """A `step_lengths` entry of fig1/fig3 results from per-seed values."""
    def stats(p99, jumps):
        out = {"p99": per_seed_and_mean(dict(enumerate(p99)))}
        return out | ({"jump_fraction": per_seed_and_mean(dict(enumerate(jumps)))} if jumps else {})
    return {"active": stats(active_p99, active_jumps), "quiescent": stats(quiescent_p99, quiescent_jumps)}


def test_fig1_smooth_needs_every_seed(tmp_path):
    write(tmp_path, "fig1", fig1_results(step_lengths=steps([0.16, 0.17], [0.2, 0.25], [0.004, 0.004], [0.01, 0.012])))
    assert rows_by_id(tmp_path)["fig1-smooth"]["verdict"] == "passed"   # 0.012 ≤ 2 × 0.004 + 0.005; 0.25 ≤ 1.5 × 0.17
    write(tmp_path, "fig1", fig1_results(step_lengths=steps([0.16, 0.17], [0.2, 0.26], [0.004, 0.004], [0.01, 0.012])))
    assert rows_by_id(tmp_path)["fig1-smooth"]["verdict"] == "failed"   # seed 1: 0.26 > 1.5 × 0.17
    write(tmp_path, "fig1", fig1_results(step_lengths=steps([0.16, 0.17], [0.2, 0.25], [0.004, 0.004], [0.014, 0.01])))
    assert rows_by_id(tmp_path)["fig1-smooth"]["verdict"] == "failed"   # seed 0: 0.014 > 0.013


def test_fig3_trained_and_smooth(tmp_path):
    errors = {"noisy_unbiased": per_seed_and_mean({0: 0.05, 1: 0.06}), "noisy_biased": per_seed_and_mean({0: 0.07, 1: 0.03})}
    write(tmp_path, "fig3", fig3_results(step_lengths=steps([0.4, 0.5], [0.6, 0.7]), final_decode_error=errors))
    r = rows_by_id(tmp_path)
    assert (r["fig3-trained"]["verdict"], r["fig3-smooth"]["verdict"]) == ("passed", "passed")
    errors["noisy_biased"] = per_seed_and_mean({0: 0.0701, 1: 0.03})
    write(tmp_path, "fig3", fig3_results(step_lengths=steps([0.4, 0.5], [0.61, 0.7]), final_decode_error=errors))
    r = rows_by_id(tmp_path)
    assert (r["fig3-trained"]["verdict"], r["fig3-smooth"]["verdict"]) == ("failed", "failed")


def test_variance_scale_is_reported_never_passed_or_failed(tmp_path):
    variance = {k: per_seed_and_mean({0: v, 1: v}) for k, v in
                [("noisy_unbiased", 0.4), ("noiseless_unbiased", 0.01), ("noisy_biased", 0.1), ("noiseless_biased", 0.002)]}
    write(tmp_path, "fig2", kl_matrix() | {"total_variance": variance})
    rows = report.evaluate_claims(RunSettings("smoke", outputs_dir=str(tmp_path)))
    row = next(r for r in rows if r["id"] == "fig2-variance-scale")
    assert row["verdict"] == "reported" and "2 of 4 within" in row["value"]
    assert report.summary_line(rows).startswith(f"5 passed, 0 failed, {group_sizes()[0] - 5} not run in this set; "
                                                "1 reported without a verdict")
    md = report.to_markdown(rows, "smoke")
    assert md.index("## Claims of the paper") < md.index("## Reported beside") < md.index("| [fig2-variance-scale]")


def test_constant_drive_prediction(tmp_path):
    default, as_written = list(ext_constant_drive.CONSTANT_DRIVE_MODELS)[:2]

    def model(error, q_p99, spatial=False):
        one, curve = per_seed_and_mean({0: 1.0, 1: 1.0}), per_seed_and_mean({0: [1.0, 1.0], 1: [1.0, 1.0]})
        return ({"decode_error": one, "steps_active": {"p99": per_seed_and_mean({0: 0.2, 1: 0.2})},
                 "steps_quiescent": {"p99": per_seed_and_mean({0: q_p99, 1: q_p99})},
                 "hidden_norm_active": one, "hidden_norm_quiescent_end": one, "hidden_norm_quiescent": curve,
                 "kl": one, "kl_uniform": one, "kl_by_quarter": curve, "score_cosine": one,
                 "homogeneity_error": {"2": per_seed_and_mean({0: error, 1: error})}}
                | ({"total_variance": one} if spatial else {}))

    def results(default_p99):
        return {"models": ext_constant_drive.CONSTANT_DRIVE_MODELS} | {
            task: {default: model(0.05, default_p99, task == "spatial"), as_written: model(0.0, 1.7, task == "spatial")}
            for task in ("spatial", "head_direction")}
    write(tmp_path, "ext_constant_drive", results(0.25))
    assert rows_by_id(tmp_path)["ext-constant-drive"]["verdict"] == "passed"
    write(tmp_path, "ext_constant_drive", results(0.31))   # with the bias, 0.31 > 1.5 × 0.2
    assert rows_by_id(tmp_path)["ext-constant-drive"]["verdict"] == "failed"


def test_show_claims_prints_the_figure_rows(tmp_path, capsys):
    write(tmp_path, "fig3", fig3_results())
    rows = report.show_claims("fig3", settings_for(tmp_path, [0, 1]))
    assert [r["id"] for r in rows] == ["fig3-trained", "fig3-smooth", "fig3-hd"]
    out = capsys.readouterr().out
    assert "fig3-hd: PASSED" in out and "threshold: mean ≤ 0.1 nats" in out and "seed 1: 0.07" in out


def test_a_trajectory_claim_on_networks_that_do_not_decode_is_not_applicable(tmp_path):
    """laptop-as-released once passed fig1-smooth by comparing two jumpy runs of networks that cannot report their
    position: where a network's decoding error exceeds the trained bound, the claim reads "not applicable"."""
    jumpy = steps([0.16, 0.17], [0.2, 0.25], [0.004, 0.004], [0.01, 0.012])   # passes the step rule
    write(tmp_path, "fig1", fig1_results(step_lengths=jumpy, final_decode_error=per_seed_and_mean({0: 0.3, 1: 0.19})))
    row = rows_by_id(tmp_path)["fig1-smooth"]
    assert row["verdict"] == "not applicable" and row["value"].startswith("untrained: decoding MSE > 0.02 m² on every seed")
    assert "not applicable (untrained)" in report.summary_line(list(rows_by_id(tmp_path).values()))
    # network by network: seed 1's network is untrained and not counted; seed 0's jumps decide
    failing = steps([0.16, 0.17], [0.3, 0.2], [0.004, 0.004], [0.01, 0.012])   # seed 0: 0.3 > 1.5 × 0.16
    write(tmp_path, "fig1", fig1_results(step_lengths=failing, final_decode_error=per_seed_and_mean({0: 0.01, 1: 0.19})))
    row = rows_by_id(tmp_path)["fig1-smooth"]
    assert row["verdict"] == "failed" and "not counted, decoding MSE > 0.02 m²: seed 1 (0.19 m²)" in row["value"]
    assert row["per_seed"]["1"].startswith("not counted, untrained")
    write(tmp_path, "fig1", fig1_results(step_lengths=jumpy, final_decode_error=per_seed_and_mean({0: 0.01, 1: 0.02})))
    assert rows_by_id(tmp_path)["fig1-smooth"]["verdict"] == "passed"   # at the bound: trained
    errors = {"noisy_unbiased": per_seed_and_mean({0: 0.5, 1: 0.3}), "noisy_biased": per_seed_and_mean({0: 0.05, 1: 0.06})}
    write(tmp_path, "fig3", fig3_results(final_decode_error=errors))
    rows = rows_by_id(tmp_path)
    assert rows["fig3-smooth"]["verdict"] == "not applicable" and rows["fig3-trained"]["verdict"] == "failed"
    assert rows["fig3-hd"]["verdict"] == "passed"   # a density claim: not a trajectory's


def fig3_results(mean_kl=(0.05, 0.07), **fields) -> dict:
    """fig3 results with every field (the report reads them back whole) on which every fig3 check passes (bearing
    KL per seed as given), `fields` replacing some."""
    errors = {c: per_seed_and_mean({0: 0.05, 1: 0.06}) for c in ("noisy_unbiased", "noisy_biased")}
    histogram = per_seed_and_mean({0: np.full(4, 0.25), 1: np.full(4, 0.25)})
    return {"step_lengths": steps([0.4, 0.5], [0.6, 0.7]), "final_decode_error": errors,
            "bearing_kl": per_seed_and_mean(dict(enumerate(mean_kl))),
            "bearing_kl_untrained": per_seed_and_mean({0: 0.5, 1: 0.6}),
            "histogram_edges": np.linspace(-np.pi, np.pi, 5), "histogram_active": histogram,
            "histogram_quiescent": histogram, "histogram_untrained": histogram} | fields


def fig1_results(**fields) -> dict:
    """fig1 results with every field (the report reads them back whole), `fields` replacing some."""
    one, curve = per_seed_and_mean({0: 0.01, 1: 0.01}), per_seed_and_mean({0: [0.1, 0.01], 1: [0.1, 0.01]})
    ev = per_seed_and_mean({0: np.linspace(0.5, 0.9, 10), 1: np.linspace(0.5, 0.9, 10)})
    return {"final_test_loss": one, "final_decode_error": one, "test_batches": [0, 100], "test_loss": curve,
            "test_decode_error": curve, "ev_active": ev, "ev_quiescent": ev, "ev_max_abs_diff": one,
            "step_lengths": steps([0.16, 0.17], [0.2, 0.25], [0.004, 0.004], [0.01, 0.012]),
            "kl_quiescent_active": one, "kl_uniform_active": one, "total_variance": one} | fields


# --- the thresholds are the YAML's numbers ------------------------------------------------------------------------

def edited_claims(tmp_path, old: str, new: str) -> list[dict]:
    """The claims of a copy of data/claims.yaml with one piece of text (occurring once) replaced."""
    text = report.CLAIMS_FILE.read_text()
    assert text.count(old) == 1, old
    path = tmp_path / "claims.yaml"
    path.write_text(text.replace(old, new))
    return report.load_claims(path)


def test_a_parameter_edited_in_the_yaml_changes_verdict_and_sentence(tmp_path):
    write(tmp_path, "fig3", fig3_results(mean_kl=(0.05, 0.07)))
    row = rows_by_id(tmp_path)["fig3-hd"]
    assert (row["verdict"], row["threshold"]) == ("passed", "mean ≤ 0.1 nats")
    claims = edited_claims(tmp_path, "params: {max_mean_kl: 0.1}", "params: {max_mean_kl: 0.05}")
    row = {r["id"]: r for r in report.evaluate_claims(RunSettings("smoke", outputs_dir=str(tmp_path)), claims)}["fig3-hd"]
    assert (row["verdict"], row["threshold"], row["params"]) == ("failed", "mean ≤ 0.05 nats", {"max_mean_kl": 0.05})


def test_figC1_and_figC2_share_the_fig2_margins(tmp_path):
    """claims.yaml gives fig2's KL margin to figC1 and figC2 through a YAML anchor: one number, three claims."""
    kl = {k: per_seed_and_mean({0: v}) for k, v in [("unbiased", 0.2), ("biased", 0.1), ("uniform_vs_unbiased", 0.15),
          ("uniform_vs_biased", 1.0), ("unbiased_q_vs_biased_a", 2.0), ("random_vs_biased", 3.0)]}
    write(tmp_path, "figC1", {"kl": kl, "conditions": {}, "quiescent_noise": "same", "quiescent_noise_std": {}})
    write(tmp_path, "fig2", kl_matrix() | {"total_variance": {}})
    claims = edited_claims(tmp_path, "{kl_margin: &kl_margin 0.1}", "{kl_margin: &kl_margin 0.01}")
    for rows, verdict, margin in ((report.evaluate_claims(RunSettings("smoke", outputs_dir=str(tmp_path))), "passed", "0.1"),   # 0.2 ≤ 0.15 + 0.1
                                  (report.evaluate_claims(RunSettings("smoke", outputs_dir=str(tmp_path)), claims), "failed", "0.01")):
        r = {row["id"]: row for row in rows}
        assert r["figC1-same-noise"]["verdict"] == r["fig2-unbiased"]["verdict"] == verdict
        assert f"𝒰 + {margin}," in r["figC1-same-noise"]["threshold"]
        assert r["figC2-gru"]["params"]["kl_margin"] == float(margin)


def test_threshold_sentences_show_the_params_exactly(tmp_path):
    claims = {c["id"]: c for c in report.load_claims()}
    assert report.threshold_text(claims["fig1-trained"]) == "test loss ≤ 3e-5 and decoding MSE ≤ 0.02, all seeds"
    assert "within a factor √2 of 1" in report.threshold_text(claims["ext-score-slope"])
    assert report.threshold_text({"threshold": "≤ {x}", "params": {"x": 1.25e-7}}) == "≤ 1.25e-7"
    # a number the check reads but the sentence leaves out, or a placeholder no param fills, is refused
    with pytest.raises(ValueError, match="fig3-hd"):
        edited_claims(tmp_path, "params: {max_mean_kl: 0.1}", "params: {max_mean_kl: 0.1, untrained_factor: 3}")
    with pytest.raises(ValueError, match="fig2-explore"):
        edited_claims(tmp_path, "noisy > noiseless for every seed", "noisy > {factor} × noiseless for every seed")


# --- a check that raises is an error of the report, not a figure not run ----------------------------------------

def test_a_check_that_raises_is_an_error_and_the_report_exits_non_zero(tmp_path, monkeypatch, capsys):
    write(tmp_path, "fig3", fig3_results())
    assert cli(["report", "--preset", "smoke", "--outputs", str(tmp_path)]) == 0

    def broken(results, params):
        return 1 / 0
    monkeypatch.setitem(report.CHECKS, "fig3-hd", broken)
    rows = {r["id"]: r for r in report.evaluate_claims(RunSettings("smoke", outputs_dir=str(tmp_path)))}
    assert rows["fig3-hd"]["verdict"] == "error" and rows["fig3-hd"]["value"] == "ZeroDivisionError: division by zero"
    assert rows["fig3-trained"]["verdict"] == "passed" and rows["fig1-trained"]["verdict"] == "missing"

    assert cli(["report", "--preset", "smoke", "--outputs", str(tmp_path)]) == 1
    paper, theory = group_sizes()
    summary = (f"1 check error (fig3-hd); 2 passed, 0 failed, {paper - 3} not run in this set "
               f"(theory predictions beyond the paper: 0 passed, 0 failed, {theory} not run in this set)")
    assert summary in capsys.readouterr().out
    md = (tmp_path / "smoke" / "report.md").read_text()
    assert "ZeroDivisionError: division by zero" in md and "‼ error" in md and md.strip().endswith(summary)
    page = (tmp_path / "smoke" / "report.html").read_text()
    assert "<td class='verdict'>error</td>" in page and "ZeroDivisionError" in page
    assert page.startswith("<!doctype html>") and "<title>Reproduction report — smoke</title>" in page
    assert "href='index.html'" in page and "id='fig3-hd'" in page
    assert json.loads((tmp_path / "smoke" / "report.json").read_text())["summary"] == summary


def test_results_a_check_cannot_read_are_an_error(tmp_path, capsys):
    """Results a check cannot read: the figure did run, so not 'missing'. Without an entry a check looks up (fig3
    without the biased network's decoding error, or the p99 steps) those checks fail and the others run; an older
    notebook's results (fig3 without its step lengths and decoding errors) do not read back as fig3's results at
    all, and the error names what they lack."""
    partial = {"noisy_unbiased": per_seed_and_mean({0: 0.05, 1: 0.06})}
    write(tmp_path, "fig3", fig3_results(final_decode_error=partial, step_lengths={"active": {}, "quiescent": {}}))
    rows = report.show_claims("fig3", settings_for(tmp_path, [0, 1]))
    assert [r["verdict"] for r in rows] == ["error", "error", "passed"]
    assert rows[0]["value"] == "KeyError: 'noisy_biased'" and "fig3-smooth: ERROR" in capsys.readouterr().out
    assert report.main(RunSettings("smoke", outputs_dir=str(tmp_path))) == 1
    older = {k: v for k, v in fig3_results().items() if k not in ("step_lengths", "final_decode_error")}
    write(tmp_path, "fig3", older)
    rows = report.show_claims("fig3", settings_for(tmp_path, [0, 1]))
    assert [r["verdict"] for r in rows] == ["error", "error", "error"]
    assert rows[0]["value"].startswith("TypeError: ") and all(
        f"'{field}'" in row["value"] for row in rows for field in ("step_lengths", "final_decode_error"))
    assert report.main(RunSettings("smoke", outputs_dir=str(tmp_path))) == 1


def test_a_claim_without_a_check_is_an_error(tmp_path):
    write(tmp_path, "fig3", fig3_results())
    claim = {"id": "fig3-new", "figure": "fig3", "statement": "s", "metric": "m", "threshold": "t", "params": {}}
    [row] = report.evaluate_claims(RunSettings("smoke", outputs_dir=str(tmp_path)), [claim])
    assert row["verdict"] == "error" and "no check for claim 'fig3-new'" in row["value"]


def _markdown_table_widths(text: str) -> list[tuple[int, int, int]]:
    """(line number, cells, header cells) of every row of every Markdown table, as GitHub splits them: on
    each `|` not escaped by a backslash."""
    def cells(line):
        line = line.strip().removeprefix("|")
        line = line[:-1] if line.endswith("|") and not line.endswith("\\|") else line
        return len(re.split(r"(?<!\\)\|", line))
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines) - 1:
        if lines[i].lstrip().startswith("|") and re.match(r"^\s*\|?\s*:?-{3,}", lines[i + 1]):
            width, j = cells(lines[i]), i + 2
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                out.append((j + 1, cells(lines[j]), width))
                j += 1
            i = j
        else:
            i += 1
    return out


def test_a_bar_inside_a_claim_is_escaped_so_the_verdict_keeps_its_column():
    row = {"id": "x", "figure": "fig1", "statement": "s", "value": "max |ΔKL| 0.4", "per_seed": {"0": "|a| 1"},
           "threshold": "|Δ| ≤ 0.1", "seeds": [0], "verdict": "failed"}
    rows = _markdown_table_widths(report.to_markdown([row], "smoke"))
    assert rows and all(n == width for _, n, width in rows)


def _gfm_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Each table as GitHub shows it (markdown-it's GFM table rule): its header cells and its rows' cells. A row
    with an unescaped `|` keeps the header's width, its last cells shifted: the verdict falls out of its column."""
    from markdown_it import MarkdownIt
    tables, header, rows, row = [], None, None, None
    for tok in MarkdownIt("commonmark").enable("table").parse(text):
        if tok.type == "table_open":
            header, rows = [], []
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "inline" and row is not None:
            row.append(tok.content)
        elif tok.type == "tr_close":
            (rows.append(row) if header else header.extend(row)) if rows is not None else None
            row = None
        elif tok.type == "table_close":
            tables.append((header, rows))
            rows = None
    return tables


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "outputs").glob("*/report.md")))
def test_github_shows_every_verdict_of_a_committed_report_in_its_column(path):
    tables = _gfm_tables((ROOT / path).read_text())
    assert tables
    for header, rows in tables:
        assert header[-1] == "verdict"
        lost = [r[0] for r in rows if r[-1] not in report.MARKS.values()]
        assert not lost, f"{path}: rows whose verdict GitHub does not show in its column: {lost[:5]}"


def test_the_gfm_reading_sees_an_unescaped_bar():
    text = "| claim | value | verdict |\n|---|---|---|\n| a | max \\|ΔKL\\| 0.4 | ✓ passed |\n| b | max |ΔKL| 0.4 | ✗ failed |\n"
    (_, rows), = _gfm_tables(text)
    assert rows[0] == ["a", "max |ΔKL| 0.4", "✓ passed"] and rows[1][-1] != "✗ failed"   # shifted out


def test_a_report_links_the_executed_notebook_of_each_figure_it_drew():
    rows = [{"id": "fig1-trained", "figure": "fig1", "statement": "s", "value": "v", "per_seed": {}, "threshold": "t",
             "seeds": [0], "verdict": "passed"}]
    md = report.to_markdown(rows, "smoke", shown={"fig1", "ext_score"})
    assert "[fig1](notebooks/fig1_spatial_reactivation.ipynb) · [ext_score](notebooks/ext_score.ipynb)" in md
    assert "fig2_biased_and_kl" not in md and "[index.html](index.html)" in md


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix() for p in [*(ROOT / "outputs").glob("*/report.md"),
                                                                                ROOT / "README.md", ROOT / "docs" / "results.md"]))
def test_every_committed_table_row_has_its_header_s_cells(path):
    bad = [(line, n, width) for line, n, width in _markdown_table_widths((ROOT / path).read_text()) if n != width]
    assert not bad, f"{path}: rows with another number of cells than their header (line, cells, header): {bad[:5]}"
