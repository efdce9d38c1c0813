"""Presets, conditions, validation and the config hash."""
import dataclasses
from pathlib import Path

import pytest
import yaml

from utils import config as C

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("task", C.TASKS)
def test_paper_preset_matches_the_tables(task):
    cfg = C.to_dict(C.resolve_config(task, "noisy_unbiased", 0, "paper"))
    table = yaml.safe_load((ROOT / "data" / "paper_hyperparameters.yaml").read_text())[task]
    for row in table:
        section, name = row["path"].split(".")
        assert cfg[section][name] == pytest.approx(row["value"]) if isinstance(row["value"], float) \
            else cfg[section][name] == row["value"], row["name"]
    assert C.get_preset("paper").seeds == 5
    assert C.get_preset("paper").analysis == C.AnalysisConfig()


def test_conditions_change_what_they_say():
    for task, conditions in C.CONDITIONS.items():
        for cond in conditions:
            cfg = C.resolve_config(task, cond, 0, "paper")
            assert C.condition_name(cfg) == cond
            assert (cfg.model.noise_std == 0) == cond.startswith("noiseless")
            assert cfg.task.biased == cond.endswith("_biased")


def _every_field_changed(cfg):
    """Yield (path, changed config) for each field, changed to another valid value."""
    for section in ("task", "model", "train"):
        for f in dataclasses.fields(getattr(cfg, section)):
            value = getattr(getattr(cfg, section), f.name)
            swap = {"rnn": "gru", "gru": "rnn", "gaussian": "uniform", "spatial": "head_direction"}
            new = {bool: lambda v: not v, int: lambda v: v + 1, float: lambda v: v * 1.5 + 0.01,
                   str: swap.get}[type(value)](value)
            yield f"{section}.{f.name}", dataclasses.replace(cfg, **{section: dataclasses.replace(
                getattr(cfg, section), **{f.name: new})})
    yield "seed", dataclasses.replace(cfg, seed=cfg.seed + 1)


def test_hash_changes_with_every_field():
    cfg = C.resolve_config("spatial", "noisy_unbiased", 0, "laptop")
    base = C.config_hash(cfg)
    seen = {base}
    for path, changed in _every_field_changed(cfg):
        h = C.config_hash(changed)
        assert h not in seen, f"changing {path} did not change the hash"
        seen.add(h)
    assert C.config_hash(C.from_dict(C.to_dict(cfg))) == base


def test_overrides_by_name_and_path_with_types():
    cfg = C.resolve_config("spatial", "noisy_unbiased", 0, "smoke", {"model.n_rec": "48", "lr": 0.002,
                                                                     "biased": "true", "noise_kind": "uniform"})
    assert cfg.model.n_rec == 48 and cfg.train.lr == 0.002 and cfg.task.biased and cfg.model.noise_kind == "uniform"


@pytest.mark.parametrize("kwargs,message", [
    (dict(task="grid"), "unknown task 'grid'; choose one of: spatial, head_direction"),
    (dict(condition="gru_noisy_unbiased", task="head_direction"), "unknown condition"),
    (dict(preset="huge"), "unknown preset 'huge'; choose one of: smoke, laptop, paper"),
    (dict(overrides={"n_units": 3}), "unknown config key 'n_units'"),
    (dict(overrides={"model.lr": 3}), "unknown config key 'model.lr'"),
    (dict(overrides={"n_rec": 0}), "n_rec must be > 0"),
    (dict(overrides={"n_rec": 2.5}), "n_rec must be of type int"),
    (dict(overrides={"n_rec": "many"}), "n_rec must be of type int"),
    (dict(overrides={"noise_std": -0.1}), "noise_std must be >= 0"),
    (dict(overrides={"batches": 0}), "batches must be > 0"),
    (dict(overrides={"cell": "lstm"}), "unknown cell 'lstm'"),
    (dict(overrides={"biased": "maybe"}), "biased must be of type bool"),
    (dict(seed=-1), "seed must be a non-negative integer"),
    (dict(seed=1.5), "seed must be a non-negative integer"),
])
def test_bad_inputs_give_one_clear_error(kwargs, message):
    args = dict(task="spatial", condition="noisy_unbiased", seed=0, preset="smoke") | kwargs
    with pytest.raises(C.ConfigError, match=message.replace("(", r"\(")):
        C.resolve_config(**args)
