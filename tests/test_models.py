"""The fast time loop, the noise, and reproducibility (docs/methods.md §4)."""
import math

import pytest
import torch

from utils import config as C
from benchmarks.baseline import baseline_forward
from utils.models import build_network, draw_noise
from utils.tasks import sample_batch


def small(task, condition, **over):
    cfg = C.resolve_config(task, condition, 0, "smoke", over)
    return cfg, build_network(cfg.task, cfg.model, cfg.seed)


@pytest.mark.parametrize("task,condition", [("spatial", "noisy_unbiased"), ("head_direction", "noisy_biased"),
                                            ("spatial", "gru_noisy_unbiased")])
def test_fast_loop_equals_per_step_loop(task, condition, gen):
    cfg, net = small(task, condition)
    batch = sample_batch(cfg.task, net.cells, 6, gen, steps=25)
    net = net.double()
    with torch.no_grad():  # a non-zero bias, so that both loops must use it
        net.bias.normal_(0, 0.3, generator=torch.Generator().manual_seed(1))
    inputs, code = batch.inputs.double(), batch.init_code.double()
    noise = 0.05 * torch.randn(6, 25, cfg.model.n_rec, generator=gen, dtype=torch.float64)
    grads = []
    results = []
    for forward in (lambda h0: net(inputs, h0, noise=noise), lambda h0: baseline_forward(net, inputs, h0, noise)):
        net.zero_grad()
        states, outputs = forward(net.initial_state(code))
        ((outputs - batch.targets.double()) ** 2).mean().backward()
        results.append((states.detach(), outputs.detach()))
        grads.append([p.grad.clone() for p in net.parameters()])
    (s_fast, o_fast), (s_ref, o_ref) = results
    # float64 throughout: the two loops differ only in the order of additions
    torch.testing.assert_close(s_fast, s_ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(o_fast, o_ref, rtol=0, atol=1e-12)
    for g_fast, g_ref in zip(*grads):
        torch.testing.assert_close(g_fast, g_ref, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("kind,mean", [("gaussian", 0.0), ("uniform", 0.5)])
def test_noise_mean_and_std_per_step(kind, mean, gen):
    """Gaussian: N(0, std²). Uniform (released code): std · U[0, 1), mean std/2 and sd std/√12."""
    std = 0.01
    xi = draw_noise((200, 100, 64), std, kind, gen, "cpu")
    sd = std if kind == "gaussian" else std / math.sqrt(12)
    assert abs(xi.mean().item() - mean * std) < 0.01 * std
    assert abs(xi.std().item() - sd) < 0.01 * sd
    if kind == "uniform":
        assert xi.min() >= 0 and xi.max() < std


def test_network_noise_is_the_configured_std(gen):
    """With zero weights a step is pure noise, so the increments' std is exactly noise_std."""
    cfg, net = small("spatial", "noisy_unbiased", noise_std=0.02)
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
    h0 = torch.zeros(100, cfg.model.n_rec)
    states, _ = net.quiescent(h0, 50, noise_std=0.02, generator=gen)
    # h_{t+1} = (1 − α) h_t + ξ_t  ⇒  ξ_t = h_{t+1} − (1 − α) h_t
    prev = torch.cat([h0[:, None], states[:, :-1]], 1)
    xi = states - (1 - net.alpha) * prev
    assert abs(xi.mean().item()) < 0.0005
    assert abs(xi.std().item() - 0.02) < 0.0005


def test_quiescence_accepts_zero_input_of_any_length(gen):
    cfg, net = small("head_direction", "noisy_unbiased")
    h0 = torch.randn(3, cfg.model.n_rec, generator=gen)
    for steps in (1, 7, 300):
        states, outputs = net.quiescent(h0, steps, noise_std=0.1, generator=gen)
        assert states.shape == (3, steps, cfg.model.n_rec) and outputs.shape == (3, steps, cfg.task.n_cells)
    noiseless, _ = net.quiescent(h0, 5, noise_std=0.0)
    again, _ = net.quiescent(h0, 5, noise_std=0.0)
    assert torch.equal(noiseless, again)


def test_same_seed_gives_bitwise_identical_weights():
    cfg = C.resolve_config("spatial", "gru_noisy_biased", 3, "smoke")
    a, b = (build_network(cfg.task, cfg.model, 3).state_dict() for _ in range(2))
    assert all(torch.equal(a[k], b[k]) for k in a)
    c = build_network(cfg.task, cfg.model, 4).state_dict()
    assert not torch.equal(a["w_rec.weight"], c["w_rec.weight"])
    assert not torch.equal(a["cells.centres"], c["cells.centres"])


def test_biases_only_inside_the_nonlinearity():
    for cond, gates in (("noisy_unbiased", 1), ("gru_noisy_unbiased", 3)):
        cfg, net = small("spatial", cond)
        assert [(n, p.shape) for n, p in net.named_parameters() if "bias" in n] == [("bias", (gates * cfg.model.n_rec,))]
        assert torch.equal(net.bias, torch.zeros_like(net.bias))   # zero at initialisation
        _, as_written = small("spatial", cond, recurrent_bias=False)
        assert not [n for n, _ in as_written.named_parameters() if "bias" in n]
        # the bias draws no random numbers: both variants of a seed start from the same weights
        a, b = net.state_dict(), as_written.state_dict()
        assert all(torch.equal(b[k], a[k]) for k in b)


def test_rnn_step_by_hand():
    """r ← r + α(−r + ReLU(W r + drive)) + ξ with two units, α = 0.5, worked out on paper:
    the expected values below are computed by hand in the comments."""
    from utils.models import rnn_step
    w = torch.tensor([[1.0, 2.0], [0.0, 1.0]])
    h = torch.tensor([[1.0, -1.0], [2.0, 1.0]])
    drive = torch.tensor([[0.5, -0.5], [0.0, 1.0]])
    noise = torch.tensor([[0.1, 0.0], [0.0, -0.2]])
    # row 0: pre (−0.5, −1.5) → rate (0, 0); (1 − 0.5)·(1, −1) + (0.1, 0) = (0.6, −0.5)
    # row 1: pre (2 + 2, 0 + 1 + 1) = (4, 2) → rate (4, 2); 0.5·(2, 1) + 0.5·(4, 2) + (0, −0.2) = (3, 1.3)
    expected = torch.tensor([[0.6, -0.5], [3.0, 1.3]])
    torch.testing.assert_close(rnn_step(h, drive, noise, w, 0.5), expected)


def test_gru_step_by_hand():
    """One CT-GRU step with one unit where every gate is computed by hand."""
    from utils.models import gru_step
    h = torch.tensor([[1.0]])
    w_zg = torch.tensor([[0.0], [2.0]])          # W_z = 0, W_g = 2
    w_r = torch.tensor([[0.5]])
    drive = torch.tensor([[0.0, -2.0, 1.0]])     # U_z Δs = 0, U_g Δs = −2, U_r Δs = 1
    noise = torch.tensor([[0.05]])
    z = 0.5                                      # sigmoid(0 · 1 + 0)
    g = 0.5                                      # sigmoid(2 · 1 − 2)
    candidate = math.tanh(0.5 * g * 1.0 + 1.0)   # tanh(1.25)
    expected = 1.0 + 0.4 * (1 - z) * (candidate - 1.0) + 0.05
    torch.testing.assert_close(gru_step(h, drive, noise, w_zg, w_r, 0.4), torch.tensor([[expected]]))
