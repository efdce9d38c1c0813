"""The committed networks of a result set (`utils.shipped`): commit them from the cache, check them, and retrain them
from scratch to see whether this machine gives the same networks.

    python -m utils networks ship    --preset laptop [--set …] [--only …]   # cache -> data/networks/
    python -m utils networks check   --preset laptop                         # every committed network, no training
    python -m utils networks retrain --preset laptop --into ../retrained     # retrain and compare, network by network
    python -m utils networks manifest --preset paper --seeds 0 --only fig1    # configs (and checksums) without weights
"""
from __future__ import annotations

import json
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import torch

from .. import config as C
from .. import shipped
from ..cache import CacheError, load_model, run_dir_for, train, verify_run
from ..files import atomic_write_text
from ..settings import RunSettings
from .grid import default_threads, keep_freed_memory, training_cost
from .jobs import required_models, select_notebooks


def set_networks(run: RunSettings, only: str | None = None) -> list[C.RunConfig]:
    """The configs of every network the set's notebooks use, each once, in the registry's order."""
    configs: dict[str, C.RunConfig] = {}
    for job in required_models(select_notebooks(only), run):
        cfg = job.config(run)
        configs.setdefault(C.run_hash(cfg), cfg)
    return list(configs.values())


def ship(run: RunSettings, only: str | None = None, root: Path | str | None = None) -> int:
    """Commit every network of the set that the run's cache holds finished to `root` (those already committed
    are checked and kept); says what the cache lacks, and the size of what is committed. 1 when any is lacking."""
    written = kept = 0
    lacking: list[str] = []
    for cfg in set_networks(run, only):
        target = shipped.shipped_dir(cfg, run.preset, root)
        if (target / "network.json").exists():
            shipped.read(target, cfg)   # a damaged committed network raises here: never kept silently
            kept += 1
            continue
        run_dir = run_dir_for(cfg, run.preset, run.outputs_dir)
        try:
            verify_run(run_dir, cfg)
        except CacheError as err:
            lacking.append(f"{run_dir}: {err.reason}")
            continue
        timing = json.loads((run_dir / "timing.json").read_text())
        if "torch" not in timing:  # trained before the version was recorded: the environment that ships it
            timing |= {"torch": torch.__version__, "torch_from": "the environment that committed it"}
        state = torch.load(run_dir / "model.pt", map_location="cpu", weights_only=True)
        metrics = json.loads((run_dir / "metrics.json").read_text())
        shipped.write(target, cfg, state, metrics, trained=timing)
        written += 1
    paths = shipped.committed(run.preset, root)
    size = sum(f.stat().st_size for p in paths for f in p.iterdir())
    print(f"[networks] {written} committed, {kept} already committed, {len(lacking)} not in the cache; "
          f"{len(paths)} committed networks at {run.preset!r} take {size / 1e6:.1f} MB")
    for line in lacking:
        print(f"  not in the cache: {line}")
    return 1 if lacking else 0


def manifest(run: RunSettings, only: str | None = None, root: Path | str | None = None) -> Path:
    """`<root>/<result set>.json`: the resolved config of every network the set's notebooks use, with the sha256 of
    its model.pt where the run's cache holds it finished (None otherwise): what a later run of the set can be
    checked against without committing the weights (the paper-scale sets)."""
    entries = []
    for cfg in set_networks(run, only):
        run_dir = run_dir_for(cfg, run.preset, run.outputs_dir)
        try:
            verify_run(run_dir, cfg)
            sha = json.loads((run_dir / "checksum.json").read_text())["model.pt"]
        except CacheError:
            sha = None
        entries.append({"network": run_dir.relative_to(Path(run.outputs_dir) / run.preset / "models").as_posix(),
                        "model.pt sha256": sha, "config": C.to_dict(cfg)})
    path = Path(root or shipped.NETWORKS_DIR) / f"{run.result_set}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"result_set": run.result_set, "notebooks": select_notebooks(only),
                                        "networks": entries}, indent=1) + "\n")
    print(f"[networks] {path}: {len(entries)} network(s), {sum(e['model.pt sha256'] is not None for e in entries)} "
          f"with the checksum of a finished run in the cache")
    return path


def check(preset: str, root: Path | str | None = None) -> int:
    """Every committed network of `preset` through `shipped.read` (checksums, config hash, tensors); 1 if any fails."""
    bad = 0
    paths = shipped.committed(preset, root)
    for path in paths:
        try:
            shipped.read(path)
        except shipped.NetworkError as err:
            bad += 1
            print(f"  damaged: {err}")
    print(f"[networks] {len(paths) - bad} of {len(paths)} committed networks at {preset!r} check out")
    return 1 if bad else 0


@dataclass(frozen=True)
class RetrainedNetwork:
    """A retrained network against its committed one: bitwise equal, or how far its final metrics moved compared
    with the spread of those metrics across the committed seeds of the same model."""
    name: str
    identical: bool
    test_loss: tuple[float, float]        # (committed, retrained), final value
    decode_error: tuple[float, float]
    seed_spread: tuple[float, float]      # standard deviation across seeds of the two metrics (NaN: one seed)
    trained: str                          # "threads 1, torch 2.13.0" of the committed one, then the retrained one

    def row(self) -> str:
        if self.identical:
            return f"| {self.name} | bitwise identical | | | {self.trained} |"
        cells = []
        for (old, new), spread in zip((self.test_loss, self.decode_error), self.seed_spread):
            ratio = abs(new - old) / spread if spread == spread and spread > 0 else float("nan")
            cells.append(f"{old:.4g} → {new:.4g} ({ratio:.2f} spreads)")
        return f"| {self.name} | differs | {cells[0]} | {cells[1]} | {self.trained} |"


def _train_fresh(cfg: C.RunConfig, run_dir: Path, threads: int) -> str:
    torch.set_num_threads(threads)
    try:
        load_model(run_dir, cfg=cfg)   # finished by an earlier call: resumable, like every training run
    except CacheError:
        train(cfg, run_dir, progress=False)
    return str(run_dir)


def _final(metrics: dict, key: str) -> float:
    return float(metrics[key][-1])


def _provenance(timing: dict) -> str:
    return f"threads {timing.get('threads', '?')}, torch {timing.get('torch', '?')}"


def retrain(run: RunSettings, into: Path | str, only: str | None = None, jobs: int = 1,
            root: Path | str | None = None) -> list[RetrainedNetwork]:
    """Train every committed network of the set from scratch under `into` (never the run's cache, never installed
    from the committed ones) and compare each with its committed network; prints and writes the table."""
    into = Path(into)
    if into.resolve() == Path(run.outputs_dir).resolve():
        raise C.ConfigError(f"--into {into} is the cache: retrain into another folder")
    configs = [cfg for cfg in set_networks(run, only) if shipped.find(cfg, run.preset, root)]
    configs.sort(key=training_cost, reverse=True)
    threads = default_threads(jobs, run.threads)
    print(f"[retrain] {len(configs)} committed network(s) at {run.preset!r} into {into}, {jobs} process(es) of "
          f"{threads} thread(s)", flush=True)
    keep_freed_memory()
    t0 = time.perf_counter()
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(_train_fresh, cfg, run_dir_for(cfg, run.preset, into), threads): cfg for cfg in configs}
        for i, fut in enumerate(as_completed(futures), 1):
            fut.result()
            print(f"[retrain] {i}/{len(configs)} done ({time.perf_counter() - t0:.0f} s)", flush=True)
    spread = _seed_spreads([(C.from_dict(json.loads((p / "config.json").read_text())), shipped.metrics_of(p))
                            for p in shipped.committed(run.preset, root)])
    rows = []
    for cfg in configs:
        source = shipped.find(cfg, run.preset, root)
        _, _, record = shipped.read(source, cfg)
        old_m = shipped.metrics_of(source)
        fresh_dir = run_dir_for(cfg, run.preset, into)
        fresh = load_model(fresh_dir, cfg=cfg)
        timing = json.loads((fresh_dir / "timing.json").read_text())
        rows.append(RetrainedNetwork(
            name=f"{cfg.task.name}/{C.condition_name(cfg)}/{C.run_name(cfg)}",
            identical=shipped.tensor_digest(fresh.net.state_dict()) == record["tensor_digest"],
            test_loss=(_final(old_m, "test_loss"), _final(fresh.metrics, "test_loss")),
            decode_error=(_final(old_m, "test_decode_error"), _final(fresh.metrics, "test_decode_error")),
            seed_spread=spread[_model_key(cfg)],
            trained=f"{_provenance(record['trained'])}; retrained: {_provenance(timing)}"))
    table = "\n".join(["| network | weights | final test loss | final decoding error | trained with |",
                       "|---|---|---|---|---|", *(r.row() for r in rows)])
    summary = f"{sum(r.identical for r in rows)} of {len(rows)} retrained networks bitwise identical"
    atomic_write_text(into / f"retrain-{run.result_set}.md", f"{summary}\n\n{table}\n")
    print(table)
    print(f"[retrain] {summary}; table: {into / f'retrain-{run.result_set}.md'}")
    return rows


def _model_key(cfg: C.RunConfig) -> str:
    """A model's identity across seeds: its resolved config with the seed left out."""
    fields = C.to_dict(cfg)
    fields.pop("seed", None)
    return json.dumps(fields, sort_keys=True)


def _seed_spreads(networks: list[tuple[C.RunConfig, dict]]) -> dict[str, tuple[float, float]]:
    """Per model, the standard deviation across its committed seeds of the final test loss and decoding error."""
    by_model: dict[str, list[dict]] = {}
    for cfg, metrics in networks:
        by_model.setdefault(_model_key(cfg), []).append(metrics)
    spreads = {}
    for key, runs in by_model.items():
        spreads[key] = tuple(statistics.stdev(_final(m, k) for m in runs) if len(runs) > 1 else float("nan")
                             for k in ("test_loss", "test_decode_error"))
    return spreads


__all__ = ["set_networks", "ship", "manifest", "check", "RetrainedNetwork", "retrain"]
