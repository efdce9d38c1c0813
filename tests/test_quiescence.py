"""Quiescence judged on the run itself (utils/quiescence.py) and the map's verdicts (utils/figures/ext_conditions/):
the protocols do what they say on networks whose answer is known, and every criterion has a control that fails it
(a frozen state, a drifting density, a diverging norm, a random walk on a biased network)."""
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from utils import analysis as A
from utils import config as C
from utils import quiescence as Q
from utils import report
from utils import steady_state as S
from utils.figures import ext_conditions as E
from utils.models import build_network

SP = C.TaskConfig()
BINS = S.bins_for(SP)


def _net(n=6, **model):
    cfg = C.resolve_config("spatial", "noisy_unbiased", 0, "smoke", {"n_rec": n, **model})
    return build_network(cfg.task, cfg.model, 0).eval()


def _ctx(net, pcs=None, mean=None, input_std=None):
    n = net.cfg.n_rec
    return Q.Context(torch.eye(n)[:2] if pcs is None else pcs, torch.zeros(n) if mean is None else mean,
                     torch.ones(2) if input_std is None else input_std, active_norm=1.0, active_step=0.05)


def _silence(net):
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()


# --- the protocols -----------------------------------------------------------------------------------------------

def test_the_paper_protocol_is_the_network_s_own_quiescent_step():
    net = _net()
    h0 = torch.randn(4, 6, generator=torch.Generator().manual_seed(0))
    ctx = _ctx(net)
    sim = Q.advance(net, Q.start(net, h0, ctx, seed=3), 7, Q.Protocol(), ctx)
    gen = torch.Generator().manual_seed(3 + A.QUIESCENT_NOISE_STREAM)
    with torch.no_grad():
        states, out = net.quiescent(h0, 7, math.sqrt(2) * net.cfg.noise_std, gen)
    assert np.allclose(sim.decoded[0], net.decode(out).numpy(), atol=1e-5)
    assert np.allclose(sim.norms[0], states.norm(dim=-1).mean(0).numpy(), atol=1e-5)


def test_manifold_noise_moves_the_state_only_along_the_pcs():
    net = _net()
    _silence(net)                      # no recurrence, no input: r ← (1 − α) r + noise
    pcs = torch.linalg.qr(torch.randn(6, 2, generator=torch.Generator().manual_seed(1)))[0].T
    ctx = _ctx(net, pcs=pcs)
    sim = Q.start(net, torch.zeros(50, 6), ctx, seed=0)
    Q.advance(net, sim, 20, Q.Protocol(alpha=0.0, manifold_alpha=5.0), ctx)
    off = sim.h - (sim.h @ pcs.T) @ pcs
    assert sim.h.norm() > 0.01 and off.norm() < 1e-5 * sim.h.norm()
    # the total std along the PCs is manifold_alpha × σ: with α = 0 all of it is the extra noise
    sim = Q.start(net, torch.zeros(4000, 6), ctx, seed=0)
    Q.advance(net, sim, 1, Q.Protocol(alpha=0.0, manifold_alpha=5.0), ctx)
    assert float((sim.h @ pcs.T).std()) == pytest.approx(5.0 * net.cfg.noise_std, rel=0.05)


def test_input_noise_enters_through_the_input_weights_only():
    net = _net()
    _silence(net)
    with torch.no_grad():
        net.w_in.weight.fill_(1.0)      # every unit gets Δx + Δy through the ReLU
    ctx = _ctx(net, input_std=torch.tensor([0.5, 0.5]))
    sim = Q.start(net, torch.zeros(20000, 6), ctx, seed=0)
    Q.advance(net, sim, 1, Q.Protocol(alpha=0.0, input_noise=2.0), ctx)
    # one step from 0: h = α ReLU(Δx + Δy), Δx, Δy ~ N(0, (2 × 0.5)²): the mean of ReLU(N(0, 2)) is √(2/2π)
    assert float(sim.h[:, 0].mean()) == pytest.approx(net.alpha * math.sqrt(2 / (2 * math.pi)), rel=0.05)
    assert torch.allclose(sim.h[:, 0], sim.h[:, 5])


def test_adaptation_is_silent_at_its_set_point_and_pushes_back_above_it():
    net = _net()
    mean = torch.full((6,), 0.3)
    ctx = _ctx(net, mean=mean)

    def run(start, gain, steps):
        sim = Q.start(net, start.expand(3, 6).clone(), ctx, seed=0)
        return Q.advance(net, sim, steps, Q.Protocol(alpha=0.0, adaptation=gain, adaptation_steps=5), ctx)
    assert torch.allclose(run(mean, 0.0, 1).h, run(mean, 2.0, 1).h)          # a = r̄: no feedback on the first step
    # homeostasis: from above or below, the slow feedback leaves the state nearer its set point than the network
    # alone does (whose own dynamics pull it elsewhere)
    for start in (mean + 1.0, torch.zeros(6)):
        assert (run(start, 2.0, 60).h - mean).norm() < (run(start, 0.0, 60).h - mean).norm()


def test_the_protocols_refuse_a_gru():
    net = _net(cell="gru")
    with pytest.raises(ValueError, match="vanilla RNN"):
        Q.advance(net, Q.start(net, torch.zeros(2, 6), _ctx(net), 0), 3, Q.Protocol(), _ctx(net))


# --- settling and divergence -------------------------------------------------------------------------------------

def _uniform_run(rng, n=100, t=4000):
    return rng.uniform(-1.1, 1.1, (n, t, 2))


def test_a_stationary_run_settles_and_a_drifting_one_does_not():
    rng = np.random.default_rng(0)
    run = _uniform_run(rng)
    assert Q.quarter_check(run, np.ones(4000), BINS, 1.0)["settled"]
    # the same run gathering toward a corner: each point moved a growing share of the way there
    share = np.linspace(0, 0.9, 4000)[None, :, None]
    drifting = run * (1 - share) + share * np.array([1.0, 1.0])
    check = Q.quarter_check(drifting, np.ones(4000), BINS, 1.0)
    assert not check["settled"] and check["quarter_kl"] > Q.SETTLE_KL
    # a stationary density with a norm that keeps growing has not settled either, and past 10 × it diverges
    growing = np.linspace(1, 3, 4000)
    assert not Q.quarter_check(run, growing, BINS, 1.0)["settled"]
    assert Q.quarter_check(run, np.linspace(1, 30, 4000), BINS, 1.0)["diverged"]
    assert Q.quarter_check(run, np.full(4000, np.nan), BINS, 1.0)["diverged"]


def test_a_long_run_stops_at_the_first_settled_horizon_and_a_diverging_one_at_once():
    net = _net()
    _silence(net)
    ctx = _ctx(net)
    judged = Q.long_run(net, torch.zeros(200, 6), Q.Protocol(), ctx, 0, BINS, horizons=(40, 80, 160))
    assert judged.settled and not judged.diverged and judged.steps == judged.checks[-1]["steps"]
    assert not any(c["settled"] for c in judged.checks[:-1]) and judged.late.shape == (200, judged.steps // 4, 2)
    with torch.no_grad():
        net.w_rec.weight.copy_(3 * torch.eye(6))       # r ← 0.8 r + 0.2 ReLU(3 r): grows 1.4× a step
    judged = Q.long_run(net, torch.ones(8, 6), Q.Protocol(), ctx, 0, BINS, horizons=(40, 80, 160))
    assert judged.diverged and not judged.settled and judged.steps == 40


def test_a_frozen_state_fails_smoothness_and_a_moving_one_passes():
    rng = np.random.default_rng(1)
    active = np.cumsum(rng.normal(0, 0.02, (50, 100, 2)), axis=1)
    moving = np.cumsum(rng.normal(0, 0.02, (50, 400, 2)), axis=1)
    frozen = np.repeat(rng.uniform(-1, 1, (50, 1, 2)), 400, axis=1)
    rule = E.Sufficiency()

    def row(decoded):
        j = Q.Judged(decoded, np.ones(400), 400, True, False, 0.0, 0.0, [])
        return SimpleNamespace(steps_quiescent=Q.smoothness(j, float(A.step_lengths(active).mean()), False),
                               steps_active=A.step_statistics(active, False, A.JUMP_LENGTH))
    assert rule.smooth(row(moving)) and row(moving).steps_quiescent["moving"] >= Q.MOVE_FRACTION
    assert not rule.smooth(row(frozen)) and row(frozen).steps_quiescent["moving"] == 0
    # it would have passed the step rule alone: no step at all is never a jump
    assert A.smooth_as_active(row(frozen).steps_quiescent, row(frozen).steps_active, 2, 0.005, 1.5)


# --- the sharpened density and the verdicts ---------------------------------------------------------------------

def test_the_sharpened_density():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    assert np.allclose(Q.sharpened(p, 1), p) and np.allclose(Q.sharpened(p, 0), 0.25)
    q = Q.sharpened(p, 3)
    assert q.sum() == pytest.approx(1) and np.allclose(q, p ** 3 / (p ** 3).sum())
    power, kl = E.best_exponent(q, p)
    assert power == pytest.approx(3, abs=0.1) and kl < 1e-3


def _ring(rng, n):
    angle, radius = rng.uniform(0, 2 * np.pi, n), rng.normal(0.5, 0.05, n)
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)


def _judged_row(late_u, late_b, p_u, p_b, untrained, settled=True):
    """A map row as `ext_conditions.judge` writes it (the numbers the verdicts read), smooth and trained."""
    steps = {"jump_fraction": 0.004, "p99": 0.17, "median": 0.02, "mean": 0.03, "late_mean": 0.03, "moving": 1.0}
    biased = SimpleNamespace(settled=settled, diverged=False, kl_late=S.kl(late_b, p_b),
                             baselines={"𝒰": S.kl(S.uniform(BINS), p_b), "U^σ late": S.kl(late_u, p_b),
                                        "R^σ late": untrained})
    return SimpleNamespace(decoding_mse=0.01, steps_quiescent=steps, steps_active=dict(steps), settled=settled,
                           diverged=False, kl_late=S.kl(late_u, p_u), kl_uniform=S.kl(S.uniform(BINS), p_u),
                           biased=biased)


def test_a_random_walk_passes_the_unbiased_criterion_but_not_the_biased_one():
    rng = np.random.default_rng(2)
    p_u = S.histogram(rng.uniform(-1.1, 1.1, (20000, 2)), BINS)
    p_b = S.histogram(_ring(rng, 20000), BINS)
    walk = S.histogram(rng.uniform(-1.1, 1.1, (20000, 2)), BINS)        # what a random walk settles to: the box
    sampler = S.histogram(_ring(rng, 20000), BINS)                       # what a sampler of the ring settles to
    untrained = S.kl(S.histogram(rng.normal(0, 0.2, (20000, 2)), BINS), p_b)
    rule = E.Sufficiency()
    walking = _judged_row(walk, walk, p_u, p_b, untrained)
    assert rule.stationary(walking) and not rule.biased(walking) and not rule.meets(walking)
    sampling = _judged_row(walk, sampler, p_u, p_b, untrained)
    assert rule.biased(sampling) and rule.meets(sampling) and rule.shortfall(sampling) == 0
    assert not rule.meets(_judged_row(walk, sampler, p_u, p_b, untrained, settled=False))   # never settled


def test_ext_conditions_passes_only_when_one_condition_meets_all_four_on_every_seed():
    rng = np.random.default_rng(3)
    p_u = S.histogram(rng.uniform(-1.1, 1.1, (20000, 2)), BINS)
    p_b = S.histogram(_ring(rng, 20000), BINS)
    walk, ring = (S.histogram(x, BINS) for x in (rng.uniform(-1.1, 1.1, (20000, 2)), _ring(rng, 20000)))
    good, bad = _judged_row(walk, ring, p_u, p_b, 1.0), _judged_row(walk, walk, p_u, p_b, 1.0)
    params = vars(E.Sufficiency())
    v = report.CHECKS["ext-conditions"](
        SimpleNamespace(conditions={"walk": {"0": bad, "1": bad}, "half": {"0": good, "1": bad}}, hd={}), params)
    assert not v.passed and v.per_seed["half"] == "trained all, smooth all, stationary all, biased seed 0"
    v = report.CHECKS["ext-conditions"](SimpleNamespace(conditions={"walk": {"0": bad}, "good": {"0": good, "1": good}},
                                                        hd={}), params)
    assert v.passed and v.value.endswith("good")


def test_the_sufficiency_rule_is_the_claims_params():
    (claim,) = [c for c in report.load_claims() if c["id"] == "ext-conditions"]
    assert claim["params"] == vars(E.Sufficiency())


def test_ext_sharpened_asks_the_prediction_to_be_closer_everywhere():
    def row(kl_late, kl_pred, biased=None):
        return SimpleNamespace(k=8.0, kl_late=kl_late, biased=biased,
                               sharpened=SimpleNamespace(power=8.0, kl=kl_pred, best_power=2.0, best_kl=0.1))
    closer = {"0": row(0.7, 0.2, row(0.4, 0.1))}
    r = SimpleNamespace(conditions={"default": closer, "α = 2": closer}, hd={})
    assert report.CHECKS["ext-sharpened"](r, {}).passed
    r.conditions["α = 4"] = {"0": row(0.7, 0.2, row(0.4, 0.5))}   # one biased case farther
    v = report.CHECKS["ext-sharpened"](r, {})
    assert not v.passed and v.value.startswith("5 of 6")


# --- the second-order cell -----------------------------------------------------------------------------------------

def test_a_second_order_cell_keeps_its_velocity_across_calls():
    net = _net(momentum=0.5)
    h0 = torch.randn(3, 6, generator=torch.Generator().manual_seed(4))
    ctx = _ctx(net)
    sim = Q.start(net, h0, ctx, seed=0)
    for _ in range(2):                                  # two calls of 5 steps, noiseless
        Q.advance(net, sim, 5, Q.Protocol(alpha=0.0), ctx)
    with torch.no_grad():
        states, _ = net(torch.zeros(3, 10, 2), h0, noise_std=0.0)
    assert torch.allclose(sim.h, states[:, -1], atol=1e-6) and sim.velocity.abs().sum() > 0
    with pytest.raises(ValueError, match="first-order"):
        A.quiescent_run(net, 3, 10)                     # it would restart every chunk at rest


def test_momentum_enters_the_hash_only_when_set_and_only_for_the_rnn():
    base = C.resolve_config("spatial", "noisy_unbiased", 0, "laptop")
    assert "momentum" in C.to_dict(base)["model"]
    assert C.run_hash(base) == "9a6c1d32c992"           # the default laptop network's hash from before the field
    assert C.run_hash(C.apply_overrides(base, {"momentum": "0.5"})) != C.run_hash(base)
    for bad in ({"momentum": "1"}, {"momentum": "-0.1"}, {"momentum": "0.5", "cell": "gru"}):
        with pytest.raises(C.ConfigError, match="momentum"):
            C.apply_overrides(base, bad)


def test_a_config_saved_before_a_field_existed_still_matches(tmp_path):
    from utils import cache
    cfg = C.resolve_config("spatial", "noisy_unbiased", 0, "smoke")
    saved = C.to_dict(cfg)
    del saved["model"]["momentum"]
    run = tmp_path / f"seed0-{C.run_hash(cfg)}"
    run.mkdir()
    (run / "config.json").write_text(__import__("json").dumps(saved))
    assert cache.check_config(run, cfg) == cfg
