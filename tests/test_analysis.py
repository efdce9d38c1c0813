"""Analyses with known answers (docs/methods.md §5–6): KL, variance, step distance, PCA, bearings, quiescence."""
import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats

from utils import analysis as A
from utils import config as C
from utils.models import build_network
from utils.tasks import sample_batch


def small(task="spatial", condition="noisy_unbiased", **over):
    cfg = C.resolve_config(task, condition, 0, "smoke", over)
    return build_network(cfg.task, cfg.model, cfg.seed).eval()


def zeroed(net):
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
    return net


def increments(hidden, h0, alpha):
    """With zero weights h_{t+1} = (1 − α) h_t + ξ_t, so the noise is ξ_t = h_{t+1} − (1 − α) h_t."""
    prev = np.concatenate([h0.cpu().numpy()[:, None], hidden[:, :-1]], axis=1)
    return hidden - (1 - alpha) * prev


# ---------------------------------------------------------------------------------------------- KL divergence


def test_kl_of_a_kde_with_itself_is_zero():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3000, 2))
    assert abs(A.kl_divergence(a, a, 2500, seed=1)) < 1e-12  # identical KDEs: every log ratio is 0
    b = rng.normal(size=(3000, 2))  # an independent sample of the same distribution
    kl = A.kl_divergence(a, b, 2500, seed=1)
    assert abs(kl) < 0.05
    assert A.kl_divergence(a, b, 2500, seed=1) == kl != A.kl_divergence(a, b, 2500, seed=2)  # seeded samples


def gaussian_kl(m0, s0, m1, s1):
    inv = np.linalg.inv(s1)
    return 0.5 * (np.trace(inv @ s0) + (m1 - m0) @ inv @ (m1 - m0) - len(m0)
                  + np.log(np.linalg.det(s1) / np.linalg.det(s0)))


def test_kl_between_gaussians_matches_the_analytic_value():
    """q = N(0, diag(1, ½)), p = N((1, 0), 2I): KL = ½(¾ + ½ − 2 + log 8) = 0.665 nats. q is anisotropic so
    that samples with swapped coordinates are caught; p is the wider one, so q's samples sit where the KDE
    of p is well sampled (the other way round KDE tails bias the estimate up by ~40 %)."""
    m0, s0, m1, s1 = np.zeros(2), np.diag([1.0, 0.5]), np.array([1.0, 0.0]), 2 * np.eye(2)
    exact = gaussian_kl(m0, s0, m1, s1)
    assert exact == pytest.approx(0.5 * (0.75 + 0.5 - 2 + math.log(8)))
    # The estimator itself on exact densities (Monte-Carlo error only).
    q, p = stats.multivariate_normal(m0, s0), stats.multivariate_normal(m1, s1)
    assert A.kl_divergence(q, p, 4000, seed=0) == pytest.approx(exact, rel=0.05)
    # As used: both sides are KDEs of samples, which adds the KDE's error (−5 % … +3 % over seeds 0–7).
    rng = np.random.default_rng(0)
    a, b = rng.multivariate_normal(m0, s0, 4000), rng.multivariate_normal(m1, s1, 4000)
    assert A.kl_divergence(a, b, 4000, seed=0) == pytest.approx(exact, rel=0.10)


def test_uniform_box_density_is_the_joint_density():
    u = A.uniform_box_density(2.2)
    inside = np.array([[0.0, 0.0], [1.1, -1.1], [-0.5, 1.0]])
    outside = np.array([[1.2, 0.0], [0.0, -1.11], [3.0, 3.0]])
    np.testing.assert_allclose(u(inside), 1 / 4.84)
    np.testing.assert_array_equal(u.pdf(outside), 0.0)
    x = u.sample(10000, np.random.default_rng(0))
    assert x.shape == (10000, 2) and np.all(np.abs(x) <= 1.1)
    assert abs(x.mean()) < 0.02 and x.std() == pytest.approx(2.2 / math.sqrt(12), rel=0.02)


def test_kl_from_uniform_to_a_kde_of_uniform_samples_is_the_edge_deficit():
    """KL(𝒰 ‖ KDE of uniform samples) is not 0: near a wall the KDE is ≈ Φ(t/h)/L (mass leaks out), so the
    KL is ≈ Σ_walls (h/L) ∫₀^∞ −log Φ(s) ds = 4 (h/L) · 0.4775 ≈ 0.138 nats for 4000 points (h = Scott
    bandwidth). Tolerance 0.03: the spread over seeds is ≈ 0.006 and corners/finite-n add ≈ 0.005, while a
    per-axis density (+0.79), a missed wall or a 0-outside error would be far outside it."""
    pts = np.random.default_rng(0).uniform(-1.1, 1.1, size=(4000, 2))
    fitted = A.kde(pts)
    h = fitted.factor * pts.std(axis=0).mean()
    edge = integrate.quad(lambda s: -stats.norm.logcdf(s), 0, np.inf)[0]
    predicted = 4 * (h / 2.2) * edge
    kl = A.kl_divergence(A.uniform_box_density(2.2), fitted, 2500, seed=0)
    assert abs(kl - predicted) < 0.03, (kl, predicted)
    assert kl < 0.2


def test_kl_clips_samples_where_the_baseline_density_is_zero():
    """The other direction: q-samples outside the box have p = 0, so log(ratio) = log 1e7 (clipped)."""
    far = np.random.default_rng(0).normal(5.0, 0.1, size=(500, 2))
    assert A.kl_divergence(far, A.uniform_box_density(2.2), 500, seed=0) == pytest.approx(math.log(1e7))
    # And a q that puts no mass where p is: clipped at 1e7 from the other side too.
    assert A.kl_divergence(far, lambda x: np.full(len(x), 1e300), 500) == pytest.approx(math.log(1e-7))


def test_kl_matrix_rows_are_active_columns_quiescent():
    rng = np.random.default_rng(0)
    act = {"a0": rng.normal(size=(400, 2)), "a1": rng.normal(1.0, 1.0, size=(400, 2))}
    qui = {"q0": rng.normal(size=(400, 2)), "U": A.uniform_box_density(2.2)}
    m = A.kl_matrix(qui, act, 300, seed=3)
    assert m.shape == (2, 2)
    assert m[1, 0] == pytest.approx(A.kl_divergence(qui["q0"], act["a1"], 300, seed=3))
    assert m[0, 1] == pytest.approx(A.kl_divergence(qui["U"], act["a0"], 300, seed=3))


def test_kl_matrix_samples_and_evaluates_each_column_once():
    """The quiescent KDE (200 × 1000 points) is the expensive side: one draw and one evaluation per column."""
    calls = {"sample": 0, "pdf": 0}

    class Counting(A.UniformBox):
        def sample(self, n, rng):
            calls["sample"] += 1
            return super().sample(n, rng)

        def pdf(self, x):
            calls["pdf"] += 1
            return super().pdf(x)

    rng = np.random.default_rng(0)
    act = {f"a{i}": rng.uniform(-1, 1, size=(300, 2)) for i in range(4)}
    m = A.kl_matrix({"q": Counting(2.2)}, act, 200, seed=0)
    assert m.shape == (4, 1) and calls == {"sample": 1, "pdf": 1}


def test_kde_map_peaks_at_the_data_and_integrates_to_one():
    pts = np.random.default_rng(0).normal([0.5, -0.3], 0.1, size=(2, 500, 2))  # (B, T, 2) layout
    extent = (-1.1, 1.1, -1.1, 1.1)
    d = A.kde_map(pts, extent, grid=61)
    assert d.shape == (61, 61)
    iy, ix = np.unravel_index(d.argmax(), d.shape)
    xs = np.linspace(-1.1, 1.1, 61)
    assert abs(xs[ix] - 0.5) < 0.05 and abs(xs[iy] + 0.3) < 0.05  # indexed [y, x]
    assert d.sum() * (xs[1] - xs[0]) ** 2 == pytest.approx(1.0, abs=0.01)


# ---------------------------------------------------------------------------------- decoded trajectories


def test_total_variance_on_hand_made_trajectories():
    decoded = np.zeros((2, 5, 2))
    decoded[0, :, 0] = [9, 0, 2, 0, 2]   # after burn-in 1: x var (ddof 1) = 4/3, y constant
    decoded[1, :, 0] = [9, 1, 1, 1, 1]
    decoded[1, :, 1] = [9, 0, 4, 0, 4]   # y var 16/3
    assert A.total_variance(decoded, burn_in=1) == pytest.approx((4 / 3 + 16 / 3) / 2)
    with pytest.raises(ValueError):
        A.total_variance(decoded, burn_in=4)


def test_mean_step_distance_and_distance_from_centre():
    decoded = np.array([[[0, 0], [3, 4], [3, 4], [6, 8]],
                        [[1, 1], [1, 2], [1, 3], [1, 4]]], dtype=float)
    np.testing.assert_allclose(A.mean_step_distance(decoded), [10 / 3, 1.0])
    np.testing.assert_allclose(A.decoded_distance_from_centre(decoded)[0], [0, 5, 5, 10])


# ---------------------------------------------------------------------------------------------------- PCA


def test_explained_variance_of_two_known_directions():
    rng = np.random.default_rng(0)
    u, v = np.eye(20)[3], np.eye(20)[7]
    coef = rng.normal(size=(50, 40, 2)) * [2.0, 1.0]          # variances 4 and 1
    hidden = coef[..., :1] * u + coef[..., 1:] * v + 1e-3 * rng.normal(size=(50, 40, 20))
    ev = A.explained_variance(hidden, k=10)
    assert ev.shape == (10,) and np.all(np.diff(ev) >= -1e-12)
    assert ev[0] == pytest.approx(0.8, abs=0.02) and ev[1] == pytest.approx(1.0, abs=1e-3)
    act, other = A.pc_projection(hidden, hidden[:5], k=2)
    assert act.shape == (50, 40, 2) and other.shape == (5, 40, 2)
    np.testing.assert_allclose(other, act[:5])
    assert act[..., 0].var() == pytest.approx(4.0, rel=0.05)
    ev_small = A.explained_variance(hidden[..., :4], k=10)  # 4 units < 10 PCs: padded with the total
    assert ev_small.shape == (10,) and ev_small[-1] == pytest.approx(1.0)


# ----------------------------------------------------------------------------------------------- bearings


def test_angular_velocity_wraps():
    b = np.array([[3.1, -3.1, -3.0], [0.0, 0.5, 1.0]])[..., None]
    np.testing.assert_allclose(A.angular_velocity(b), [2 * np.pi - 6.2, 0.1, 0.5, 0.5], atol=1e-12)


def test_bearing_histograms_and_their_kl():
    n = 100
    q = np.full(n, 0.01)                                  # all in one bin
    p = np.linspace(-np.pi, np.pi, 20 * 50, endpoint=False) + np.pi / 20  # 50 per bin
    frac, edges = A.bearing_histogram(p, 20)
    np.testing.assert_allclose(frac, 1 / 20)
    assert len(edges) == 21 and edges[0] == -np.pi
    q_hist = np.full(20, 1.0)
    q_hist[10] += n                                      # bin of 0.01 is [0, π/10)
    q_hist /= q_hist.sum()
    expected = np.sum(q_hist * np.log(q_hist / (1 / 20)))
    assert A.bearing_histogram_kl(q, p) == pytest.approx(expected)
    assert A.bearing_histogram_kl(p, p + 2 * np.pi) == pytest.approx(0.0, abs=1e-12)  # wrapped


# -------------------------------------------------------------------------------------------- quiescence


def test_quiescent_noise_std_modes():
    net = small()
    assert A.quiescent_noise_std(net, "scaled") == pytest.approx(math.sqrt(2) * 0.01)
    assert A.quiescent_noise_std(net, "same") == pytest.approx(0.01)
    assert A.quiescent_noise_std(net, math.sqrt(2e-4)) == pytest.approx(0.01414, abs=1e-5)
    assert A.quiescent_noise_std(small(condition="noiseless_unbiased"), "scaled") == 0.0
    assert A.quiescent_noise_std(small(condition="gru_noisy_unbiased"), "paper") == pytest.approx(0.01)
    assert A.quiescent_noise_std(net, "paper") == pytest.approx(math.sqrt(2) * 0.01)
    for bad in ("double", -0.1, True, float("nan")):
        with pytest.raises(ValueError):
            A.quiescent_noise_std(net, bad)


@pytest.mark.parametrize("task,d", [("spatial", 2), ("head_direction", 1)])
def test_runs_shapes_and_reproducibility(task, d):
    net = small(task)
    act = A.active_run(net, 6, steps=12, seed=2)
    n_rec, n_cells = net.cfg.n_rec, net.task_cfg.n_cells
    assert act.hidden.shape == (6, 12, n_rec) and act.outputs.shape == (6, 12, n_cells)
    assert act.states.shape == act.decoded.shape == (6, 12, d) and act.start.shape == (6, d)
    np.testing.assert_array_equal(act.decoded, net.decode(torch.from_numpy(act.outputs)).numpy())
    batch = sample_batch(net.task_cfg, net.cells, 6, torch.Generator().manual_seed(2), steps=12)
    np.testing.assert_array_equal(act.states, batch.states[:, 1:].numpy())   # trajectories of Generator(seed)
    np.testing.assert_array_equal(act.start, batch.states[:, 0].numpy())
    qui = A.quiescent_run(net, 6, 30, seed=2)
    assert qui.hidden.shape == (6, 30, n_rec) and qui.decoded.shape == (6, 30, d)
    # Same initial states as the active batch of that seed, whatever its length.
    assert torch.equal(qui.h0, act.h0) and torch.equal(A.active_run(net, 6, steps=3, seed=2).h0, act.h0)
    again = A.quiescent_run(net, 6, 30, seed=2)
    np.testing.assert_array_equal(again.hidden, qui.hidden)
    assert not np.array_equal(A.quiescent_run(net, 6, 30, seed=3).hidden, qui.hidden)
    np.testing.assert_array_equal(A.active_run(net, 6, steps=12, seed=2).hidden, act.hidden)


def test_quiescence_has_zero_input_and_chunks_seamlessly():
    net = small()
    steps = A.QUIESCENT_CHUNK + 20  # crosses a chunk boundary
    ref = A.quiescent_run(net, 4, steps, seed=0)
    with torch.no_grad():
        net.w_in.weight.mul_(100.0)  # an input weight can matter only if the input is not zero
    np.testing.assert_array_equal(A.quiescent_run(net, 4, steps, seed=0).hidden, ref.hidden)
    light = A.quiescent_run(net, 4, steps, seed=0, keep_states=False)
    assert light.hidden is None and light.outputs is None
    np.testing.assert_array_equal(light.decoded, ref.decoded)
    # The state carries over the boundary: a noiseless run from h0 equals stepping on without the chunks.
    silent = A.quiescent_run(net, 4, steps, noise=0.0, seed=0)
    with torch.no_grad():
        whole, _ = net.quiescent(silent.h0, steps, 0.0)
    np.testing.assert_allclose(silent.hidden, whole.numpy(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("mode,std", [("scaled", math.sqrt(2) * 0.01), ("same", 0.01), (0.05, 0.05)])
def test_quiescent_noise_has_the_requested_std(mode, std):
    net = zeroed(small())  # zero weights: every step is (1 − α) h + noise
    run = A.quiescent_run(net, 16, 60, noise=mode, seed=0)
    xi = increments(run.hidden, run.h0, net.alpha)
    assert run.noise_std == pytest.approx(std)
    assert abs(xi.mean()) < 0.02 * std and xi.std() == pytest.approx(std, rel=0.02)  # 30,720 samples


def test_active_run_uses_the_trained_noise_and_noiseless_quiescence_is_silent():
    net = zeroed(small(noise_std=0.03))
    act = A.active_run(net, 16, steps=60, seed=0)
    assert increments(act.hidden, act.h0, net.alpha).std() == pytest.approx(0.03, rel=0.02)
    silent = A.quiescent_run(zeroed(small(condition="noiseless_unbiased")), 4, 10)
    assert silent.noise_std == 0.0 and not silent.hidden.any()


def test_random_network_like():
    trained = small(condition="noiseless_unbiased")
    rand = A.random_network_like(trained, seed=7)
    fresh = build_network(trained.task_cfg, trained.cfg, 7).state_dict()
    for name, value in rand.state_dict().items():
        if name.startswith("cells."):
            assert torch.equal(value, trained.state_dict()[name])  # decodes on the trained place-cell map
        else:
            assert torch.equal(value, fresh[name])                 # untrained weights of seed 7
    assert rand.task_cfg == trained.task_cfg and rand.cfg.n_rec == trained.cfg.n_rec
    # R^σ: noisy quiescence even for a noiseless reference, at the SP level √(2e-4).
    assert A.quiescent_noise_std(rand, "scaled") == pytest.approx(math.sqrt(2e-4))
    noisy = small(noise_std=0.02)
    assert A.quiescent_noise_std(A.random_network_like(noisy, 1), "scaled") == pytest.approx(0.02 * math.sqrt(2))
    assert A.quiescent_run(rand, 3, 5).decoded.shape == (3, 5, 2)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_torch_kde_equals_scipy(d):
    """`A.kde` evaluates in torch; it must be scipy's `gaussian_kde` to rounding, far from the data too."""
    rng = np.random.default_rng(d)
    data = rng.normal(size=(4000, d)) * np.arange(1, d + 1) + 3.0   # off-centre, anisotropic
    ours, ref = A.kde(data), stats.gaussian_kde(data.T)
    points = rng.normal(size=(d, 300)) * 3 + 3.0
    np.testing.assert_allclose(ours(points), ref(points), rtol=1e-10, atol=0)
    np.testing.assert_allclose(ours.pdf(points), ref.pdf(points), rtol=1e-10, atol=0)
    np.testing.assert_array_equal(ours.resample(10, seed=1), ref.resample(10, seed=1))
    if d == 1:
        np.testing.assert_allclose(ours(points[0]), ref(points[0]), rtol=1e-10, atol=0)
