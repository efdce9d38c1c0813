"""The recurrent noise kinds: one table that the config (valid names), the network (`models.draw_noise`), the
analyses (`models.noise_moments`: a non-zero mean is a constant drive) and the docs read.

A kind draws every noise sample of a run at once, scaled in place (the same numbers as `std * draw(…)` without a
second (T, B, N) tensor), from the caller's generator. Adding a kind is one row of `NOISE_KINDS`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True)
class NoiseKind:
    name: str
    description: str
    sample: Callable[..., torch.Tensor]   # (shape, std > 0, generator, device, dtype) -> samples
    mean: Callable[[float], float]        # of one sample, given std
    variance: Callable[[float], float]


def _gaussian(shape, std, generator, device, dtype):
    return torch.randn(shape, generator=generator, device=device, dtype=dtype).mul_(std)


def _uniform(shape, std, generator, device, dtype):
    return torch.rand(shape, generator=generator, device=device, dtype=dtype).mul_(std)


def _gaussian_uniform_moments(shape, std, generator, device, dtype):
    return torch.randn(shape, generator=generator, device=device, dtype=dtype).mul_(std / 12 ** 0.5).add_(std / 2)


NOISE_KINDS: dict[str, NoiseKind] = {kind.name: kind for kind in (
    NoiseKind("gaussian", "N(0, std²): the paper's Eq. A.1", _gaussian, lambda std: 0.0, lambda std: std ** 2),
    NoiseKind("uniform", "U[0, 1) · std: the released code (mean std/2, a constant drive)", _uniform,
              lambda std: std / 2, lambda std: std ** 2 / 12),
    NoiseKind("gaussian_uniform_moments", "a Gaussian with the uniform's mean std/2 and sd std/√12: its drive "
              "without its shape", _gaussian_uniform_moments, lambda std: std / 2, lambda std: std ** 2 / 12),
)}


def noise_kind(name: str) -> NoiseKind:
    try:
        return NOISE_KINDS[name]
    except KeyError:
        raise ValueError(f"unknown noise kind {name!r}; choose one of: {', '.join(NOISE_KINDS)}") from None


__all__ = ["NoiseKind", "NOISE_KINDS", "noise_kind"]
