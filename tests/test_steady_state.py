"""Where quiescence goes (utils/steady_state.py, utils/attractors.py, utils/figures/ext_conditions/): the binned
densities, the settling of window KLs, the Markov state model and the fixed-point search on cases whose answer
is known, the sufficiency rule against claims.yaml, and the report's new rows."""
import math

import numpy as np
import pytest
import torch

from utils import attractors as AT
from utils import config as C
from utils import report
from utils import steady_state as S
from utils.models import build_network

SP, HD = C.TaskConfig(), C.TaskConfig(name="head_direction")


# --- bins and densities ---------------------------------------------------------------------------------------

def test_bins_tile_the_box_and_the_circle():
    sp, hd = S.bins_for(SP), S.bins_for(HD)
    assert sp.n == 121 and hd.n == 20
    # corners, the centre and a point on the wall (it goes to the edge bin, not off the grid)
    pts = np.array([[-1.1, -1.1], [1.09, -1.09], [-1.09, 1.09], [0.0, 0.0], [1.1, 1.1]])
    assert S.bins_for(SP).index(pts).tolist() == [0, 10, 110, 60, 120]
    assert np.allclose(sp.centres()[60], [0, 0]) and np.allclose(sp.centres()[10], [1.0, -1.0])
    # bearings wrap: π and −π are one sector, 3π/2 is −π/2
    b = np.array([[-np.pi], [np.pi - 1e-9], [3 * np.pi / 2], [0.01]])
    assert hd.index(b).tolist() == [0, 19, 5, 10]


def test_histogram_kl_and_uniform():
    bins = S.bins_for(HD)
    rng = np.random.default_rng(0)
    p = S.histogram(rng.uniform(-np.pi, np.pi, (200000, 1)), bins)
    assert p.sum() == pytest.approx(1) and S.kl(p, p) == 0
    assert S.kl(S.uniform(bins), p) < 1e-3                  # a uniform sample is uniform
    half = S.histogram(rng.uniform(0, np.pi, (200000, 1)), bins, pseudo_count=0)
    assert S.kl(half, S.uniform(bins)) == pytest.approx(math.log(2), abs=1e-3)  # half the circle: log 2 nats
    assert np.all(S.histogram(np.zeros((5, 1)), bins) > 0)    # pseudo counts: no empty bin in a reference


# --- windows --------------------------------------------------------------------------------------------------

def test_window_kl_settles_when_the_run_reaches_its_stationary_density():
    rng = np.random.default_rng(1)
    bins = S.bins_for(HD)
    active = S.uniform(bins)
    # 4 windows of 100 steps confined to a quarter circle, then 6 windows spread over the whole circle
    early = rng.uniform(0, np.pi / 2, (200, 400, 1))
    late = rng.uniform(-np.pi, np.pi, (200, 600, 1))
    w = S.window_kls(np.concatenate([early, late], axis=1), active, bins, window=100)
    assert len(w.kl) == 10 and w.kl[0] == pytest.approx(math.log(4), abs=0.01)
    assert w.settled_at == 400
    # a density that keeps narrowing never settles
    drifting = np.concatenate([rng.uniform(-np.pi / k, np.pi / k, (200, 100, 1)) for k in range(1, 9)], axis=1)
    assert S.window_kls(drifting, active, bins, 100).settled_at is None
    with pytest.raises(ValueError):
        S.window_kls(late[:, :50], active, bins, 100)


def test_settling_step_needs_enough_windows():
    assert S.settling_step(np.array([1.0, 0.5, 0.5, 0.5]), 10, 0.05) == 10
    assert S.settling_step(np.array([1.0, 0.8, 0.5, 0.5]), 10, 0.05) is None   # two flat windows are not enough


# --- the Markov state model -----------------------------------------------------------------------------------

def _chain(transition: np.ndarray, n_traj: int, steps: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    cum = transition.cumsum(1)
    x = rng.integers(0, len(transition), n_traj)
    out = np.empty((n_traj, steps), np.int32)
    for t in range(steps):
        out[:, t] = x
        x = np.minimum((rng.random(n_traj)[:, None] > cum[x]).sum(1), len(transition) - 1)
    return list(out)


def test_msm_recovers_the_stationary_density_and_timescale_of_a_known_chain():
    # A lazy random walk on a ring of 6 states with a drift-free but uneven stay probability: reversible, with a
    # non-uniform stationary density ∝ 1 / (1 − stay).
    stay = np.array([0.5, 0.6, 0.7, 0.8, 0.6, 0.5])
    T = np.zeros((6, 6))
    for i in range(6):
        T[i, i] = stay[i]
        T[i, (i + 1) % 6] = T[i, (i - 1) % 6] = (1 - stay[i]) / 2
    exact = 1 / (1 - stay)
    exact /= exact.sum()
    slowest = -1 / np.log(np.sort(np.abs(np.linalg.eigvals(T)))[-2])
    m = S.markov_model(_chain(T, 100, 2000, 0), n_bins=8, lags=(1, 2, 5, 10))
    assert m.lag == 1 and m.converged                      # Markovian at lag 1: the timescales are flat
    assert m.timescales[0, 0] == pytest.approx(slowest, rel=0.1)
    assert np.abs(m.stationary[:6] - exact).max() < 0.01 and np.all(m.stationary[6:] == 0)  # 2 bins never seen
    assert m.ck_error < 0.03 and m.n_states == 6
    assert m.ck_lags.tolist() == [0, 1, 2, 3, 4]


def test_choose_lag_takes_the_first_flat_pair_or_the_longest():
    assert S.choose_lag(np.array([1, 2, 5, 10]), np.array([2.0, 5.0, 9.5, 10.0])) == (5, True)
    assert S.choose_lag(np.array([1, 2, 5]), np.array([1.0, 2.0, 5.0])) == (5, False)


# --- attractors -----------------------------------------------------------------------------------------------

def _tiny_network(n: int, w: float, b: float | None, noise_kind: str = "gaussian"):
    """An SP network of `n` units with W_rec = w·I and bias b on every unit (None: no bias)."""
    task = C.TaskConfig(n_cells=16)
    model = C.ModelConfig(n_rec=n, noise_std=0.01, recurrent_bias=b is not None, noise_kind=noise_kind)
    net = build_network(task, model, 0).eval()
    with torch.no_grad():
        net.w_rec.weight.copy_(w * torch.eye(n))
        if b is not None:
            net.bias.fill_(b)
    return net


def test_a_contracting_network_has_one_attractor_at_its_known_fixed_point():
    net = _tiny_network(4, 0.0, 0.3)                  # F(h) = (1 − α) h + α · 0.3: fixed point 0.3, radius 1 − α
    starts = torch.randn(20, 4, generator=torch.Generator().manual_seed(0))
    att = AT.find_attractors(net, starts, starts, settle_steps=200, iterations=300)
    assert att.count == 1 and len(att.speeds) == 1
    assert np.allclose(att.points[0], 0.3, atol=1e-4)
    assert att.radius[0] == pytest.approx(1 - net.alpha, abs=1e-5)
    assert att.basin[0] == 1 and att.unassigned == 0


def test_a_bistable_unit_gives_one_attractor_and_saddles():
    # h = ReLU(2h − 1) per unit: fixed points 0 (stable, F' = 1 − α) and 1 (unstable, F' = 1 + α); two units: 4 points.
    net = _tiny_network(2, 2.0, -1.0)
    grid = torch.tensor([[a, b] for a in (0.0, 0.2, 0.95, 1.05) for b in (0.0, 0.2, 0.95, 1.05)])
    starts = torch.tensor([[0.1, 0.1], [0.3, 0.2]])      # both settle at (0, 0)
    att = AT.find_attractors(net, starts, grid, settle_steps=100, iterations=3000)
    stable = att.points[att.stable]
    assert att.count == 1 and np.allclose(stable, 0, atol=1e-4)
    saddles = sorted(map(tuple, np.round(att.points[~att.stable], 2)))
    assert saddles == [(0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]
    assert att.basin[att.stable].tolist() == [1.0]


def test_the_uniform_noise_mean_is_part_of_the_zero_input_map():
    # No bias, no recurrence: F(h) = (1 − α) h + mean, with mean = std/2 for U[0,1) · std: fixed point mean / α.
    net = _tiny_network(3, 0.0, None, noise_kind="uniform")
    F = AT.zero_input_map(net, quiescent_std=0.02)
    h = torch.full((1, 3), 0.01 / net.alpha)
    assert torch.allclose(F(h), h, atol=1e-7)
    assert torch.allclose(AT.zero_input_map(_tiny_network(3, 0.0, None))(h), (1 - net.alpha) * h)


def test_occupancy_counts_points_near_any_centre():
    pts = np.array([[0, 0], [0.15, 0], [0.5, 0], [1, 1]], float)
    assert AT.occupancy(pts, np.array([[0, 0]]), 0.2) == 0.5
    assert AT.occupancy(pts, np.array([[0, 0], [1, 1]]), 0.2) == 0.75
    assert AT.occupancy(pts, np.zeros((0, 2)), 0.2) == 0
    bearings = np.array([[np.pi - 0.05], [-np.pi + 0.05], [0.0]])
    assert AT.occupancy(bearings, np.array([[np.pi]]), 0.1, circular=True) == pytest.approx(2 / 3)


# --- the map's rule and the report ----------------------------------------------------------------------------

def test_the_released_baseline_raises_only_the_uniform_entries_by_log_2_2():
    cols = ["U^σ", "U", "𝒰", "B^σ", "B", "R^σ"]
    matrix = [[0.3, 1, 0.15, 2, 3, 0.9]] + [[1.0] * 6 for _ in range(3)]
    from utils.figures.fig2 import Fig2Results
    fig2 = Fig2Results.from_json({"kl_rows": ["U^σ", "U", "B^σ", "B"], "kl_cols": cols,
                                  "kl_matrix": {"per_seed": {"0": matrix}, "mean": matrix, "sd": None},
                                  "total_variance": {}})
    params = {"kl_margin": 0.1}
    assert not report.CHECKS["fig2-unbiased"](fig2, params).passed            # 0.3 > 0.15 + 0.1
    shifted = fig2.with_released_uniform()
    assert shifted.kl_matrix.per_seed["0"][0][2] == pytest.approx(0.15 + math.log(2.2))
    assert shifted.kl_matrix.per_seed["0"][0][0] == 0.3 and fig2.kl_matrix.per_seed["0"][0][2] == 0.15  # a copy
    assert report.CHECKS["fig2-unbiased-released-baseline"](fig2, params).passed
    rows = [{"id": "x", "group": "inferred", "verdict": "passed"}, {"id": "y", "verdict": "failed"}]
    assert report.summary_line(rows) == "0 passed, 1 failed"             # never counted


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_the_zero_input_map_is_the_network_s_own_noiseless_quiescent_step(cell):
    cfg = C.resolve_config("spatial", "noisy_unbiased", 0, "smoke", {"cell": cell})
    net = build_network(cfg.task, cfg.model, 0).eval()
    with torch.no_grad():
        net.bias.normal_(0, 0.3, generator=torch.Generator().manual_seed(1))
    h = torch.randn(5, cfg.model.n_rec, generator=torch.Generator().manual_seed(2))
    states, _ = net.quiescent(h, 1, 0.0)
    assert torch.allclose(AT.zero_input_map(net)(h), states[:, 0], atol=1e-6)
    att = AT.find_attractors(net, h, h, settle_steps=50, iterations=50, slow_speed=1.0)  # runs for both cells
    assert att.search_starts == 10 and len(att.radius) == len(att.basin) >= 1


def test_the_map_reuses_the_networks_other_notebooks_train():
    """Same config, same cache entry: the map's rows that other notebooks also need are not trained twice."""
    from utils import registry
    from utils.pipeline.jobs import ModelJob
    from utils.settings import RunSettings

    def run_dir(row, label, run=RunSettings("laptop")):
        (m,) = [m for m in registry.notebook(row).models if m.label == label and m.task == "spatial"]
        return ModelJob(m.task, m.condition, 0, m.overrides).run_dir(run)

    ext = "ext_conditions"
    assert run_dir(ext, "default") == run_dir("fig1_spatial_reactivation", "U^σ")
    assert run_dir(ext, "default, biased") == run_dir("fig2_biased_and_kl", "B^σ")
    assert run_dir(ext, "as written") == run_dir("ext_constant_drive", "Gaussian, no bias (as written)")
    # and under the as-written variant the map's rows keep their own models
    as_written = RunSettings("laptop", "as-written")
    assert run_dir(ext, "default", as_written) == run_dir(ext, "default")
    assert run_dir(ext, "default, biased", as_written) == run_dir(ext, "default, biased")


def test_the_ck_test_reaches_the_slowest_timescale_when_asked():
    # Two metastable states that swap about once in 200 steps: the slowest timescale is ~100 steps.
    eps = 0.005
    T = np.array([[1 - eps, eps], [eps, 1 - eps]])
    dtrajs = _chain(T, 40, 3000, 1)
    slowest = -1 / np.log(1 - 2 * eps)
    short = S.markov_model(dtrajs, 2, lags=(1, 2, 5))
    assert short.ck_lags[-1] < slowest                       # four multiples of lag 1: 4 steps
    long = S.markov_model(dtrajs, 2, lags=(1, 2, 5), ck_to_slowest=True)
    assert long.ck_lags[-1] >= slowest and long.ck_error < 0.05


def test_a_lag_without_a_reversible_estimate_is_skipped(monkeypatch):
    """deeptime's reversible iteration can fail at one lag (a stationary weight underflows); that lag gets no
    timescale, the lag choice and the CK test go on without it, and no lag at all is an error."""
    T = np.array([[0.9, 0.1, 0.0], [0.05, 0.9, 0.05], [0.0, 0.1, 0.9]])
    dtrajs = _chain(T, 50, 1000, 3)
    real = S._msm
    monkeypatch.setattr(S, "_msm", lambda d, lag: None if lag in (1, 6) else real(d, lag))
    m = S.markov_model(dtrajs, 3, lags=(1, 2, 4))
    assert np.isnan(m.timescales[0, 0]) and np.isfinite(m.timescales[1:, 0]).all()
    assert m.lag == 2 and m.ck_lags.tolist() == [0, 2, 4, 8]            # 3 × 2 = 6 failed too: left out of the test
    monkeypatch.setattr(S, "_msm", lambda d, lag: None)
    with pytest.raises(ValueError, match="no lag"):
        S.markov_model(dtrajs, 3, lags=(1, 2))
    assert S.choose_lag(np.array([1, 2, 5]), np.array([1.0, 3.0, np.nan])) == (2, False)
