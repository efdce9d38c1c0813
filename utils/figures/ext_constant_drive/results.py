"""What the figure measures and writes (`results/ext_constant_drive.json`), and its check reads: the numbers of
one network (`ModelRun`), each model's over its seeds (`ModelStats`, `SpatialModelStats`) and the whole set."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..base import PerSeed, Results


@dataclass
class ModelRun:
    """What `compute` measures on one network."""
    decode_error: float
    steps_active: dict[str, float]        # analysis.step_statistics
    steps_quiescent: dict[str, float]
    norm_active: float                    # mean ‖h‖ over the active run
    norm_quiescent: np.ndarray            # (quiescent_steps_kl,) mean ‖h‖ at each quiescent step
    kl: float                             # KL(quiescent ‖ active), nats (SP: KDE Monte Carlo; HD: 20-bin histograms)
    kl_uniform: float                     # KL(𝒰 ‖ active), the same estimator
    kl_windows: list[float]               # KL(quiescent steps of one quarter ‖ active), quarter by quarter
    total_variance: float | None          # SP: Fig. 2f protocol (m²); HD: None
    score_cosine: float                   # ext_score's median cosine (top 4 PCs)
    homogeneity: dict[str, float]
    example: np.ndarray | None            # SP: a few decoded quiescent trajectories


@dataclass
class ModelStats:
    """The `ModelRun`s of one model in the results: each measure per seed (an HD model's; an SP model's adds
    its total variance, `SpatialModelStats`)."""
    decode_error: PerSeed[float]                   # final test decoding MSE, m² (SP) or rad² (HD)
    steps_active: dict[str, PerSeed[float]]        # `analysis.step_statistics` of the active run, m or rad per step
    steps_quiescent: dict[str, PerSeed[float]]     # the same of the quiescent run (SP: also jump_fraction, 0–1)
    hidden_norm_active: PerSeed[float]             # mean ‖h‖ over the active run
    hidden_norm_quiescent_end: PerSeed[float]      # mean ‖h‖ over the last 100 quiescent steps
    hidden_norm_quiescent: PerSeed[list[float]]    # mean ‖h‖ at each quiescent step
    kl: PerSeed[float]                             # KL(quiescent ‖ active), nats
    kl_uniform: PerSeed[float]                     # KL(𝒰 ‖ active), nats, the same estimator
    kl_by_quarter: PerSeed[list[float]]            # KL(one quarter of the quiescent run ‖ active), nats, per quarter
    score_cosine: PerSeed[float]                   # ext_score's median cosine (top 4 PCs), −1..1
    homogeneity_error: dict[str, PerSeed[float]]   # c ("0.5", "2") -> median relative homogeneity error, a ratio


@dataclass
class SpatialModelStats(ModelStats):
    """One SP model's: the same measures, and its total quiescent variance."""
    total_variance: PerSeed[float]                 # Fig. 2f protocol, m²


@dataclass
class ConstantDriveResults(Results):
    """What results/ext_constant_drive.json holds; the check of its claim reads it."""
    models: dict[str, dict[str, str | bool]]       # model label -> its noise_kind and recurrent_bias
    spatial: dict[str, SpatialModelStats]          # SP: model label -> its measures
    head_direction: dict[str, ModelStats]          # HD: model label -> its measures


__all__ = ["ModelRun", "ModelStats", "SpatialModelStats", "ConstantDriveResults"]
