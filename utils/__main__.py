"""Command line: `python -m utils {train,config,train-grid,figures,report,networks,compare-results,new-figure} ...`
(see docs/usage.md)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import config as C
from . import report
from .cache import get_model
from .pipeline import compare, networks, slurm
from .pipeline.grid import train_grid
from .pipeline.notebooks import regenerate
from .pipeline.scaffold import new_figure
from .settings import RunSettings
from .training import resolve_device


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line with exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive_int(text: str) -> int:
    """argparse type of --jobs and --repeats: a bad value is a one-line usage error."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _common(p: argparse.ArgumentParser, task_required: bool = True) -> None:
    p.add_argument("--preset", default=C.DEFAULT_PRESET, help=f"one of {', '.join(C.PRESETS)}")
    p.add_argument("--outputs", default="outputs", help="root of the cache and results (default: outputs/)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field, e.g. --set n_rec=256 (repeatable)")


def _seeds(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seeds", default=None, metavar="S[,S...]",
                   help="a partial run on these seeds only, written to outputs/<preset>-seed<S>[-<variant>]/")


def _run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", required=True, help=f"one of {', '.join(C.TASKS)}")
    p.add_argument("--condition", required=True, help="e.g. noisy_unbiased (see docs/usage.md)")


def build_parser() -> Parser:
    parser = Parser(prog="python -m utils", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("train", help="train one model (or find it in the cache, or install it from the committed "
                                     "networks: networks retrain trains those again); prints its run directory")
    _run_args(p)
    p.add_argument("--seed", required=True, help="non-negative integer")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _common(p)

    p = sub.add_parser("config", help="print the resolved config as JSON")
    _run_args(p)
    p.add_argument("--seed", default="0")
    _common(p)

    for name, help_text in (("train-grid", "train every model the figure notebooks need"),
                            ("figures", "train what is missing, run the notebooks, write the report and index")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--only", default=None, help="comma-separated notebook names or prefixes (e.g. fig1,figC)")
        slurm.add_arguments(p)
        p.add_argument("--jobs", type=positive_int, default=None, help="parallel training processes (default: auto)")
        p.add_argument("--threads", type=positive_int, default=None,
                       help="torch threads per process (default: the cores shared among --jobs; 1 when two "
                            "grids run side by side)")
        p.add_argument("--device", default="cpu")
        _seeds(p)
        _common(p)

    p = sub.add_parser("report", help="write outputs/<preset>/report.md and report.json from the results")
    _seeds(p)
    _common(p)

    p = sub.add_parser("networks", help="the committed networks (data/networks/): ship from the cache, check, or "
                                        "retrain from scratch and compare")
    p.add_argument("action", choices=("ship", "check", "retrain", "manifest"),
                   help="ship: commit the set's networks the cache holds; check: every committed network, no "
                        "training; retrain: train the set's committed networks again under --into and compare; "
                        "manifest: the configs (and cached checksums) of the set's networks, without weights")
    p.add_argument("--only", default=None, help="comma-separated notebook names or prefixes (ship, retrain, manifest)")
    p.add_argument("--into", default=None, help="retrain: the folder to train into (never the cache)")
    p.add_argument("--jobs", type=positive_int, default=1, help="retrain: parallel training processes")
    p.add_argument("--threads", type=positive_int, default=None, help="retrain: torch threads per process")
    _seeds(p)
    _common(p)

    p = sub.add_parser("compare-results", help="two renders of a result set, number by number: what moved by more "
                                               "than its seed spread")
    p.add_argument("old", help="the earlier result-set folder, e.g. a copy of outputs/laptop")
    p.add_argument("new", help="the later one, e.g. outputs/laptop")

    p = sub.add_parser("new-figure", help="write a new figure that runs as written: utils/figures/<name>.py, "
                                          "notebooks/<name>.ipynb and its claim in data/claims.yaml")
    p.add_argument("name", help="ext_ and lower-case words, e.g. ext_my_figure")

    return parser


def parse_overrides(items: list[str]) -> dict[str, str]:
    return dict(C.parse_override(item) for item in items)


def parse_seed(text: str) -> int:
    try:
        return C.check_seed(int(text))
    except ValueError:
        raise C.ConfigError(f"seed must be a non-negative integer, got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except C.ConfigError as err:
        print(f"python -m utils {args.command}: error: {err}", file=sys.stderr)
        return 2
    except PermissionError as err:  # e.g. an --outputs folder this user cannot write
        print(f"python -m utils {args.command}: error: cannot write {err.filename}: permission denied",
              file=sys.stderr)
        return 2


def run_settings(args, overrides: dict | None = None) -> RunSettings:
    """The one settings value of this command, validated here; every layer below receives it unchanged."""
    seeds = C.parse_seeds(getattr(args, "seeds", None))
    fields = dict(preset=args.preset, seeds=seeds, outputs_dir=args.outputs, device=getattr(args, "device", "cpu"),
                  threads=getattr(args, "threads", None))
    if overrides is None:   # train and config: any config field may be overridden, the variant stays default
        return RunSettings(**fields)
    return RunSettings.with_overrides(overrides, **fields)


def _dispatch(args) -> int:
    if args.command == "new-figure":
        for path in new_figure(args.name):
            print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
        print(f"next: make figures ONLY={args.name} PRESET=smoke, then make test (docs/layout.md)")
        return 0
    if args.command == "compare-results":
        for folder in (args.old, args.new):
            if not (Path(folder) / "results").is_dir():
                raise C.ConfigError(f"{folder} has no results/ folder (a result set's folder, e.g. outputs/laptop)")
        return compare.main(args.old, args.new)
    overrides = parse_overrides(args.overrides)
    if args.command in ("train", "config"):
        run = run_settings(args)
        cfg = C.resolve_config(args.task, args.condition, parse_seed(args.seed), run.preset, overrides)
        if args.command == "config":
            print(json.dumps(C.to_dict(cfg), indent=2))
            return 0
        model = get_model(args.task, args.condition, cfg.seed, run.preset, run.outputs_dir, run.device,
                          progress=not args.quiet, **overrides)
        m = model.metrics
        print(f"final test loss {m['test_loss'][-1]:.3e}, decoding error {m['test_decode_error'][-1]:.3e}",
              file=sys.stderr)
        print(model.run_dir)
        return 0
    run = run_settings(args, overrides)
    if args.command in ("train-grid", "figures"):
        launch = slurm.launcher_kwargs(args)  # --launcher and --slurm-*: checked before anything runs
        if launch["launcher"] == "local":  # a Slurm job checks its device on its compute node
            resolve_device(run.device)  # here, not in a worker process after the pool has started
        command = train_grid if args.command == "train-grid" else regenerate
        return command(run, only=args.only, jobs=args.jobs, **launch)
    if args.command == "report":
        return report.main(run)
    if args.command == "networks":
        if args.action == "ship":
            return networks.ship(run, args.only)
        if args.action == "check":
            return networks.check(run.preset)
        if args.action == "manifest":
            networks.manifest(run, args.only)
            return 0
        if not args.into:
            raise C.ConfigError("networks retrain needs --into FOLDER (a folder outside the cache)")
        rows = networks.retrain(run, args.into, args.only, args.jobs)
        return 0 if rows else 1
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
