"""Reading without running: executed notebooks exported to HTML, and the index page of a result set.

`export_html` renders an executed notebook with nbconvert beside it (`name.html`, images embedded), so it
reads in any browser. `write_index` builds `<outputs>/<result set>/index.html` from a Jinja2 template
(`templates/index.html.j2` beside this module): the claims table of `report.json` with coloured verdicts and
per-seed values, then each composed figure of the registry with its notebook's opening cell rendered from
markdown and links to the notebook (HTML and .ipynb) and the PDF figure. Every link is relative, so the folder
can be moved or served.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

from .. import registry
from ..files import atomic_write_text
from ..report import GROUPS, group_of
from .provenance import INJECTED, recorded

TEMPLATES = Path(__file__).resolve().parent / "templates"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def export_html(notebook: Path) -> Path:
    """`notebook` (an executed .ipynb) -> the same name with `.html`, written atomically: titled after the
    notebook, with a line above its first cell that links back to the result set's index page (`../index.html`)
    and names the commit it was rendered with and the parameters papermill passed. Papermill's cell of injected
    parameters is left out of the page, so a reader sees one parameters cell (the notebook's own, commented)."""
    import nbformat
    from nbconvert import HTMLExporter

    from traitlets.config import Config

    # A widget's Python callbacks need a live kernel: where an output also carries a static image, the page
    # shows the image rather than controls that cannot redraw anything.
    priority = HTMLExporter().default_config.NbConvertBase.display_data_priority
    config = Config({"NbConvertBase": {"display_data_priority": [t for t in priority if t != WIDGET_VIEW]
                                       + [WIDGET_VIEW]}})
    nb = nbformat.read(notebook, as_version=4)
    injected = nb.metadata.get("papermill", {}).get("parameters", {})
    nb.cells = [c for c in nb.cells if INJECTED not in c.get("metadata", {}).get("tags", [])]
    body, _ = HTMLExporter(template_name="lab", config=config).from_notebook_node(
        nb, resources={"metadata": {"name": notebook.stem}})
    commit = rendered_with(nb)["phrase"]
    passed = ", ".join(f"<code>{html.escape(f'{k}={v!r}')}</code>" for k, v in injected.items())
    back = (f'<p style="margin:1em 2em"><a href="../index.html">← index of this result set</a> · '
            f'<a href="{notebook.name}">{notebook.name}</a> · {commit}'
            + (f" · parameters passed by papermill: {passed}" if passed else "") + "</p>")
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + back, body, count=1)
    return atomic_write_text(notebook.with_suffix(".html"), body)


def markdown_to_html(text: str) -> str:
    """Markdown (a notebook's opening cell) to HTML, with the renderer nbconvert itself uses."""
    import mistune
    return mistune.html(text)


def title_and_opening(notebook: Path) -> tuple[str, str]:
    """A notebook's `# title` (its name where it has none) and the rest of its first markdown cell (the index
    gives the title as its own heading)."""
    if notebook.exists():
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] == "markdown":
                text = "".join(cell["source"]).strip()
                if not text.startswith("# "):
                    return notebook.stem, text
                title, _, rest = text.partition("\n")
                return title[2:].strip(), rest.strip()
    return notebook.stem, ""


def rendered_with(notebook: dict) -> dict:
    """The commit an executed notebook records (`provenance`), short, and one HTML phrase that says it (the
    notebook's page and the index both show that phrase)."""
    info = recorded(notebook)
    commit = (info.get("commit") or "")[:10]
    phrase = (f"rendered with commit <code>{html.escape(commit)}</code>"
              + (" (with local changes)" if info.get("dirty") else "")
              + (" (stamped afterwards: the newest commit with this notebook's code)"
                 if info.get("stamped_afterwards") else "")) if commit else "rendered before commits were recorded"
    return {"commit": commit, "phrase": phrase}


def answer(rows: list[dict], titles: dict[str, str]) -> list[dict]:
    """The short answer to "does it reproduce?" for one result set: per figure, in the registry's order, the
    paper's claims that pass and those that do not (with the measured value), or "not run in this set"; then the
    theory rows."""
    lines = []
    for group in ("paper", "theory"):
        members = [r for r in rows if group_of(r) == group]
        figures = [f for f in titles if any(r["figure"] == f for r in members)] if group == "paper" else [None]
        for figure in figures:
            mine = [r for r in members if figure is None or r["figure"] == figure]
            run = [r for r in mine if r["verdict"] != "missing"]   # a figure this set did not run is no failure
            if mine:
                lines.append({"title": titles.get(figure, GROUPS["theory"]), "figure": figure,
                              "passed": sum(r["verdict"] == "passed" for r in run), "total": len(run),
                              "not_run": len(mine) - len(run),
                              "not": [r for r in run if r["verdict"] != "passed"]})
    return lines


def index_context(result_set: str, outputs_dir: str | Path) -> dict:
    """What the template needs: the short answer, report rows by group, and one entry per composed figure that
    exists, in the registry's order, with its readable title and the commit its notebook was rendered with."""
    base = Path(outputs_dir) / result_set
    report_path = base / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    rows = report.get("claims", [])
    groups = [{"key": key, "title": title, "rows": [r for r in rows if group_of(r) == key]}
              for key, title in GROUPS.items()]
    opening = {row.figure: title_and_opening(row.path) for row in registry.NOTEBOOKS.values()}
    titles = {figure: title for figure, (title, _) in opening.items()}
    figures = []
    for row in registry.NOTEBOOKS.values():
        notebook, name = row.name, row.figure
        if not (base / "figures" / f"{name}.png").exists():
            continue
        executed = base / "notebooks" / f"{notebook}.ipynb"
        figures.append({"name": name, "notebook": notebook, "title": titles[name],
                        "caption": markdown_to_html(opening[name][1]),
                        "html": executed.with_suffix(".html").exists(),
                        "pdf": (base / "figures" / f"{name}.pdf").exists(),
                        "rendered": rendered_with(json.loads(executed.read_text()) if executed.exists() else {})})
    preset = report.get("preset", result_set)
    variant = report.get("variant", "default")
    others = other_sets(result_set, outputs_dir)
    return {"result_set": result_set, "preset": preset, "variant": variant,
            "seeds": report.get("seeds", []), "summary": report.get("summary", ""),
            "answer": answer(rows, titles), "groups": [g for g in groups if g["rows"]], "figures": figures,
            "shown": {f["name"] for f in figures},
            "commits": sorted({f["rendered"]["commit"] for f in figures if f["rendered"]["commit"]}),
            "siblings": [o for o in others if o["preset"] == preset],
            "other_scale": [o for o in others if o["preset"] != preset and o["variant"] == variant]}


def other_sets(result_set: str, outputs_dir: str | Path) -> list[dict]:
    """The other result sets beside this one that have an index page (another model variant, a partial run,
    another scale), so that each page links to the others."""
    others = []
    for path in sorted(p for p in Path(outputs_dir).iterdir() if p.is_dir() and p.name != result_set):
        report = path / "report.json"
        if (path / "index.html").exists() and report.exists():
            r = json.loads(report.read_text())
            others.append({"name": path.name, "preset": r.get("preset", path.name),
                           "variant": r.get("variant", "default"), "seeds": r.get("seeds", []),
                           "summary": r.get("summary", "")})
    return others


def write_index(result_set: str, outputs_dir: str | Path) -> Path:
    """`<outputs>/<result set>/index.html`: the claims table and every composed figure; returns its path."""
    import jinja2
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    page = env.get_template("index.html.j2").render(**index_context(result_set, outputs_dir))
    path = Path(outputs_dir) / result_set / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, page)


__all__ = ["export_html", "markdown_to_html", "title_and_opening", "rendered_with",
           "answer", "index_context", "other_sets", "write_index"]
