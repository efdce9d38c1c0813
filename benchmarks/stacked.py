"""The seed-stacked training step: an experiment that `make bench` measures, not used to train.

The k seeds of one condition differ only in their seed, so they can train as one network with a leading seed
axis: weights stacked to (k, …), batched matmuls (`baddbmm`) and one Adam over the stack,
while each seed keeps its own batches and noise generator. On a CPU a stacked step gives each seed its single
step's numbers to the last bit or two (`tests/test_bench.py`), so stacking would change nothing but speed.
It saves only per-operation dispatch (one kernel call for k seeds): the FLOPs, the elementwise work and the
data generation are the same. On the 2-core CPU at laptop sizes the step is compute-bound and the stack
measured about as fast as its k single steps (docs/performance.md), so training does not use it. It is kept
so that a machine where dispatch dominates (a GPU) shows with one command whether it pays there.

Vanilla RNN only (the benchmark's network).
"""
from __future__ import annotations

import torch

from utils.config import ModelConfig
from utils.models import Network, draw_noise
from utils.tasks import Batch
from utils.training import ReadoutMSE


def stack_parameters(nets: list[Network]) -> dict[str, torch.nn.Parameter]:
    """The networks' parameters stacked along a new leading seed axis, by the names of `named_parameters`."""
    names = [name for name, _ in nets[0].named_parameters()]
    own = [dict(net.named_parameters()) for net in nets]
    return {name: torch.nn.Parameter(torch.stack([p[name].detach() for p in own])) for name in names}


def unstack_parameters(params: dict[str, torch.Tensor], seed_index: int) -> dict[str, torch.Tensor]:
    """One seed's slice of the stack, under the names of a single network's `state_dict`."""
    return {name: p.detach()[seed_index].clone() for name, p in params.items()}


def stacked_affine(c, x, w):
    """`models.affine` for a stack: c + x @ wᵀ per seed, x (k, B, n), w (k, m, n), in one `baddbmm`. On a CPU
    each seed gets the bits of its own `addmm`."""
    return torch.baddbmm(c, x, w.transpose(1, 2))


def stacked_rnn_step(h, drive, noise, w_rec, alpha: float):
    """`models.rnn_step` for a stack (h (k, B, N), w_rec (k, N, N)), in the same order of operations."""
    rate = torch.relu(stacked_affine(drive, h, w_rec))
    return torch.add(noise, h, alpha=1 - alpha).add_(rate, alpha=alpha)


def stacked_hidden_states(params: dict[str, torch.Tensor], model: ModelConfig, inputs: torch.Tensor,
                          h0: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """`Network.hidden_states` for a stack: inputs (T, k, B, n_in), h0 (k, B, N), noise (T, k, B, N) →
    states (k, B, T, N)."""
    if model.cell != "rnn":
        raise ValueError("the stacked step is written for the vanilla RNN only")
    w_in = params["w_in.weight"]
    bias = params["bias"].unsqueeze(1) if "bias" in params else None
    h, states = h0, []
    for x, xi in zip(inputs.unbind(0), noise.unbind(0)):  # W_in Δs (+ b), as `Network.input_drive`
        drive = torch.bmm(x, w_in.transpose(1, 2)) if bias is None else stacked_affine(bias, x, w_in)
        h = stacked_rnn_step(h, drive, xi, params["w_rec.weight"], model.dt_over_tau)
        states.append(h)
    return torch.stack(states, dim=2)


def stacked_train_step(params: dict[str, torch.Tensor], optimizer: torch.optim.Optimizer, model: ModelConfig,
                       batches: list[Batch], noise_gens: list[torch.Generator]) -> list[float]:
    """One Adam step of the stack, seed i on `batches[i]` with noise from `noise_gens[i]`; the k losses."""
    T, B = batches[0].inputs.shape[1], batches[0].inputs.shape[0]
    device = params["w_rec.weight"].device
    noise = torch.stack([draw_noise((T, B, model.n_rec), model.noise_std, model.noise_kind, gen, device)
                         for gen in noise_gens], dim=1)  # each seed's draw exactly as its single step draws it
    inputs = torch.stack([b.inputs for b in batches]).permute(2, 0, 1, 3).contiguous()
    h0 = torch.bmm(torch.stack([b.init_code for b in batches]), params["encoder.weight"].transpose(1, 2))
    states = stacked_hidden_states(params, model, inputs, h0, noise)
    # The readout-loss seed by seed on each seed's own targets: stacking them would copy k (B·T, n_cells)
    # matrices per step, which costs more than the k − 1 kernel launches it saves.
    losses = torch.stack([ReadoutMSE.apply(states[i], params["readout.weight"][i], batch.targets)
                          for i, batch in enumerate(batches)])
    optimizer.zero_grad(set_to_none=True)
    losses.sum().backward()
    optimizer.step()
    return losses.tolist()


__all__ = ["stack_parameters", "unstack_parameters", "stacked_hidden_states", "stacked_train_step"]
