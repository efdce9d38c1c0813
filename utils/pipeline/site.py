"""Reading without running: executed notebooks exported to HTML, and the index page of a result set.

`export_html` renders an executed notebook with nbconvert beside it (`name.html`, images embedded), so it
reads in any browser. `write_index` builds `<outputs>/<result set>/index.html` from a Jinja2 template
(`templates/index.html.j2` beside this module): the claims table of `report.json` with coloured verdicts and
per-seed values, then each composed figure of the registry with its notebook's opening cell rendered from
markdown and links to the notebook (HTML and .ipynb) and the PDF figure. Every link is relative, so the folder
can be moved or served.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .. import registry
from ..files import atomic_write_text
from ..report import GROUPS, group_of

TEMPLATES = Path(__file__).resolve().parent / "templates"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def export_html(notebook: Path) -> Path:
    """`notebook` (an executed .ipynb) -> the same name with `.html`, written atomically: titled after the
    notebook, with a link back to the result set's index page (`../index.html`) above its first cell."""
    import nbformat
    from nbconvert import HTMLExporter

    from traitlets.config import Config

    # A widget's Python callbacks need a live kernel: where an output also carries a static image, the page
    # shows the image rather than controls that cannot redraw anything.
    priority = HTMLExporter().default_config.NbConvertBase.display_data_priority
    config = Config({"NbConvertBase": {"display_data_priority": [t for t in priority if t != WIDGET_VIEW]
                                       + [WIDGET_VIEW]}})
    body, _ = HTMLExporter(template_name="lab", config=config).from_notebook_node(
        nbformat.read(notebook, as_version=4), resources={"metadata": {"name": notebook.stem}})
    back = (f'<p style="margin:1em 2em"><a href="../index.html">← index of this result set</a> · '
            f'<a href="{notebook.name}">{notebook.name}</a></p>')
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + back, body, count=1)
    return atomic_write_text(notebook.with_suffix(".html"), body)


def markdown_to_html(text: str) -> str:
    """Markdown (a notebook's opening cell) to HTML, with the renderer nbconvert itself uses."""
    import mistune
    return mistune.html(text)


def opening_cell(notebook: Path) -> str:
    """The first markdown cell of a notebook, without its `# title` line (the index gives its own heading)."""
    for cell in json.loads(notebook.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"]).strip()
            return text.split("\n", 1)[1].strip() if text.startswith("# ") and "\n" in text else text
    return ""


def index_context(result_set: str, outputs_dir: str | Path) -> dict:
    """What the template needs: report rows by group, and one entry per composed figure that exists, in the
    registry's order."""
    base = Path(outputs_dir) / result_set
    report_path = base / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    rows = report.get("claims", [])
    groups = [{"title": title, "rows": [r for r in rows if group_of(r) == key]} for key, title in GROUPS.items()]
    figures = []
    for row in registry.NOTEBOOKS.values():
        notebook, name, source = row.name, row.figure, row.path
        if not (base / "figures" / f"{name}.png").exists():
            continue
        figures.append({"name": name, "notebook": notebook,
                        "caption": markdown_to_html(opening_cell(source)) if source.exists() else "",
                        "html": (base / "notebooks" / f"{notebook}.html").exists(),
                        "pdf": (base / "figures" / f"{name}.pdf").exists()})
    preset = report.get("preset", result_set)
    return {"result_set": result_set, "preset": preset, "variant": report.get("variant", "default"),
            "seeds": report.get("seeds", []), "summary": report.get("summary", ""),
            "groups": [g for g in groups if g["rows"]], "figures": figures, "shown": {f["name"] for f in figures},
            "siblings": sibling_sets(result_set, outputs_dir, preset)}


def sibling_sets(result_set: str, outputs_dir: str | Path, preset: str) -> list[dict]:
    """The other result sets of `preset` beside this one (another model variant, a partial run) that have an
    index page, so that each page links to the others."""
    siblings = []
    for path in sorted(p for p in Path(outputs_dir).iterdir() if p.is_dir() and p.name != result_set):
        report = path / "report.json"
        if (path / "index.html").exists() and report.exists():
            r = json.loads(report.read_text())
            if r.get("preset") == preset:
                siblings.append({"name": path.name, "variant": r.get("variant", "default"),
                                 "seeds": r.get("seeds", []), "summary": r.get("summary", "")})
    return siblings


def write_index(result_set: str, outputs_dir: str | Path) -> Path:
    """`<outputs>/<result set>/index.html`: the claims table and every composed figure; returns its path."""
    import jinja2
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    page = env.get_template("index.html.j2").render(**index_context(result_set, outputs_dir))
    path = Path(outputs_dir) / result_set / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_text(path, page)


__all__ = ["export_html", "markdown_to_html", "opening_cell", "index_context", "sibling_sets", "write_index"]
