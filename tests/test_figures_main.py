"""The per-figure computations of Figs. 1–3 on smoke models: shapes, bookkeeping over seeds, and results JSON
that the report can read. Smoke models are barely trained, so nothing here checks a scientific claim."""
import dataclasses
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from utils import analysis as A
from utils import plotting as P
from utils import report
from utils.figures import fig1 as fig1_module, fig2 as fig2_module, fig3 as fig3_module
from utils.figures import runs as seed_runs
from utils.figures.base import read_results, write_results

from conftest import settings_for


@pytest.fixture(scope="session")
def smoke(smoke_outputs):
    """Smoke settings over a fresh outputs folder, and every network the three figures need (trained here)."""
    settings = settings_for(smoke_outputs)   # the session's shared smoke cache
    sp = {c: settings.networks("spatial", c) for c in fig2_module.FIG2_CONDITIONS}
    hd = settings.networks("head_direction", "noisy_unbiased")
    return settings, sp, hd


@pytest.fixture(scope="session")
def fig1(smoke):
    settings, sp, _ = smoke
    nets = sp["noisy_unbiased"]
    runs = seed_runs.decoded_runs_over_seeds(nets, settings.analysis)
    trained = settings.trained("spatial", "noisy_unbiased")
    return (fig1_module.training_curves(trained), fig1_module.explained_variance_over_seeds(nets, settings.analysis),
            seed_runs.step_lengths_over_seeds(runs),
            fig1_module.quiescent_density_over_seeds(nets, runs, settings.analysis))


@pytest.fixture(scope="session")
def fig2(smoke):
    settings, sp, _ = smoke
    kl = fig2_module.kl_over_seeds(sp, settings.analysis)
    variance = {c: seed_runs.total_variance_over_seeds(sp[c], settings.analysis) for c in fig2_module.FIG2_CONDITIONS}
    return kl, variance


@pytest.fixture(scope="session")
def fig3(smoke):
    settings, _, hd = smoke
    return fig3_module.bearings_over_seeds(hd, settings.analysis)


def test_training_curves_stack_the_saved_metrics(smoke, fig1):
    settings, _, _ = smoke
    curves, *_ = fig1
    nets = settings.trained("spatial", "noisy_unbiased")
    assert curves.seeds == [0, 1]
    np.testing.assert_array_equal(curves.batches, nets[0].metrics["test_batch"])
    assert curves.loss.shape == curves.decode_error.shape == (2, len(curves.batches))
    np.testing.assert_allclose(curves.loss[1], nets[1].metrics["test_loss"])
    np.testing.assert_allclose(curves.decode_error[0], nets[0].metrics["test_decode_error"])


def test_training_curves_refuse_networks_tested_at_different_batches(smoke):
    settings, _, _ = smoke
    a, b = settings.trained("spatial", "noisy_unbiased")
    tested_elsewhere = dataclasses.replace(b, metrics=dict(b.metrics, test_batch=[0, 5, 20]))
    with pytest.raises(ValueError, match="different batches"):
        fig1_module.training_curves([a, tested_elsewhere])


def test_fig1_reports_fig2s_measures_of_its_own_network(fig1, fig2):
    """Fig. 1's KL and variance are Fig. 2e's U^σ row (columns U^σ and 𝒰) and Fig. 2f's U^σ variance, seed by
    seed: the same runs, the same Monte-Carlo seed, so a Fig. 1 run alone can be set beside Fig. 2."""
    density = fig1[3]
    kl, variance = fig2
    row, cols = fig2_module.KL_ROWS.index("U^σ"), fig2_module.KL_COLS
    assert density.seeds == kl.seeds == [0, 1]
    np.testing.assert_allclose(density.kl_quiescent, kl.matrices[:, row, cols.index("U^σ")], rtol=1e-12)
    np.testing.assert_allclose(density.kl_uniform, kl.matrices[:, row, cols.index("𝒰")], rtol=1e-12)
    np.testing.assert_allclose(density.total_variance, [variance["noisy_unbiased"][s] for s in kl.seeds], rtol=1e-12)
    assert not np.allclose(density.kl_quiescent, density.kl_uniform)


def test_explained_variance_is_cumulative_per_seed(smoke, fig1):
    settings, sp, _ = smoke
    _, ev, *_ = fig1
    assert ev.active.shape == ev.quiescent.shape == (2, fig1_module.N_PCS)
    for curve in (*ev.active, *ev.quiescent):
        assert np.all(np.diff(curve) >= -1e-7) and 0 < curve[0] and curve[-1] <= 1 + 1e-6
    np.testing.assert_allclose(ev.max_abs_diff, np.abs(ev.active - ev.quiescent).max(axis=1))
    # The seed-1 network's own runs: n_pca trajectories from data seed 1.
    net, a = sp["noisy_unbiased"][1], settings.analysis
    hidden = A.quiescent_run(net, a.n_pca, a.quiescent_steps_kde, "scaled", 1).hidden
    np.testing.assert_allclose(ev.quiescent[1], A.explained_variance(hidden), rtol=1e-5)


def test_reactivation_example_and_density_maps(smoke):
    settings, sp, hd = smoke
    a = settings.analysis
    ex = seed_runs.reactivation_example(sp["noisy_unbiased"][0], a)
    assert ex.active.shape == (a.n_kde, a.active_steps, 2)
    assert ex.quiescent.shape == (a.n_kde, a.quiescent_steps_kde, 2)
    assert ex.pcs_active.shape == (a.n_kde, a.active_steps, 2)
    assert ex.pcs_quiescent.shape == (a.n_kde, a.quiescent_steps_kde, 2)
    np.testing.assert_allclose(ex.pcs_active.reshape(-1, 2).mean(0), 0, atol=1e-4)  # PCA fitted on active
    lo_x, hi_x, lo_y, hi_y = ex.pc_extent
    for pcs in (ex.pcs_active, ex.pcs_quiescent):
        assert lo_x <= pcs[..., 0].min() and pcs[..., 0].max() <= hi_x
        assert lo_y <= pcs[..., 1].min() and pcs[..., 1].max() <= hi_y
    maps = seed_runs.density_maps(ex.active, ex.quiescent, A.box_extent(sp["noisy_unbiased"][0].task_cfg), a.kde_grid)
    assert maps.active.shape == maps.quiescent.shape == (a.kde_grid, a.kde_grid)
    assert maps.vmax == max(maps.active.max(), maps.quiescent.max())
    hd_ex = seed_runs.reactivation_example(hd[0], a)
    assert hd_ex.active.shape == (a.n_kde, a.active_steps, 1)
    assert np.all(np.abs(hd_ex.quiescent) <= np.pi)


def test_kl_over_seeds_rows_active_columns_quiescent(smoke, fig2):
    settings, sp, _ = smoke
    a = settings.analysis
    kl, _ = fig2
    assert kl.seeds == [0, 1] and kl.matrices.shape == (2, len(fig2_module.KL_ROWS), len(fig2_module.KL_COLS))
    assert np.all(np.isfinite(kl.matrices))
    np.testing.assert_allclose(kl.mean, kl.matrices.mean(0))
    runs = kl.runs
    assert runs["R^σ"][1].active is None
    assert runs["B^σ"][1].active.shape == (a.n_kde, a.active_steps, 2)
    assert runs["B^σ"][1].quiescent.shape == (a.n_kde, a.quiescent_steps_kl, 2)
    # Entry (row B^σ, column U^σ) of seed 1 is KL(U^σ quiescent ‖ B^σ active) with that seed's MC samples.
    i, j = fig2_module.KL_ROWS.index("B^σ"), fig2_module.KL_COLS.index("U^σ")
    direct = A.kl_divergence(runs["U^σ"][1].quiescent, runs["B^σ"][1].active, a.kl_samples, seed=1)
    assert kl.matrices[1, i, j] == pytest.approx(direct)
    # 𝒰 is the exact uniform density, R^σ the untrained network's quiescence.
    i, j = fig2_module.KL_ROWS.index("U"), fig2_module.KL_COLS.index("𝒰")
    assert kl.matrices[0, i, j] == pytest.approx(
        A.kl_divergence(A.UniformBox(2.2), runs["U"][0].active, a.kl_samples, seed=0))
    i, j = fig2_module.KL_ROWS.index("U^σ"), fig2_module.KL_COLS.index("R^σ")
    assert kl.matrices[0, i, j] == pytest.approx(
        A.kl_divergence(runs["R^σ"][0].quiescent, runs["U^σ"][0].active, a.kl_samples, seed=0))
    # The quiescent runs are those of each network with its own data seed, noise √2 × trained (0 if noiseless).
    net = sp["noiseless_biased"][0]
    again = A.quiescent_run(net, a.n_kde, a.quiescent_steps_kl, "scaled", 0, keep_states=False)
    np.testing.assert_array_equal(runs["B"][0].quiescent, again.decoded)


def test_kl_over_seeds_needs_every_condition_with_aligned_seeds(smoke):
    settings, sp, _ = smoke
    with pytest.raises(ValueError, match="noiseless_biased"):
        fig2_module.kl_over_seeds({c: v for c, v in sp.items() if c != "noiseless_biased"}, settings.analysis)
    with pytest.raises(ValueError, match="same seeds"):
        fig2_module.kl_over_seeds(sp | {"noisy_biased": sp["noisy_biased"][::-1]}, settings.analysis)


def test_total_variance_one_value_per_network(smoke, fig2):
    settings, sp, _ = smoke
    a = settings.analysis
    _, variance = fig2
    assert all(list(v) == [0, 1] for v in variance.values())
    run = A.quiescent_run(sp["noisy_biased"][1], a.n_variance, a.variance_steps, "scaled", 1, keep_states=False)
    assert variance["noisy_biased"][1] == pytest.approx(A.total_variance(run.decoded, a.variance_steps // 2))


def test_step_lengths_are_the_runs_own_steps(smoke, fig1):
    settings, sp, _ = smoke
    steps = fig1[2]
    run = seed_runs.decoded_runs(sp["noisy_unbiased"][1], settings.analysis, settings.analysis.quiescent_steps_kl)
    moves = np.linalg.norm(np.diff(run.quiescent.astype(float), axis=1), axis=-1)
    assert steps.seeds == [0, 1]
    assert steps.quiescent[1]["p99"] == pytest.approx(np.percentile(moves, 99))
    assert steps.quiescent[1]["jump_fraction"] == pytest.approx(np.mean(moves > 0.2))
    assert run.quiescent.shape[1] == settings.analysis.quiescent_steps_kl


def test_bearing_histograms_and_kl(smoke, fig3):
    settings, _, _ = smoke
    b = fig3
    a = settings.analysis
    assert b.edges.shape == (fig3_module.BEARING_BINS + 1,)
    for h in (b.hist_active, b.hist_quiescent, b.hist_untrained):
        assert h.shape == (2, fig3_module.BEARING_BINS)
        np.testing.assert_allclose(h.sum(1), 1)
    assert b.runs[0].quiescent.shape == (a.n_kde, a.quiescent_steps_kl, 1)
    assert b.kl[1] == pytest.approx(A.bearing_histogram_kl(b.runs[1].quiescent, b.runs[1].active))
    assert np.all(b.kl >= 0) and np.all(b.kl_untrained >= 0)


def test_results_round_trip_and_feed_the_report(smoke, fig1, fig2, fig3):
    settings = smoke[0]
    write_results("fig1", fig1_module.fig1_results(*fig1), settings)
    write_results("fig2", fig2_module.fig2_results(*fig2), settings)
    steps = seed_runs.step_lengths_over_seeds(fig3.runs, circular=True)
    trained = settings.trained("head_direction", "noisy_unbiased")
    errors = {"noisy_unbiased": seed_runs.final_decode_errors(trained),
              "noisy_biased": seed_runs.final_decode_errors(trained)}
    write_results("fig3", fig3_module.fig3_results(fig3, steps, errors), settings)
    r1 = read_results("fig1", "smoke", settings.outputs_dir).results
    assert set(r1["final_test_loss"]) == {"per_seed", "mean", "sd"}
    assert list(r1["final_test_loss"]["per_seed"]) == ["0", "1"]
    assert r1["final_test_loss"]["per_seed"]["1"] == pytest.approx(fig1[0].loss[1, -1])
    assert len(r1["test_loss"]["per_seed"]["0"]) == len(r1["test_batches"])
    assert len(r1["ev_active"]["per_seed"]["0"]) == 10 and len(r1["ev_quiescent"]["mean"]) == 10
    r2 = read_results("fig2", "smoke", settings.outputs_dir).results
    assert r2["kl_rows"] == ["U^σ", "U", "B^σ", "B"] and r2["kl_cols"] == ["U^σ", "U", "𝒰", "B^σ", "B", "R^σ"]
    assert np.shape(r2["kl_matrix"]["per_seed"]["1"]) == (4, 6) and np.shape(r2["kl_matrix"]["mean"]) == (4, 6)
    assert set(r2["total_variance"]) == set(fig2_module.FIG2_CONDITIONS)
    r3 = read_results("fig3", "smoke", settings.outputs_dir).results
    assert {"bearing_kl", "bearing_kl_untrained", "histogram_active", "histogram_quiescent"} <= set(r3)
    json.dumps(r3)  # plain JSON all the way down
    text = seed_runs.summarize(r2)
    assert "KL(quiescent column ‖ active row)" in text and "total_variance.noiseless_biased" in text
    assert len(text.splitlines()) == 2 + 4 + 4 + 9 * 2  # title, header, 4 rows, 4 variances, 9 spreads × 2
    spread = r2["decoded_spread"]["R^σ_q"]["median_distance_from_centre"]["per_seed"]["1"]
    r_sigma = fig2[0].runs["R^σ"][1].quiescent
    assert spread == pytest.approx(np.median(np.linalg.norm(r_sigma.reshape(-1, 2), axis=1)))
    assert 1 <= r2["decoded_spread"]["B_q"]["distinct_positions"]["per_seed"]["0"] <= r_sigma[..., 0].size
    assert seed_runs.summarize(r1).startswith("final_test_loss: ") and "bearing_kl_untrained" in seed_runs.summarize(r3)
    assert r3["final_decode_error"]["noisy_biased"]["per_seed"]["1"] == trained[1].metrics["test_decode_error"][-1]
    assert set(r1["step_lengths"]["quiescent"]) == {"median", "p99", "jump_fraction"}
    assert set(r3["step_lengths"]["quiescent"]) == {"median", "p99"}   # bearings: no jump length
    verdicts = {row["id"]: row for row in report.evaluate_claims(settings.run)}
    for claim, row in verdicts.items():
        if row["figure"] in ("fig1", "fig2", "fig3"):
            assert row["verdict"] in ("passed", "failed", "reported", "not applicable"), (claim, row["value"])


def test_colorbar_beside_hugs_its_panel():
    P.use_style()
    fig, ax = plt.subplots(figsize=(3, 2))
    im = ax.imshow(np.random.default_rng(0).random((5, 5)), extent=(0, 1, 0, 1))
    cb = P.colorbar_beside(ax, im, "density", ticks=[0, 1], tick_labels=["lo", "hi"])
    fig.canvas.draw()
    panel, bar = ax.get_window_extent(), cb.ax.get_window_extent()
    assert 0 < bar.x0 - panel.x1 < 0.2 * panel.width and bar.y0 == pytest.approx(panel.y0, abs=1)
    assert [t.get_text() for t in cb.ax.get_yticklabels()] == ["lo", "hi"]
    plt.close(fig)


@pytest.mark.parametrize("module", [fig1_module, fig2_module, fig3_module], ids=["fig1", "fig2", "fig3"])
def test_compute_shows_and_saves_what_the_pieces_give(smoke, fig1, fig2, module):
    """The notebook protocol: compute -> show (composed figure and panels saved) -> save (results JSON), with
    the same numbers as the pieces computed one by one above."""
    settings = settings_for(smoke[0].outputs_dir)
    result = module.compute(settings)
    pieces = {"fig1": lambda: fig1_module.fig1_results(*fig1), "fig2": lambda: fig2_module.fig2_results(*fig2),
              "fig3": lambda: None}[result.name]()
    if pieces is not None:
        assert json.dumps(result.results().to_json()) == json.dumps(pieces.to_json())
    image = result.show(settings)
    assert (settings.figures_dir / f"{result.name}.png").exists() and image.filename.endswith(f"{result.name}.png")
    assert set(result.panels()) <= set(P._mosaic_keys(result.layout))
    path = result.save(settings)
    assert read_results(result.name, "smoke", settings.outputs_dir).results == json.loads(path.read_text())["results"]
    typed = read_results(result.name, "smoke", settings.outputs_dir, module.RESULTS).results   # as the report reads it
    assert isinstance(typed, module.RESULTS) and typed.to_json() == json.loads(path.read_text())["results"]
    assert result.summary()
