"""`make figure NAME=ext_…` (`python -m utils new-figure`): a new figure that runs as written — its module in
`utils/figures/`, its notebook and its claim in `data/claims.yaml` — for a contributor to change into theirs.

The module it writes measures something real (each seed's noisy SP network decoding position on fresh trials,
one claim with fig1-trained's bound), so the new figure passes the whole suite, the pipeline runs it and the
report shows its claim before anything is edited.
"""
from __future__ import annotations

import re
from pathlib import Path

from .. import config as C

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"ext_[a-z][a-z0-9_]*")

MODULE = '''"""{name}: {title} (written by `make figure`; change the computation, the panels and the claim into yours)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .. import analysis as A
from ..claims import Check, Params, Verdict, fmt
from ..tasks import decode_error
from .base import SP, Figure, FigureSettings, Model, Notebook, PerSeed, Results

# The networks this figure loads (the pipeline trains them first), and how many seeds it uses.
NOTEBOOK = Notebook("{name}", (Model.of(SP, "noisy_unbiased", "U^σ"),), seeds=2)


@dataclass
class {cls}Results(Results):
    """What results/{name}.json holds and the checks read."""
    decode_error: PerSeed[float]   # decoding MSE on fresh active trials, m² per coordinate


@dataclass
class {cls}(Figure):
    errors: dict[int, float]   # seed -> decoding MSE (m²)
    name = "{name}"            # figures/{name}.png, results/{name}.json
    layout = "a"               # a plotting.panel_grid mosaic: one panel
    figure_kw = {{"figsize": (3.0, 2.4)}}

    def panels(self) -> dict:
        def bars(ax):
            ax.bar([str(s) for s in self.errors], list(self.errors.values()), color="0.55")
            ax.set(xlabel="seed", ylabel="decoding MSE (m²)", title="noisy SP networks")
            return ax
        return {{"a": bars}}

    def results(self) -> {cls}Results:
        return {cls}Results(PerSeed.of(self.errors))

    def summary(self) -> str:
        return "decoding MSE per seed: " + ", ".join(f"{{s}}: {{e:.3g}}" for s, e in self.errors.items())


def compute(settings: FigureSettings) -> {cls}:
    """Each seed's network decoding position on `n_kde` fresh active trials of `active_steps` steps."""
    a = settings.analysis
    (model,) = NOTEBOOK.models
    errors = {{}}
    for seed, net in settings.seeded(model):
        run = A.active_run(net, a.n_kde, a.active_steps, seed)
        errors[seed] = float(decode_error(net.task_cfg, torch.from_numpy(run.decoded), torch.from_numpy(run.states)))
    return {cls}(errors)


# --- the checks of this figure's claims (data/claims.yaml) --------------------------------------------------

RESULTS = {cls}Results


def check_decodes(r: {cls}Results, p: Params) -> Verdict:
    per_seed = r.decode_error.per_seed
    return Verdict(all(v <= p["max_decode_mse"] for v in per_seed.values()), f"MSE {{fmt(r.decode_error.seed_mean())}}",
                   {{s: fmt(v) for s, v in per_seed.items()}})


# claim id (data/claims.yaml) -> its check
CHECKS: dict[str, Check] = {{"{claim}": check_decodes}}
'''

CLAIM = '''- id: {claim}
  group: theory
  figure: {name}
  statement: The noisy SP networks decode position on fresh trials (the claim `make figure` wrote for {name}; state yours).
  metric: decoding MSE per coordinate on n_kde fresh active trials of active_steps steps, per seed
  params: {{max_decode_mse: 0.02}}
  threshold: ≤ {{max_decode_mse}} m², every seed
'''


def _notebook(name: str, title: str) -> dict:
    import nbformat
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [
        md(f"# Beyond the paper — {title}\n\n**The claim.** Each seed's noisy SP network decodes position on fresh "
           f"trials. A figure written by `make figure`: replace this text, `utils/figures/{name}.py` and the claim "
           f"`{_claim(name)}` in `data/claims.yaml` with yours (docs/layout.md)."),
        code('run = {"preset": "laptop", "variant": "default", "seeds": None, "outputs_dir": "../outputs", '
             '"device": "cpu",\n       "threads": None}\n'
             "# the run's settings (utils.settings.RunSettings; `figures` passes its own)\n"
             "# analysis sizes; None: the preset's values\nn_kde = None\nactive_steps = None",
             metadata={"tags": ["parameters"]}),
        code(f"from utils.figures import {name}\nfrom utils.figures.base import FigureSettings\n\n"
             f"settings = FigureSettings.create(run, {name}.NOTEBOOK, n_kde=n_kde, active_steps=active_steps)\n"
             f"result = {name}.compute(settings)"),
        md("## The figure\n\n**a** the decoding MSE of each seed's network (m² per coordinate)."),
        code("result.show(settings)"),
        md(f"## The numbers\n\n`result.save(settings)` writes `results/{name}.json` in the result set."),
        code("result.save(settings)\nprint(result.summary())"),
        md("## The claims, measured\n\nEach claim of `data/claims.yaml` on this figure, with the report's own check."),
        code(f'from utils.report import show_claims\n\nshow_claims("{name}", settings);'),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def _claim(name: str) -> str:
    return name.replace("_", "-") + "-decodes"


def new_figure(name: str, root: Path = ROOT) -> list[Path]:
    """Write the module, notebook and claim of a new figure `name` (`ext_…`) under `root`; the paths written."""
    import nbformat
    if not NAME.fullmatch(name or ""):
        raise C.ConfigError(f"a new figure's name is ext_ and lower-case words (ext_my_figure), got {name!r}")
    module, notebook, claims = (root / "utils" / "figures" / f"{name}.py", root / "notebooks" / f"{name}.ipynb",
                                root / "data" / "claims.yaml")
    claim = _claim(name)
    existing = [str(p.relative_to(root)) for p in (module, module.with_suffix(""), notebook) if p.exists()]
    if f"figure: {name}\n" in claims.read_text() or existing:
        raise C.ConfigError(f"figure {name} exists already ({', '.join(existing) or 'data/claims.yaml'})")
    title = name.removeprefix("ext_").replace("_", " ")
    cls = "".join(w.capitalize() for w in name.split("_"))
    module.write_text(MODULE.format(name=name, title=title, cls=cls, claim=claim))
    nbformat.write(_notebook(name, title), notebook)
    text = claims.read_text()
    claims.write_text(text + ("" if text.endswith("\n") else "\n") + CLAIM.format(claim=claim, name=name))
    return [module, notebook, claims]


__all__ = ["new_figure", "NAME"]
