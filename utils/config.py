"""Typed configs, experimental conditions and presets.

A run is fully described by a `RunConfig` (task + model + training + seed). Paper values are the
defaults of `default_config(task, condition)`; a preset scales some of them down; `--set key=value`
overrides go last. `config_hash` covers every field, so any change trains a new model.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
from dataclasses import dataclass, field, fields, replace
from typing import Any

from . import noise

TASKS = ("spatial", "head_direction")

# Condition name -> what it changes relative to the paper's noisy vanilla RNN.
CONDITIONS: dict[str, dict[str, dict[str, Any]]] = {
    "spatial": {
        "noisy_unbiased": {},
        "noisy_biased": {"biased": True},
        "noiseless_unbiased": {"noiseless": True},
        "noiseless_biased": {"biased": True, "noiseless": True},
        "gru_noisy_unbiased": {"cell": "gru"},
        "gru_noisy_biased": {"biased": True, "cell": "gru"},
    },
    "head_direction": {
        "noisy_unbiased": {},
        "noisy_biased": {"biased": True},
        "noiseless_unbiased": {"noiseless": True},
        "noiseless_biased": {"biased": True, "noiseless": True},
    },
}


class ConfigError(ValueError):
    """A bad task, condition, preset or override; the message names the valid choices."""


@dataclass(frozen=True)
class TaskConfig:
    name: str = "spatial"              # "spatial" (SP) or "head_direction" (HD)
    biased: bool = False               # SP: drift towards the anchor; HD: counter-clockwise turns only
    steps: int = 100                   # sequence length of an active trial (Table A.1)
    dt: float = 0.02                   # time step Δt in seconds
    n_cells: int = 512                 # place cells / head-direction cells (network outputs)
    box_size: float = 2.2              # SP: side of the square box in metres, centred on (0, 0)
    speed_scale: float = 0.26 * math.pi  # SP: Rayleigh scale of forward speed, m/s (released code)
    turn_std: float = 11.52            # std of the Gaussian turn rate, rad/s (turn = Δt · N(0, turn_std))
    wall_margin: float = 0.03          # SP: distance to a wall (m) under which the agent turns away
    wall_slowdown: float = 0.25        # SP: speed factor near a wall
    anchor_drift: float = 0.05         # SP biased: fraction of (anchor − position) added every step
    place_cell_width: float = 0.2      # SP: σ_SP of the Gaussian place fields, m
    hd_cell_width: float = math.pi / 6  # HD: σ_HD of the von Mises tuning (κ = 1/σ²)


@dataclass(frozen=True)
class ModelConfig:
    cell: str = "rnn"                  # "rnn" (continuous-time ReLU RNN) or "gru" (continuous-time GRU)
    n_rec: int = 512                   # recurrent units (SP 512, HD 128)
    dt_over_tau: float = 0.2           # Euler step Δt/τ (SP 0.02/0.1, HD 0.02/0.04)
    noise_std: float = 0.01            # per-step recurrent noise std σ√Δt; 0 for noiseless conditions
    noise_kind: str = "gaussian"       # "gaussian" (paper), "uniform" (released code: U[0,1) · noise_std) or
                                       # "gaussian_uniform_moments" (Gaussian with that uniform's mean and sd)
    recurrent_bias: bool = True        # trainable bias inside the nonlinearity, zero at init. Ours, not Eq. A.1:
                                       # without it a zero-input ReLU network is positively homogeneous and
                                       # quiescence jumps (docs/methods.md, "The constant drive"); False = as written
    momentum: float = 0.0              # RNN only: 0 is the paper's first-order cell; μ in (0, 1) makes it
                                       # second order (underdamped): v ← μ v + α(−r + ReLU(…)) + noise, r ← r + v


@dataclass(frozen=True)
class TrainConfig:
    batches: int = 2500                # optimiser steps, a fresh batch each (SP 2,500; HD 20,000)
    batch_size: int = 200              # trajectories per batch
    lr: float = 1e-3                   # Adam learning rate
    weight_decay: float = 0.0          # Adam weight decay
    test_every: int = 100              # evaluate a fixed test batch every this many batches
    test_batch_size: int = 200         # trajectories in the test batch
    save_every: int = 500              # write a resumable checkpoint every this many batches


@dataclass(frozen=True)
class RunConfig:
    task: TaskConfig = field(default_factory=TaskConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seed: int = 0                      # seeds weights, place-cell centres, trajectories and noise

    @property
    def condition(self) -> str:
        return condition_name(self)


@dataclass(frozen=True)
class AnalysisConfig:
    """Sizes of the analyses of docs/methods.md §6 (paper values by default)."""
    n_kde: int = 200                   # trajectories for KDE maps and KL
    active_steps: int = 100            # steps of an active trial
    quiescent_steps_kde: int = 200     # quiescent steps for KDE maps
    quiescent_steps_kl: int = 1000     # quiescent steps for the KL divergence
    kl_samples: int = 2500             # Monte-Carlo samples from the quiescent KDE
    n_variance: int = 500              # quiescent trajectories for the total variance (Fig. 2f)
    variance_steps: int = 2000         # their length; the first half is dropped as burn-in
    n_pca: int = 1000                  # trajectories for explained variance (Fig. 1c)
    n_step_distance: int = 200         # trajectories for step distances (Suppl. C.4)
    kde_grid: int = 100                # grid points per axis of a KDE map


@dataclass(frozen=True)
class Preset:
    name: str
    seeds: int                                    # networks per condition
    overrides: dict[str, dict[str, Any]]          # task -> {field: value} on top of the paper values
    analysis: AnalysisConfig


PRESETS: dict[str, Preset] = {
    # Seconds per model: wiring checks for the tests, never a scientific result.
    "smoke": Preset(
        "smoke", seeds=2,
        overrides={
            "spatial": dict(n_rec=32, n_cells=64, batches=20, batch_size=16, test_every=10,
                            test_batch_size=16, save_every=10, steps=20),
            "head_direction": dict(n_rec=16, n_cells=64, batches=20, batch_size=16, test_every=10,
                                   test_batch_size=16, save_every=10, steps=20),
        },
        analysis=AnalysisConfig(n_kde=16, active_steps=20, quiescent_steps_kde=20, quiescent_steps_kl=40,
                                kl_samples=200, n_variance=16, variance_steps=40, n_pca=16,
                                n_step_distance=16, kde_grid=30),
    ),
    # Reduced but faithful scale for a 2-core CPU (calibrated by the reproduction report).
    "laptop": Preset(
        "laptop", seeds=3,
        overrides={
            # 128 units, 1,000 batches of 100: decoding MSE ≈ 0.014 m² and test loss ≈ 1.5e-5 for SP. 600
            # batches miss fig1-trained (MSE 0.024); 2,000 batches or 256 units make biased quiescence more
            # concentrated, not less (docs/decisions.md, "The `laptop` preset's size").
            "spatial": dict(n_rec=128, batch_size=100, batches=1000, save_every=250),
            # 4,000 batches of 100 (a fifth of the paper's samples): fig3-trained asks decoding MSE ≤ 0.07 rad² of
            # every seed, and seed 0 with the bias measured 0.10–0.15 at 1,500–2,500 batches, 0.05–0.07 from 3,500.
            "head_direction": dict(batch_size=100, batches=4000, save_every=500),
        },
        analysis=AnalysisConfig(n_variance=200, n_pca=500),
    ),
    # Exactly Tables A.1 / A.2.
    "paper": Preset("paper", seeds=5, overrides={"spatial": {}, "head_direction": {}}, analysis=AnalysisConfig()),
}
DEFAULT_PRESET = "laptop"

# Model variants a whole result set can be regenerated with (`figures --set …`): name -> config overrides.
# "default" is this bundle's model; "as-written" is Eq. A.1 of the paper (no bias, Gaussian noise);
# "as-released" the authors' code (no bias, U[0, 1) · σ noise). Each writes to its own `outputs/<preset>-<name>/`.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "as-written": {"recurrent_bias": False},
    "as-released": {"recurrent_bias": False, "noise_kind": "uniform"},
}


def variant_of(overrides: dict[str, Any] | None) -> str:
    """The variant whose model `overrides` (CLI strings allowed) give, or a ConfigError naming the choices."""
    base = paper_config("spatial", "noisy_unbiased")
    probe = apply_overrides(base, overrides or {})
    for name, spec in VARIANTS.items():
        if probe == apply_overrides(base, spec):
            return name
    choices = "; ".join(f"{n}: " + (" ".join(f"--set {k}={str(v).lower()}" for k, v in spec.items()) or "no --set")
                        for n, spec in VARIANTS.items())
    raise ConfigError(f"figures take only the overrides of a model variant ({choices}), got {overrides}")


def result_set(preset: str, variant: str = "default", seeds=None) -> str:
    """The folder of one result set under `outputs/`: `laptop`, `laptop-as-written`, and for a partial run on
    chosen seeds (`figures --seeds 0`) `paper-seed0`, `paper-seed0-as-written`, ..."""
    check_choice("variant", variant, VARIANTS)
    name = preset if seeds is None else f"{preset}-seed{'-'.join(str(check_seed(s)) for s in seeds)}"
    return name if variant == "default" else f"{name}-{variant}"


def parse_seeds(text: str | None) -> tuple[int, ...] | None:
    """`--seeds 0,2` -> (0, 2); None stays None (the preset's seeds). Distinct non-negative integers."""
    if text is None:
        return None
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise ConfigError(f"--seeds must be comma-separated non-negative integers, got {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ConfigError(f"--seeds must name distinct non-negative integers, got {text!r}")
    return seeds


_SECTIONS = {"task": TaskConfig, "model": ModelConfig, "train": TrainConfig}


def _field_section() -> dict[str, str]:
    """Bare field name -> section; every field name is unique across sections, so `n_rec=…` is enough."""
    out = {}
    for section, cls in _SECTIONS.items():
        for f in fields(cls):
            assert f.name not in out, f"duplicate config field {f.name}"
            out[f.name] = section
    return out


FIELD_SECTION = _field_section()


def check_choice(kind: str, value: str, choices) -> str:
    if value not in choices:
        raise ConfigError(f"unknown {kind} {value!r}; choose one of: {', '.join(choices)}")
    return value


def paper_config(task: str, condition: str, seed: int = 0) -> RunConfig:
    """The paper's hyper-parameters (Tables A.1/A.2) for one task and condition."""
    check_choice("task", task, TASKS)
    spec = CONDITIONS[task][check_choice(f"condition for task {task}", condition, CONDITIONS[task])]
    if task == "spatial":
        model = ModelConfig(n_rec=512, dt_over_tau=0.2, noise_std=0.01)
        train = TrainConfig(batches=2500)
    else:
        model = ModelConfig(n_rec=128, dt_over_tau=0.5, noise_std=0.1)
        train = TrainConfig(batches=20000)
    model = replace(model, cell=spec.get("cell", "rnn"), noise_std=0.0 if spec.get("noiseless") else model.noise_std)
    return RunConfig(TaskConfig(name=task, biased=spec.get("biased", False)), model, train, check_seed(seed))


def check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    return seed


def parse_override(text: str) -> tuple[str, str]:
    """'model.n_rec=256' or 'n_rec=256' -> ('n_rec', '256')."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not of the form key=value")
    key, value = text.split("=", 1)
    return key.strip(), value.strip()


def _coerce(name: str, value: Any, typ: type) -> Any:
    """Turn a CLI string (or a Python value) into the field's type, or raise a ConfigError."""
    if isinstance(value, str) and typ is not str:
        try:
            if typ is bool:
                if value.lower() not in ("true", "false", "1", "0"):
                    raise ValueError
                return value.lower() in ("true", "1")
            return typ(float(value)) if typ is int and float(value).is_integer() else typ(value)
        except ValueError:
            raise ConfigError(f"{name} must be of type {typ.__name__}, got {value!r}") from None
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        raise ConfigError(f"{name} must be of type {typ.__name__}, got {value!r}")
    return value


_TYPES = {f.name: {"int": int, "float": float, "str": str, "bool": bool}[str(f.type)]
          for cls in _SECTIONS.values() for f in fields(cls)}
NOISE_KINDS = tuple(noise.NOISE_KINDS)   # the names; the samplers and moments are utils/noise.py's table
_CHOICES = {"name": TASKS, "cell": ("rnn", "gru"), "noise_kind": NOISE_KINDS}
_NON_NEGATIVE = {"noise_std", "weight_decay", "anchor_drift", "wall_margin", "momentum"}
# Fields added after models were cached: they enter the hash only when set, so every model trained before
# they existed keeps its hash (and its cache entry) while a model that sets one gets its own.
HASH_WHEN_SET = {"momentum": 0.0}


def validate(cfg: RunConfig) -> RunConfig:
    for section in _SECTIONS:
        for f in fields(getattr(cfg, section)):
            value = getattr(getattr(cfg, section), f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{f.name} must be a finite number, got {value!r}")
            if f.name in _CHOICES:
                check_choice(f.name, value, _CHOICES[f.name])
            elif f.name in _NON_NEGATIVE:
                if value < 0:
                    raise ConfigError(f"{f.name} must be >= 0, got {value!r}")
            elif _TYPES[f.name] in (int, float) and not value > 0:
                raise ConfigError(f"{f.name} must be > 0, got {value!r}")
    if cfg.model.momentum >= 1 or (cfg.model.momentum > 0 and cfg.model.cell != "rnn"):
        raise ConfigError(f"momentum must be < 1 and is for the rnn cell only, got {cfg.model.momentum} "
                          f"with cell {cfg.model.cell!r}")
    if cfg.model.dt_over_tau > 1:
        raise ConfigError(f"dt_over_tau must be <= 1 for a stable Euler step, got {cfg.model.dt_over_tau}")
    check_seed(cfg.seed)
    return cfg


def apply_overrides(cfg: RunConfig, overrides: dict[str, Any]) -> RunConfig:
    """Set fields by bare name (`n_rec`) or dotted path (`model.n_rec`); values may be CLI strings."""
    per_section: dict[str, dict[str, Any]] = {s: {} for s in _SECTIONS}
    for key, value in overrides.items():
        name = key.split(".")[-1]
        section = FIELD_SECTION.get(name)
        if section is None or ("." in key and key.split(".")[0] != section) or key.count(".") > 1:
            valid = ", ".join(f"{s}.{n}" for n, s in FIELD_SECTION.items())
            raise ConfigError(f"unknown config key {key!r}; valid keys: {valid}")
        if name == "name":
            raise ConfigError("the task is chosen with --task, not overridden")
        per_section[section][name] = _coerce(key, value, _TYPES[name])
    return validate(replace(cfg, **{s: replace(getattr(cfg, s), **kv) for s, kv in per_section.items()}))


def get_preset(name: str) -> Preset:
    return PRESETS[check_choice("preset", name, PRESETS)]


def resolve_config(task: str, condition: str, seed: int = 0, preset: str = DEFAULT_PRESET,
                   overrides: dict[str, Any] | None = None) -> RunConfig:
    """Paper values, then the preset's reductions, then the caller's overrides."""
    cfg = paper_config(task, condition, seed)
    cfg = apply_overrides(cfg, get_preset(preset).overrides[task])
    return apply_overrides(cfg, overrides or {})


def condition_name(cfg: RunConfig) -> str:
    prefix = "gru_" if cfg.model.cell == "gru" else ""
    noise = "noiseless" if cfg.model.noise_std == 0 else "noisy"
    return f"{prefix}{noise}_{'biased' if cfg.task.biased else 'unbiased'}"


def to_dict(cfg: RunConfig) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def from_dict(d: dict[str, Any]) -> RunConfig:
    return RunConfig(TaskConfig(**d["task"]), ModelConfig(**d["model"]), TrainConfig(**d["train"]), d["seed"])


def config_hash(cfg: RunConfig) -> str:
    """Short digest of every field (floats by repr, so 0.1 and 0.10000001 differ); a field of `HASH_WHEN_SET`
    only when it differs from the value every model had before the field existed."""
    d = to_dict(cfg)
    for name, unset in HASH_WHEN_SET.items():
        if d["model"][name] == unset:
            del d["model"][name]
    text = json.dumps(d, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# Bump by hand whenever a change to tasks.py, models.py or training.py alters what training produces for an
# unchanged config (a new draw order, another initialisation, a changed step): the run hash then changes, so
# the cache trains new models instead of silently reusing ones the old code made.
# 1: the code before the constant-drive finding; 2: `recurrent_bias` and the noise kinds (docs/methods.md §10).
MODEL_CODE_VERSION = 2


def run_hash(cfg: RunConfig) -> str:
    """The cache key of a trained model: its config and the model-code version that trained it."""
    text = f"{config_hash(cfg)}/code{MODEL_CODE_VERSION}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_name(cfg: RunConfig) -> str:
    """The directory name of a trained model, in the cache and among the committed networks: `seed<k>-<hash>`."""
    return f"seed{cfg.seed}-{run_hash(cfg)}"


def named_hash(directory: str) -> str | None:
    """The run hash a directory name `seed<k>-<hash>` (`run_name`) carries, or None for another name."""
    named = re.fullmatch(r"seed\d+-([0-9a-f]{12})", directory)
    return named[1] if named else None
