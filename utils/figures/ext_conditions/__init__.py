"""ext_conditions: does any condition make quiescence sample the active density, judged on the run itself?

Every condition runs on an SP noisy *unbiased* network and on its *biased* twin (3 seeds each). A condition is a
trained network (`TRAINED_ROWS`: the default model, the model as written, a flatter active occupancy, a leakier
cell) run under the paper's protocol, or the default networks run under another quiescence (`QUIESCENT_ROWS`:
isotropic noise α, noise along the top active PCs, noise in the input channels, adaptation; see
`utils.quiescence`). Each run goes on until the settling rule of `quiescence.long_run` holds (at most 32,000 steps,
`HORIZONS`), and is judged on itself:

- *trained*: the unbiased network's decoding MSE on the paper's 100-step trials;
- *smooth*: fig1-smooth's step rule over every step of the run, and the run still moves in its last quarter
  (a frozen state fails);
- *stationary*: it settled, ‖h‖ did not diverge, and its last quarter's density on 0.2 m bins is within
  KL(𝒰 ‖ active) + 0.1 of the active one (a random walk meets this on the nearly uniform unbiased density, so:)
- *biased*: the biased twin settled and its late density meets fig2-biased's rule, KL(late ‖ active) ≤ 0.25 ×
  the smallest of KL(𝒰 ‖ active), KL(unbiased late ‖ active), KL(untrained network's late ‖ active).

Beside the verdicts: the sharpened-score prediction (the late density against p_active^(2k/α²), k the network's
measured drift over the theory's, `utils.score`), the best-fitting exponent, a Markov state model of the default
runs (a cross-check, with its lag and Chapman–Kolmogorov horizon), and the attractors of the default and
as-written networks. HD: Fig. 3's noisy unbiased network under the paper's protocol and the three new quiescences.

The package, one concept per module: `models` (the networks and quiescences of the map), `runs` (preparing a
network, judging one long run, the cross-checks, `compute`), `results` (the typed numbers it writes), `verdicts`
(the sufficiency rule and the checks of the claims) and `panels` (the figure).
"""
from __future__ import annotations

from .models import HD_ROWS, NOTEBOOK, QUIESCENT_ROWS, SHARPENED_ROWS, TRAINED_ROWS
from .panels import Conditions
from .results import ConditionsResults, RunNumbers
from .runs import Prepared, Search, best_exponent, compute, horizons_for, judge, msm_cross_check, prepare
from .verdicts import CHECKS, Sufficiency

RESULTS = ConditionsResults

__all__ = ["NOTEBOOK", "TRAINED_ROWS", "QUIESCENT_ROWS", "HD_ROWS", "SHARPENED_ROWS", "Sufficiency", "Search",
           "Prepared", "prepare", "judge", "best_exponent", "msm_cross_check", "Conditions", "ConditionsResults",
           "RunNumbers", "RESULTS", "compute", "horizons_for", "CHECKS"]
