"""The computations behind the supplementary figures C.1–C.5, on smoke-preset networks."""
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

from utils import analysis as A
from utils.figures import figC1, figC2, figC3, figC4, figC5, matching, regimes
from utils import plotting as P
from utils.figures.base import read_results, write_results

from conftest import settings_for

SEEDS = (0, 1)


@pytest.fixture(scope="session")
def settings(smoke_outputs):
    """Smoke settings over two seeds on the session's shared smoke cache."""
    return settings_for(smoke_outputs, SEEDS)   # the session's shared smoke cache


@pytest.fixture(scope="session")
def c1(settings):
    return figC1.compute(settings)


def _draw(result):
    """Every panel on the figure's own layout, without saving (fast); returns the figure."""
    kw = dict(result.figure_kw)
    fig, axes = P.panel_grid(result.layout, figsize=kw.pop("figsize"), **kw)
    for key, draw in result.panels().items():
        draw(axes[key])
    return fig


def _assert_per_seed(entry, seeds=SEEDS):
    assert set(entry) == {"per_seed", "mean", "sd"}
    assert list(entry["per_seed"]) == [str(s) for s in seeds]
    values = [float(v) for v in entry["per_seed"].values()]
    assert all(math.isfinite(v) for v in values)
    assert float(entry["mean"]) == pytest.approx(np.mean(values))


# --- KL ------------------------------------------------------------------------------------------------------

def test_matching_kls_are_the_kl_divergences_of_fig2e():
    rng = np.random.default_rng(0)
    active = {"U_a": rng.normal(size=(300, 2)), "B_a": rng.normal(0.3, 0.5, size=(200, 2))}
    quiescent = {"U_q": rng.normal(size=(250, 2)), "B_q": rng.normal(0.2, 0.5, size=(250, 2)),
                 "random": rng.normal(0, 0.1, size=(100, 2))}
    kl = matching.matching_kls(active, quiescent, box_size=2.2, n_samples=300, seed=4)
    for key, (q, p) in matching.MATCHING_KL.items():
        q_dist = A.UniformBox(2.2) if q == "uniform" else quiescent[q]
        assert kl[key] == pytest.approx(A.kl_divergence(q_dist, active[p], 300, seed=4), rel=1e-12)


def test_matching_kls_orders_close_and_far_distributions():
    rng = np.random.default_rng(1)
    ring = lambda n: np.stack([np.cos(t := rng.uniform(0, 2 * np.pi, n)), np.sin(t)], 1) * 0.6 + rng.normal(0, 0.05, (n, 2))
    spread = lambda n: rng.uniform(-1.1, 1.1, (n, 2))
    kl = matching.matching_kls({"U_a": spread(2000), "B_a": ring(2000)},
                        {"U_q": spread(2000), "B_q": ring(2000), "random": rng.normal(0, 0.02, (2000, 2))},
                        box_size=2.2, n_samples=400, seed=0)
    assert list(kl) == list(matching.MATCHING_KL)
    assert kl["biased"] < 0.25 * min(kl["unbiased_q_vs_biased_a"], kl["uniform_vs_biased"], kl["random_vs_biased"])
    assert kl["unbiased"] < 0.3 and kl["uniform_vs_unbiased"] < 0.3


def test_kl_bars_take_negative_estimates():
    fig, ax = plt.subplots()
    kl = {k: {0: v, 1: v + 0.1} for k, v in zip(matching.MATCHING_KL, np.linspace(-0.05, 5, len(matching.MATCHING_KL)))}
    matching.plot_kl_bars(ax, kl)
    assert ax.get_xlim()[0] < 0 and len(ax.get_yticklabels()) == len(matching.MATCHING_KL)
    plt.close(fig)


# --- C.1 / C.2 ------------------------------------------------------------------------------------------------

def test_figC1_kls_per_seed_and_examples(c1, settings):
    a = settings.analysis
    res = c1.results().to_json()  # what write_results stores, as the report reads it
    assert set(res["kl"]) >= {"unbiased", "biased", "uniform_vs_unbiased", "uniform_vs_biased",
                              "unbiased_q_vs_biased_a", "random_vs_biased"}
    for entry in c1.results().to_json()["kl"].values():
        _assert_per_seed(entry)
    assert c1.conditions == {"unbiased": "noisy_unbiased", "biased": "noisy_biased"}
    assert c1.noise_std == pytest.approx({"unbiased": 0.01, "biased": 0.01, "random": 0.01})  # × 1, not √2
    for ex in c1.examples.values():
        assert ex.active.shape == (a.n_kde, a.active_steps, 2)
        assert ex.quiescent.shape == (a.n_kde, a.quiescent_steps_kde, 2)
        assert ex.active_map.shape == ex.quiescent_map.shape == (a.kde_grid, a.kde_grid)
    assert "U_q" in c1.summary()
    plt.close(_draw(c1))


def test_figC1_is_reproducible_and_per_seed(c1, settings):
    again = figC1.compute(settings)
    assert again.kl == c1.kl
    assert c1.kl["unbiased"][0] != c1.kl["unbiased"][1]  # each seed its own networks, batch and samples


def test_figC2_runs_grus_with_noise_not_doubled(settings):
    c2 = figC2.compute(settings)
    assert c2.conditions["biased"] == "gru_noisy_biased"
    assert c2.noise_std == pytest.approx({"unbiased": 0.01, "biased": 0.01, "random": 0.01})
    for entry in c2.results().to_json()["kl"].values():
        _assert_per_seed(entry)


# --- C.3 / C.4 ------------------------------------------------------------------------------------------------

def test_figC3_examples_and_summary(settings):
    a = settings.analysis
    c3 = figC3.compute(settings)
    assert c3.noise_std == pytest.approx({"NT quiescent": math.sqrt(2) * 0.01, "DT quiescent": 0.0,
                                          "DT noisy quiescent": math.sqrt(2e-4)})
    for bias in ("unbiased", "biased"):
        for regime in regimes.QUIESCENT_REGIMES:
            assert c3.examples[bias][regime].shape == (figC3.EXAMPLES_C3, a.quiescent_steps_kde, 2)
            for key in ("total_variance", "mean_step_distance"):
                _assert_per_seed(c3.results().to_json()["summary"][bias][regime][key])
    plt.close(_draw(c3))


def test_figC4_pools_per_trajectory_values_and_stores_them(settings):
    a = settings.analysis
    c4 = figC4.compute(settings)
    res = c4.results().step_distance
    for bias in ("unbiased", "biased"):
        assert list(res[bias]) == ["NT active", "NT quiescent", "DT active", "DT quiescent", "DT noisy quiescent"]
        for regime, entry in res[bias].items():
            per_seed = entry.per_seed
            assert list(per_seed) == [str(s) for s in SEEDS]
            assert all(len(v) == a.n_step_distance for v in per_seed.values())
            assert entry.median == pytest.approx(np.median(np.concatenate(list(per_seed.values()))))
        lo, hi = c4.ylim(bias)
        assert lo == 0 and hi >= figC4.STEP_DISTANCE_YLIM[bias][1]
        assert hi >= max(e.median for e in res[bias].values())
    # noiseless quiescence of a noiseless network is deterministic: the same steps for the same seed
    again = regimes.regime_decoded(settings.networks("spatial", "noiseless_biased")[0], "DT quiescent", 4, 5, seed=0)[0]
    assert np.array_equal(again, regimes.regime_decoded(settings.networks("spatial", "noiseless_biased")[0],
                                                  "DT quiescent", 4, 5, seed=0)[0])
    plt.close(_draw(c4))
    write_results("figC4", c4.results(), settings)
    stored = read_results("figC4", "smoke", settings.outputs_dir).results["step_distance"]
    assert stored["biased"]["DT noisy quiescent"]["median"] == pytest.approx(res["biased"]["DT noisy quiescent"].median)
    typed = read_results("figC4", "smoke", settings.outputs_dir, figC4.RESULTS).results   # as the report reads it
    assert isinstance(typed.step_distance["biased"]["DT noisy quiescent"], figC4.PooledSteps)
    assert typed.to_json() == c4.results().to_json()


# --- C.5 ------------------------------------------------------------------------------------------------------

def test_figC5_angular_velocities(settings):
    a = settings.analysis
    c5 = figC5.compute(settings)
    assert c5.noise_std == pytest.approx(math.sqrt(2) * 0.1)
    assert len(c5.examples["active_biased"]) == min(figC5.HD_ACTIVE_EXAMPLE_STEPS, a.active_steps)
    assert len(c5.examples["quiescent_biased"]) == len(c5.examples["quiescent_unbiased"]) == figC5.HD_QUIESCENT_STEPS
    assert len(c5.velocity["active_biased"][0]) == a.n_kde * (a.active_steps - 1)
    assert len(c5.velocity["quiescent_unbiased"][1]) == a.n_kde * (figC5.HD_QUIESCENT_STEPS - 1)
    means = c5.results().to_json()["angular_velocity_mean"]
    for run in ("active_biased", "quiescent_biased", "quiescent_unbiased"):
        _assert_per_seed(means[run])
        assert all(abs(float(v)) <= math.pi for v in means[run]["per_seed"].values())
    fig = _draw(c5)
    assert fig.axes[3].get_title().endswith(f"mean = {np.concatenate(list(c5.velocity['active_biased'].values())).mean():+.4f}")
    plt.close(fig)
