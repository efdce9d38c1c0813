"""Training, resuming and the model cache (`utils.training`, the loop; `utils.cache`, the directories)."""
import json

import torch

from utils import config as C
from utils.cache import TrainedModel, get_model, load_model, run_dir_for, train


def smoke_cfg(**over):
    return C.resolve_config("spatial", "noisy_unbiased", 0, "smoke", {"batches": 20, "save_every": 10} | over)


def test_training_reduces_the_loss(tmp_path):
    net = train(smoke_cfg(batches=60, save_every=60), tmp_path, progress=False)
    assert isinstance(net, TrainedModel) and not hasattr(net.net, "metrics")   # nothing glued on the network
    assert net.metrics["test_loss"][-1] < net.metrics["test_loss"][0]
    assert net.metrics["test_batch"] == [0, 10, 20, 30, 40, 50, 60]
    assert len(net.metrics["train_loss"]) == 60


def test_resume_is_bitwise_identical(tmp_path):
    """2N batches straight equal N batches, a stop, a resume from the checkpoint and N more."""
    cfg = smoke_cfg()
    straight = train(cfg, tmp_path / "straight", progress=False)
    train(cfg, tmp_path / "resumed", progress=False, stop_after=10)
    assert (tmp_path / "resumed" / "checkpoint.pt").exists() and not (tmp_path / "resumed" / "model.pt").exists()
    resumed = train(cfg, tmp_path / "resumed", progress=False)
    a, b = straight.net.state_dict(), resumed.net.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert straight.metrics == resumed.metrics
    assert not (tmp_path / "resumed" / "checkpoint.pt").exists()


def test_checkpoints_load_with_weights_only(tmp_path):
    train(smoke_cfg(), tmp_path / "partial", progress=False, stop_after=10)
    ckpt = torch.load(tmp_path / "partial" / "checkpoint.pt", weights_only=True)
    assert ckpt["batch"] == 10 and "optimizer" in ckpt
    net = train(smoke_cfg(), tmp_path / "done", progress=False)
    state = torch.load(tmp_path / "done" / "model.pt", weights_only=True)
    assert set(state) == set(net.net.state_dict())
    loaded = load_model(tmp_path / "done")
    assert loaded.config == smoke_cfg() and loaded.seed == loaded.net.seed == 0
    assert json.loads((tmp_path / "done" / "config.json").read_text()) == C.to_dict(smoke_cfg())


def test_get_model_uses_the_cache_and_never_a_stale_model(tmp_path):
    net = get_model("head_direction", "noisy_unbiased", 1, "smoke", tmp_path, progress=False)
    mtime = (net.run_dir / "model.pt").stat().st_mtime_ns
    again = get_model("head_direction", "noisy_unbiased", 1, "smoke", tmp_path, progress=False)
    assert again.run_dir == net.run_dir and (net.run_dir / "model.pt").stat().st_mtime_ns == mtime
    changed = get_model("head_direction", "noisy_unbiased", 1, "smoke", tmp_path, progress=False, lr=2e-3)
    assert changed.run_dir != net.run_dir
    assert changed.run_dir.parent == net.run_dir.parent  # same task/condition folder, new hash
    cfg = C.resolve_config("head_direction", "noisy_unbiased", 1, "smoke")
    assert net.run_dir == run_dir_for(cfg, "smoke", tmp_path)
    assert net.run_dir.name.startswith("seed1-")


def test_fused_readout_loss_matches_autograd():
    """`readout_mse` (hand-written backward) equals readout + `loss_fn` in value and in both gradients."""
    from utils.models import build_network
    from utils.training import ReadoutMSE, loss_fn, readout_mse

    cfg = C.resolve_config("spatial", "noisy_unbiased", 0, "smoke")
    net = build_network(cfg.task, cfg.model, 0).double()
    gen = torch.Generator().manual_seed(0)
    states = torch.randn(3, 5, cfg.model.n_rec, generator=gen, dtype=torch.float64, requires_grad=True)
    targets = torch.rand(3, 5, cfg.task.n_cells, generator=gen, dtype=torch.float64)

    fused = readout_mse(net, states, targets)
    g_states, g_weight = torch.autograd.grad(fused, (states, net.readout.weight))
    plain = loss_fn(net.readout(states), targets)
    r_states, r_weight = torch.autograd.grad(plain, (states, net.readout.weight))
    torch.testing.assert_close(fused, plain, rtol=1e-12, atol=0)
    torch.testing.assert_close(g_states, r_states, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(g_weight, r_weight, rtol=1e-12, atol=1e-15)
    weight = net.readout.weight.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(ReadoutMSE.apply, (states, weight, targets))
