"""The models of the figure: the recurrent noise and bias of each of the four (`CONSTANT_DRIVE_MODELS`), the
notebook that trains them for SP and HD, their order and the task labels of the panels."""
from __future__ import annotations

from typing import Any

from ... import config as C
from ..base import Model, Notebook

# The recurrent noise and bias of the four models this figure compares (SP and HD noisy unbiased).
# Each row sets both fields, so a result set of another variant still trains these four.
CONSTANT_DRIVE_MODELS: dict[str, dict[str, Any]] = {
    "Gaussian + bias (default)": {"noise_kind": "gaussian", "recurrent_bias": True},
    "Gaussian, no bias (as written)": {"noise_kind": "gaussian", "recurrent_bias": False},
    "U[0,1)·σ, no bias (as released)": {"noise_kind": "uniform", "recurrent_bias": False},
    "Gaussian with U's mean and sd, no bias": {"noise_kind": "gaussian_uniform_moments", "recurrent_bias": False},
}


NOTEBOOK = Notebook("ext_constant_drive", tuple(Model.of(task, "noisy_unbiased", label, **spec) for task in C.TASKS
                                                  for label, spec in CONSTANT_DRIVE_MODELS.items()), seeds=2)

MODELS = list(CONSTANT_DRIVE_MODELS)   # the four models' labels, in the order of the panels and colours
TASK_LABEL = {"spatial": "SP", "head_direction": "HD"}
KL_WINDOWS = 4                 # quarters of the quiescent run, each compared with the active run

__all__ = ["CONSTANT_DRIVE_MODELS", "NOTEBOOK", "MODELS", "TASK_LABEL", "KL_WINDOWS"]
