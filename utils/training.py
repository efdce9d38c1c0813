"""Training: Adam on the MSE of the target cells' rates, a fresh batch per step.

`train_step` is one step (pure apart from the optimiser it advances); `TrainingState` is everything a run
carries from one batch to the next (weights, Adam, the data and noise generators, the curves), so that
`snapshot`/`restore` make a resumed run bitwise identical to an unbroken one; `run_batches` is the loop, with
a callback after every batch (where `utils.cache` writes its checkpoints). Where a run lives on disk, and
when a model is trained at all, is `utils.cache`'s business.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from . import config as C
from .models import Network, build_network
from .tasks import Batch, decode_error, sample_batch

# Offsets that give the data, noise and test streams of one seed their own generators.
DATA_STREAM, NOISE_STREAM, TEST_STREAM = 1_000_003, 2_000_003, 3_000_003


def resolve_device(device: str | None) -> torch.device:
    """'auto' (or None) picks CUDA when present; anything else is taken as given."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise C.ConfigError(f"device {device!r} requested but CUDA is not available; use --device cpu")
    if str(device).split(":")[0] not in ("cpu", "cuda", "mps"):
        raise C.ConfigError(f"unknown device {device!r}; choose cpu, cuda or auto")
    return torch.device(device)


def loss_fn(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error over batch, time and cells.

    `mse_loss` is mean((outputs − targets)²) in one fused pass forward and one backward, where the written-out
    form allocates and walks three more (B, T, n_cells) tensors (≈ 10% of a CPU step; `make bench`).
    """
    return torch.nn.functional.mse_loss(outputs, targets)


class ReadoutMSE(torch.autograd.Function):
    """`loss_fn(states @ weight.T, targets)` with a hand-written backward.

    The (B, T, n_cells) outputs are the largest tensors of a laptop-sized step (512 cells, 128 units), and
    autograd's readout + `mse_loss` walks them about eight times (readout, residual, square, and their
    zero-filled gradients). Here the residual is one `addmm`, the loss one dot product, and the backward two
    matmuls from the saved residual: laptop SP and HD steps 1.11–1.12× faster, the GRU's 1.02× (A/B in one
    process, one thread); the tests check values and gradients against autograd.
    """

    @staticmethod
    def forward(ctx, states, weight, targets):
        flat = states.reshape(-1, states.shape[-1])
        residual = torch.addmm(targets.reshape(-1, targets.shape[-1]), flat, weight.T, beta=-1)  # D s − y
        ctx.save_for_backward(flat, weight, residual)
        ctx.states_shape = states.shape
        return torch.dot(residual.view(-1), residual.view(-1)) / residual.numel()

    @staticmethod
    def backward(ctx, grad):
        flat, weight, residual = ctx.saved_tensors
        scaled = residual * (2 * grad / residual.numel())  # d loss / d outputs
        grad_states = (scaled @ weight).reshape(ctx.states_shape) if ctx.needs_input_grad[0] else None
        grad_weight = scaled.T @ flat if ctx.needs_input_grad[1] else None
        return grad_states, grad_weight, None


def readout_mse(net: Network, states: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The training loss from hidden states: equal to `loss_fn(net.readout(states), targets)`."""
    return ReadoutMSE.apply(states, net.readout.weight, targets)


def optimizer_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> float:
    """Backpropagate `loss` and take one optimiser step; returns the loss."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def train_step(net: Network, optimizer: torch.optim.Optimizer, batch: Batch, noise_gen: torch.Generator) -> float:
    """One Adam step on one batch, the readout fused into the loss (`readout_mse`); returns the training loss."""
    h0 = net.initial_state(batch.init_code)
    return optimizer_step(optimizer, readout_mse(net, net.hidden_states(batch.inputs, h0, generator=noise_gen),
                                                 batch.targets))


@torch.no_grad()
def evaluate(net: Network, test_batch: Batch, seed: int) -> tuple[float, float]:
    """Loss and decoding error on the fixed test batch, with the training noise, from a fixed noise seed."""
    gen = torch.Generator(device=test_batch.inputs.device).manual_seed(seed + TEST_STREAM)
    _, outputs = net(test_batch.inputs, net.initial_state(test_batch.init_code), generator=gen)
    err = decode_error(net.task_cfg, net.decode(outputs), test_batch.states[:, 1:])
    return loss_fn(outputs, test_batch.targets).item(), err.item()


def make_test_batch(cells, cfg: C.RunConfig) -> Batch:
    """The fixed test batch of a run (its own seeded stream, independent of training)."""
    return sample_batch(cfg.task, cells, cfg.train.test_batch_size, torch.Generator().manual_seed(cfg.seed + TEST_STREAM))


@dataclass
class TrainingState:
    """What a run carries from one batch to the next; `batch` is the number of batches done."""
    net: Network
    optimizer: torch.optim.Optimizer
    data_gen: torch.Generator
    noise_gen: torch.Generator
    metrics: dict[str, list]
    batch: int = 0


def initial_state(cfg: C.RunConfig, device: torch.device) -> TrainingState:
    """A fresh run: the seeded network, Adam, and the data and noise streams of the seed."""
    net = build_network(cfg.task, cfg.model, cfg.seed).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay)
    return TrainingState(net, optimizer, torch.Generator().manual_seed(cfg.seed + DATA_STREAM),
                         torch.Generator(device=device).manual_seed(cfg.seed + NOISE_STREAM),
                         {"train_loss": [], "test_batch": [], "test_loss": [], "test_decode_error": []})


def snapshot(state: TrainingState) -> dict[str, Any]:
    """Everything `restore` needs to continue bitwise identically (tensors and plain data only)."""
    return {"model": state.net.state_dict(), "optimizer": state.optimizer.state_dict(), "batch": state.batch,
            "data_rng": state.data_gen.get_state(), "noise_rng": state.noise_gen.get_state().cpu(),
            "metrics": state.metrics}


def restore(state: TrainingState, saved: dict[str, Any]) -> None:
    """Continue from a `snapshot` (raises on one that does not fit)."""
    state.net.load_state_dict(saved["model"])
    state.optimizer.load_state_dict(saved["optimizer"])
    state.data_gen.set_state(saved["data_rng"])
    state.noise_gen.set_state(saved["noise_rng"].to(state.noise_gen.get_state().device))
    state.metrics, state.batch = saved["metrics"], saved["batch"]


def run_batches(cfg: C.RunConfig, state: TrainingState, end: int, progress: bool = True,
                after_batch: Callable[[TrainingState], None] | None = None) -> float:
    """Train from `state.batch` to batch `end`, testing every `test_every` batches (and at batch 0 of a fresh
    run); `after_batch(state)` runs after every batch. Returns the seconds the batches took."""
    device = next(state.net.parameters()).device
    cells_cpu = copy.deepcopy(state.net.cells).cpu()  # data is generated on the CPU, then moved
    test_batch = make_test_batch(cells_cpu, cfg).to(device)

    def record_test(batch_index: int):
        loss, err = evaluate(state.net, test_batch, cfg.seed)
        state.metrics["test_batch"].append(batch_index)
        state.metrics["test_loss"].append(loss)
        state.metrics["test_decode_error"].append(err)

    if state.batch == 0:
        record_test(0)
    t0 = time.perf_counter()
    bar = tqdm(range(state.batch, end), initial=state.batch, total=cfg.train.batches, disable=not progress,
               desc=f"{cfg.task.name}/{C.condition_name(cfg)}/seed{cfg.seed}", leave=False)
    for _ in bar:
        batch = sample_batch(cfg.task, cells_cpu, cfg.train.batch_size, state.data_gen).to(device)
        state.metrics["train_loss"].append(train_step(state.net, state.optimizer, batch, state.noise_gen))
        state.batch += 1
        if state.batch % cfg.train.test_every == 0 or state.batch == cfg.train.batches:
            record_test(state.batch)
            bar.set_postfix(loss=f"{state.metrics['test_loss'][-1]:.2e}",
                            decode_err=f"{state.metrics['test_decode_error'][-1]:.2e}")
        if after_batch is not None:
            after_batch(state)
    bar.close()
    return time.perf_counter() - t0


__all__ = ["resolve_device", "loss_fn", "ReadoutMSE", "readout_mse", "optimizer_step", "train_step", "evaluate",
           "make_test_batch", "TrainingState", "initial_state", "snapshot", "restore", "run_batches", "DATA_STREAM",
           "NOISE_STREAM", "TEST_STREAM"]
