"""ext_temperature: is the quiescent noise scale a temperature?

Quiescent noise std α × the trained one, α ∈ `ALPHAS`. Langevin algebra says the stationary density is then
∝ p^(2/α²), p the active density, which equals p only at α = √2. For each network of the notebook's registry
row we predict KL(quiescent ‖ active) and the variance from its active KDE on a grid (`sp_prediction`,
`hd_prediction`) and measure them. Randomness: the runs of the network of seed s draw their trajectories and
noise from s (every α starts from the same active initial states), the Monte-Carlo KL samples from s as well.

The package, one concept per module: `models` (the notebook's networks and the α grid), `runs` (the prediction
from a network's active density, the measurement over α, `compute`), `results` (the prediction, the sweep and the
typed numbers it writes), `verdicts` (the checks of the claims) and `panels` (the figure).
"""
from __future__ import annotations

from .models import ALPHAS, NOTEBOOK, alpha_label
from .panels import Temperature
from .results import Prediction, TemperatureResults, TemperatureSweep
from .runs import compute, hd_prediction, sp_prediction, tempered, temperature_sweep
from .verdicts import CHECKS

RESULTS = TemperatureResults

__all__ = ["NOTEBOOK", "ALPHAS", "alpha_label", "tempered", "Prediction", "sp_prediction", "hd_prediction",
           "TemperatureSweep", "temperature_sweep", "TemperatureResults", "Temperature", "RESULTS", "compute", "CHECKS"]
