"""The forward pass written the way the released code writes it: the reference for tests and benchmarks.

Per-step slicing of the (B, T, n_in) input, a noise draw per step, writes into preallocated (B, T, N)
buffers and the readout inside the loop. It computes the same function as `Network.forward` (tests
check outputs and gradients to 1e-5) but autograd must then materialise a full-size zero gradient for
every slice and every in-place write, which is what makes it slow on a CPU.
"""
from __future__ import annotations

import torch

from utils.models import Network, draw_noise


def baseline_forward(net: Network, inputs: torch.Tensor, h0: torch.Tensor, noise: torch.Tensor | None = None,
                     generator: torch.Generator | None = None):
    """Same signature and result as `net(inputs, h0, noise=noise)`; slow on purpose."""
    B, T, _ = inputs.shape
    n, alpha = net.cfg.n_rec, net.alpha
    states = inputs.new_zeros(B, T, n)
    outputs = inputs.new_zeros(B, T, net.readout.out_features)
    h = h0
    for t in range(T):
        xi = noise[:, t] if noise is not None else draw_noise(
            (B, n), net.cfg.noise_std, net.cfg.noise_kind, generator, h0.device, h0.dtype)
        x = inputs[:, t]
        if net.cfg.cell == "rnn":
            pre = h @ net.w_rec.weight.T + net.input_drive(x)
            h = h + alpha * (-h + torch.relu(pre)) + xi
        else:
            u = net.input_drive(x)
            w_z, w_g = net.w_rec.weight[:n], net.w_rec.weight[n:]
            z = torch.sigmoid(h @ w_z.T + u[:, :n])
            g = torch.sigmoid(h @ w_g.T + u[:, n:2 * n])
            candidate = torch.tanh((g * h) @ net.w_r.weight.T + u[:, 2 * n:])
            h = h + alpha * (1 - z) * (candidate - h) + xi
        states[:, t] = h
        outputs[:, t] = net.readout(h)
    return states, outputs
