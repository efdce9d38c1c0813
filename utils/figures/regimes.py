"""Suppl. C.3 and C.4 share their runs: noisy-trained (NT) and noiseless-trained (DT) networks, active and in
three quiescences (`REGIMES`), unbiased and biased (docs/methods.md §7).

Runs of one seed use that seed for the test batch and the noise, so the unbiased and biased networks of a
seed start from the same positions; the KL estimate of a seed draws its Monte-Carlo samples from it too.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import analysis as A
from .base import FigureSettings, Model


def noisy_quiescence_std(task: str = "spatial") -> float:
    """Absolute quiescent std for noisy quiescence of a noiseless-trained network: √2 × the paper's trained std
    (SP: √(2 × 1e-4) ≈ 0.01414, Suppl. C.3e–f, C.4)."""
    return math.sqrt(2) * A.paper_noise_std(task)


def _seeded(settings: FigureSettings, task: str, condition: str) -> list[tuple[int, Any]]:
    return settings.seeded(Model.of(task, condition))


# Regime -> (noisy-trained?, active run?, quiescent noise mode).
REGIMES = {
    "NT active": (True, True, None),
    "NT quiescent": (True, False, "scaled"),
    "DT active": (False, True, None),
    "DT quiescent": (False, False, "scaled"),          # √2 × 0 = 0: noiseless
    "DT noisy quiescent": (False, False, "noisy"),     # absolute std √2 × paper noise (√(2e-4) for SP)
}
QUIESCENT_REGIMES = ("NT quiescent", "DT quiescent", "DT noisy quiescent")
REGIME_TITLES = {"NT quiescent": "noisy-trained,\nnoisy quiescence",
                 "DT quiescent": "noiseless-trained,\nnoiseless quiescence",
                 "DT noisy quiescent": "noiseless-trained,\nnoisy quiescence"}


def _condition(regime: str, bias: str) -> str:
    return f"{'noisy' if REGIMES[regime][0] else 'noiseless'}_{bias}"


def regime_decoded(net, regime: str, n: int, steps: int, seed: int) -> tuple[np.ndarray, float]:
    """Decoded (n, steps, 2) run of `net` in a regime of `REGIMES`, and the per-step noise std it used."""
    _, is_active, mode = REGIMES[regime]
    if is_active:
        return A.active_run(net, n, steps, seed=seed).decoded, net.cfg.noise_std
    mode = noisy_quiescence_std(net.task_cfg.name) if mode == "noisy" else mode
    q = A.quiescent_run(net, n, steps, mode, seed=seed, keep_states=False)
    return q.decoded, q.noise_std


def regime_runs(settings: FigureSettings, regimes, n: int, steps: int, task: str = "spatial"):
    """bias -> regime -> seed -> decoded run, and regime -> noise std; each network loaded once."""
    runs: dict[str, dict[str, dict[int, np.ndarray]]] = {}
    stds: dict[str, float] = {}
    for bias in ("unbiased", "biased"):
        runs[bias] = {}
        nets = {c: _seeded(settings, task, c) for c in {_condition(r, bias) for r in regimes}}
        for regime in regimes:
            runs[bias][regime] = {}
            for seed, net in nets[_condition(regime, bias)]:
                runs[bias][regime][seed], stds[regime] = regime_decoded(net, regime, n, steps, seed)
    return runs, stds


__all__ = ["REGIMES", "QUIESCENT_REGIMES", "REGIME_TITLES", "noisy_quiescence_std", "regime_decoded", "regime_runs"]
