"""Continuous-time vanilla RNN and GRU (docs/methods.md §4), with the learned initial-state encoder.

The physics of one Euler–Maruyama step is a pure function (`rnn_step`, `gru_step`); `Network.forward`
is the loop around it. The loop draws every noise sample before it starts, walks `unbind`-ed time
slices, stacks once and reads out after the loop: indexing a (B, T, N) tensor per step makes autograd
allocate a full-size zero gradient per step, which dominates a CPU step. The input projection W_in Δs is
a (B, n_in) @ (n_in, N) product per step rather than one (B, T, N) tensor up front: no (B, T, N) drive
and no (B, T, N) drive gradient to allocate, and each step adds the recurrent product to it in one
`addmm` (see `make bench`).
"""
from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig, TaskConfig
from .noise import noise_kind
from .tasks import HeadDirectionCells, PlaceCells, input_size, make_cells


def affine(c, x, w):
    """c + x @ wᵀ in one BLAS call (`addmm`)."""
    return torch.addmm(c, x, w.T)


def rnn_step(h, drive, noise, w_rec, alpha: float):
    """r ← r + α(−r + ReLU(W_rec r + W_in Δs)) + σ√Δt ξ, with `drive` = W_in Δs precomputed.

    Written as (ξ + (1 − α) r) + α ReLU(…) with `addmm` and `add(…, alpha=)`: four kernels instead of seven.
    """
    rate = torch.relu(affine(drive, h, w_rec))  # W_rec r + W_in Δs in one BLAS call
    return torch.add(noise, h, alpha=1 - alpha).add_(rate, alpha=alpha)


def momentum_step(h, v, drive, noise, w_rec, alpha: float, mu: float):
    """The second-order (underdamped) RNN: v ← μ v + α(−r + ReLU(W_rec r + W_in Δs)) + σ√Δt ξ, r ← r + v.

    The first-order cell's update becomes a force on a velocity that keeps a share μ of itself each step; the
    noise enters the velocity, as in underdamped Langevin dynamics. With μ = 0 it is `rnn_step`."""
    rate = torch.relu(affine(drive, h, w_rec))
    v = torch.add(noise, v, alpha=mu).add_(rate - h, alpha=alpha)
    return h + v, v


def gru_step(h, drive, noise, w_zg, w_r, alpha: float):
    """CT-GRU (Jordan et al. 2021): r ← r + α(1 − z)(tanh(W_r(g ⊙ r) + U_r Δs) − r) + noise.

    `drive` holds [U_z Δs, U_g Δs, U_r Δs] along the last axis; `w_zg` stacks W_z and W_g. `split`/`chunk`
    rather than slicing: the gradient of a slice is a zero-filled full-width tensor per slice and step.
    """
    n = h.shape[-1]
    drive_zg, drive_r = drive.split([2 * n, n], dim=-1)
    z, g = torch.sigmoid(affine(drive_zg, h, w_zg)).chunk(2, dim=-1)
    candidate = torch.tanh(affine(drive_r, g * h, w_r))
    return torch.addcmul(h + noise, 1 - z, candidate - h, value=alpha)  # h + α(1 − z)(c − h) + ξ


def draw_noise(shape, std: float, kind: str, generator: torch.Generator | None, device, dtype=torch.float32):
    """All the recurrent noise of a run at once, of a kind of `noise.NOISE_KINDS` (Gaussian N(0, std²), the
    released code's U[0,1)·std, or a Gaussian with that uniform's moments); zeros for std = 0."""
    sample = noise_kind(kind).sample
    if std == 0:
        return torch.zeros(shape, device=device, dtype=dtype)
    return sample(shape, std, generator, device, dtype)


def noise_moments(std: float, kind: str) -> tuple[float, float]:
    """(mean, variance) of one sample of `draw_noise`. A non-zero mean is a constant drive on every unit."""
    k = noise_kind(kind)
    return k.mean(std), k.variance(std)


class Network(nn.Module):
    """Encoder (start cells -> r0), a CT-RNN or CT-GRU core, and a linear readout to the target cells.

    With `recurrent_bias` the nonlinearity gets a trainable bias b, zero at initialisation:
    ReLU(W_rec r + W_in Δs + b) (GRU: one for each gate and for the candidate), our deviation from Eq. A.1 that
    lets zero-input dynamics have a scale (see `ModelConfig.recurrent_bias`). No other biases. The target
    cells are a submodule, so the place-cell centres travel in the `state_dict` and a loaded network decodes
    with the cells it was trained on.
    """

    def __init__(self, task: TaskConfig, model: ModelConfig, seed: int):
        super().__init__()
        self.task_cfg, self.cfg, self.seed = task, model, seed
        generator = torch.Generator().manual_seed(seed)  # weights and place-cell centres: same seed, same network
        n, n_in, n_out = model.n_rec, input_size(task), task.n_cells
        self.cells = make_cells(task, generator)
        gates = 3 if model.cell == "gru" else 1  # GRU input weights stack U_z, U_g, U_r
        self.encoder = nn.Linear(n_out, n, bias=False)
        self.w_in = nn.Linear(n_in, gates * n, bias=False)
        self.w_rec = nn.Linear(n, (2 if model.cell == "gru" else 1) * n, bias=False)  # RNN: W_rec; GRU: [W_z; W_g]
        self.w_r = nn.Linear(n, n, bias=False) if model.cell == "gru" else None   # GRU candidate weights
        self.readout = nn.Linear(n, n_out, bias=False)
        # Added to the input drive W_in Δs, which enters every gate inside its nonlinearity.
        self.bias = nn.Parameter(torch.zeros(gates * n)) if model.recurrent_bias else None
        self._init_weights(generator)

    def _init_weights(self, generator: torch.Generator):
        # PyTorch's nn.Linear default (uniform ±1/√fan_in), drawn from our generator for reproducibility. The
        # bias stays zero and draws nothing, so both variants of one seed start from the same weights.
        for p in self.parameters():
            if p.ndim == 1:
                continue
            bound = 1 / p.shape[1] ** 0.5
            with torch.no_grad():
                p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1) * bound)

    @property
    def alpha(self) -> float:
        return self.cfg.dt_over_tau

    def initial_state(self, init_code: torch.Tensor) -> torch.Tensor:
        return self.encoder(init_code)

    def forward(self, inputs: torch.Tensor, h0: torch.Tensor, noise_std: float | None = None,
                generator: torch.Generator | None = None, noise: torch.Tensor | None = None):
        """Run the network over `inputs` (B, T, n_in) from `h0` (B, N).

        Returns hidden states (B, T, N) after each step and outputs (B, T, n_cells). The per-step noise std
        is the trained one unless `noise_std` is given (quiescence); an explicit `noise` (B, T, N) wins.
        """
        states = self.hidden_states(inputs, h0, noise_std, generator, noise)
        return states, self.readout(states)

    def hidden_states(self, inputs: torch.Tensor, h0: torch.Tensor, noise_std: float | None = None,
                      generator: torch.Generator | None = None, noise: torch.Tensor | None = None):
        """The hidden states (B, T, N) of `forward` without the readout (training fuses it into the loss)."""
        B, T, _ = inputs.shape
        if noise is None:
            std = self.cfg.noise_std if noise_std is None else noise_std
            noise = draw_noise((T, B, self.cfg.n_rec), std, self.cfg.noise_kind, generator, h0.device, h0.dtype)
        else:
            noise = noise.transpose(0, 1)
        h, states = h0, []
        if self.cfg.momentum > 0:
            v = torch.zeros_like(h0)   # every trial starts at rest
            for x, xi in zip(inputs.unbind(1), noise.unbind(0)):
                h, v = momentum_step(h, v, self.input_drive(x), xi, self.w_rec.weight, self.alpha, self.cfg.momentum)
                states.append(h)
        elif self.cfg.cell == "rnn":
            for x, xi in zip(inputs.unbind(1), noise.unbind(0)):
                h = rnn_step(h, self.input_drive(x), xi, self.w_rec.weight, self.alpha)
                states.append(h)
        else:
            for x, xi in zip(inputs.unbind(1), noise.unbind(0)):
                h = gru_step(h, self.input_drive(x), xi, self.w_rec.weight, self.w_r.weight, self.alpha)
                states.append(h)
        return torch.stack(states, dim=1)

    def input_drive(self, x: torch.Tensor) -> torch.Tensor:
        """W_in Δs (+ b) of one step, (B, gates · N): one `addmm` with the bias, one matmul without."""
        w_in = self.w_in.weight.T
        return x @ w_in if self.bias is None else torch.addmm(self.bias, x, w_in)

    def decode(self, outputs: torch.Tensor) -> torch.Tensor:
        """Outputs (..., n_cells) -> decoded positions (..., 2) or bearings (..., 1)."""
        return self.cells.decode(outputs)

    def quiescent(self, h0: torch.Tensor, steps: int, noise_std: float,
                  generator: torch.Generator | None = None):
        """Zero input for `steps` steps from `h0` with per-step noise std `noise_std`: the offline regime."""
        zeros = h0.new_zeros(h0.shape[0], steps, self.w_in.in_features)
        return self(zeros, h0, noise_std=noise_std, generator=generator)


def build_network(task: TaskConfig, model: ModelConfig, seed: int) -> Network:
    """Weights and place-cell centres from one seeded generator: same seed, same network."""
    return Network(task, model, seed)


__all__ = ["Network", "build_network", "rnn_step", "momentum_step", "gru_step", "draw_noise", "noise_moments", "PlaceCells",
           "HeadDirectionCells"]
