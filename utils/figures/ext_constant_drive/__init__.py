"""ext_constant_drive: why quiescence jumps without a bias, and what the released code's noise hides.

With zero input, no bias and zero-mean noise, the expected update of the ReLU network,
E[Δr] = α(−r + ReLU(W r)), is positively homogeneous: E[Δr](c·r) = c · E[Δr](r) for every c > 0. Nothing in
the dynamics then sets the size of the quiescent state, and no such network can pull its state towards a
manifold that lies away from the origin, as the theory's denoising drift σ²∇log p must. A bias inside the
nonlinearity (`ModelConfig.recurrent_bias`), or noise with a non-zero mean (the released code's U[0, 1) · σ,
whose mean σ/2 acts as a constant drive), breaks the symmetry.

`compute` trains (or loads) the models of the module's NOTEBOOK, the four of `CONSTANT_DRIVE_MODELS`
for SP and HD noisy unbiased networks, and measures, per seed: the final decoding error, how decoded
trajectories move (step-length quantiles, jumps), ‖h‖ over quiescent time against the active ‖h‖, the SP total
quiescent variance (Fig. 2f protocol), KL(quiescent ‖ active) over the whole run and per quarter of it (is
quiescence stationary, or does it drift away from the active distribution?), the ext_score cosine, and the
homogeneity error ‖E[Δr](c·r) − c·E[Δr](r)‖ / ‖c·E[Δr](r)‖ at c ∈ {0.5, 2} on the network's own active states.

The package, one concept per module: `models` (the four models, their notebook and labels), `runs` (the
expected zero-input update, its homogeneity error, measuring one network, `compute`), `results` (the typed
numbers it measures and writes), `verdicts` (the check of the claim) and `panels` (the figure).
"""
from __future__ import annotations

from .models import CONSTANT_DRIVE_MODELS, KL_WINDOWS, MODELS, NOTEBOOK, TASK_LABEL
from .panels import ConstantDrive
from .results import ConstantDriveResults, ModelRun, ModelStats, SpatialModelStats
from .runs import compute, expected_update, homogeneity_error, measure
from .verdicts import CHECKS

RESULTS = ConstantDriveResults

__all__ = ["CONSTANT_DRIVE_MODELS", "NOTEBOOK", "MODELS", "TASK_LABEL", "KL_WINDOWS", "expected_update",
           "homogeneity_error", "ModelRun", "measure", "ModelStats", "SpatialModelStats", "ConstantDriveResults",
           "ConstantDrive", "RESULTS", "compute", "CHECKS"]
