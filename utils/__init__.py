"""Reproduction utilities for Krishna et al. (ICLR 2024): tasks, models, training, analysis, plotting."""
import torch

# Noiseless quiescence decays towards zero, and hidden states below 1e-38 (subnormal floats) make x86
# matmuls and adds on them about 20× slower: the Fig. 2e analysis of one laptop seed took 37.6 s instead
# of 10.0 s. Flushing them to zero changes no result we report (they are 1e-38 away from 0).
torch.set_flush_denormal(True)

from .config import (CONDITIONS, PRESETS, TASKS, AnalysisConfig, ConfigError, ModelConfig, RunConfig,
                     TaskConfig, TrainConfig, config_hash, get_preset, resolve_config)
from .models import Network, build_network
from .cache import TrainedModel, get_model, load_model, train

__all__ = ["CONDITIONS", "PRESETS", "TASKS", "AnalysisConfig", "ConfigError", "ModelConfig", "RunConfig",
           "TaskConfig", "TrainConfig", "config_hash", "get_preset", "resolve_config", "Network",
           "build_network", "TrainedModel", "get_model", "load_model", "train"]
