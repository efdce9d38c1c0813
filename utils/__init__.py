"""Reproduction utilities for Krishna et al. (ICLR 2024): tasks, models, training, analysis, plotting."""
from .config import (CONDITIONS, PRESETS, TASKS, AnalysisConfig, ConfigError, ModelConfig, RunConfig,
                     TaskConfig, TrainConfig, config_hash, get_preset, resolve_config)
from .models import Network, build_network
from .training import get_model, load_model, train

__all__ = ["CONDITIONS", "PRESETS", "TASKS", "AnalysisConfig", "ConfigError", "ModelConfig", "RunConfig",
           "TaskConfig", "TrainConfig", "config_hash", "get_preset", "resolve_config", "Network",
           "build_network", "get_model", "load_model", "train"]
