"""The committed rendered results read anywhere: executed notebooks name no path of the machine that ran them."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = sorted(p for p in ROOT.glob("outputs/*/notebooks/*.ipynb") if not p.name.startswith("."))  # not a failed run


def test_some_rendered_results_are_committed():
    assert EXECUTED, "outputs/laptop/notebooks/ holds the executed notebooks of the laptop preset"


@pytest.mark.parametrize("path", EXECUTED, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_an_executed_notebook_carries_relative_paths_only(path):
    text = path.read_text()
    for machine_path in ("/work/", "/tmp/", "/home/", "/root/", ".partial"):
        assert machine_path not in text, f"{path.name} mentions {machine_path!r}"
    papermill = json.loads(text)["metadata"]["papermill"]
    assert papermill["input_path"] == f"notebooks/{path.name}"
    assert papermill["output_path"] == f"notebooks/{path.name}"
    params = papermill["parameters"]
    params = params.get("run", params)   # the run's settings as one parameter (before: each its own)
    assert not Path(params["outputs_dir"]).is_absolute()
    assert path.with_suffix(".html").exists(), "every executed notebook has its HTML export beside it"


def _is_shallow() -> bool:
    from utils.pipeline.provenance import git
    return git("rev-parse", "--is-shallow-repository") == "true"


@pytest.mark.parametrize("path", EXECUTED, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_an_executed_notebook_shows_the_code_of_the_commit_it_records(path):
    """Its code cells equal its source notebook's at the recorded commit (papermill's parameters aside), so that a
    rendered page never shows code that the repository it names does not hold."""
    from utils.pipeline.provenance import code_cells, recorded, source_at
    nb = json.loads(path.read_text())
    commit = recorded(nb).get("commit")
    assert commit, f"{path} records no commit (metadata.reproduction)"
    if _is_shallow():
        pytest.skip("a shallow clone holds no history to compare with")
    source = source_at(commit, path.stem)
    assert source is not None, f"notebooks/{path.name} does not exist at commit {commit}"
    assert code_cells(nb) == code_cells(source), f"{path} differs from notebooks/{path.name} at {commit[:10]}"


def test_the_code_comparison_sees_a_changed_cell():
    from utils.pipeline.provenance import code_cells, recorded, source_at
    path = ROOT / "outputs" / "laptop" / "notebooks" / "fig1_spatial_reactivation.ipynb"
    nb = json.loads(path.read_text())
    if _is_shallow():
        pytest.skip("a shallow clone holds no history to compare with")
    source = source_at(recorded(nb)["commit"], path.stem)
    assert code_cells(nb) == code_cells(source)
    cell = [c for c in nb["cells"] if c["cell_type"] == "code"][-1]
    cell["source"] = "".join(cell["source"]) + "\n"  # one character more
    assert code_cells(nb) != code_cells(source)


# --- the README's answer: every measured number is the committed report's ------------------------------------

README = ROOT / "README.md"
SOURCE = re.compile(r"<!--\s*from:(.*?)-->")
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?%?")


def _answer() -> tuple[int, list[str]]:
    """The line number of "## Does it reproduce?" and the lines of that section."""
    lines = README.read_text().splitlines()
    start = lines.index("## Does it reproduce?")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return start, lines[start + 1:end]


def test_the_readme_opens_with_its_answer():
    start, body = _answer()
    assert start < 40
    rows = [line for line in body if line.startswith("| ") and not line.startswith("| claims ")]
    assert len(rows) >= 8   # one row per claim family


def _untied_numbers(lines: list[str], require_tag: bool = True) -> list[str]:
    """Numbers in code spans (`0.254`) on lines that do not cite where they come from, or that their sources do not
    hold: a source is `<set>:<claim>`, and the number must be the claim's measured value or a seed's, as
    `outputs/<set>/report.json` prints it."""
    reports: dict[str, dict] = {}
    out = []
    for line in lines:
        cited = re.findall(r"`([^`]*)`", SOURCE.sub("", line))
        numbers = [n for span in cited if not re.search(r"[a-zA-Z_/=]{3,}", span) for n in NUMBER.findall(span)]
        if not numbers:
            continue
        tag = SOURCE.search(line)
        if not tag:
            if require_tag:
                out.append(f"no source: {line[:80]}")
            continue
        known: set[str] = set()
        for source in tag.group(1).split():
            result_set, claim = source.split(":")
            report = reports.setdefault(result_set,
                                        json.loads((ROOT / "outputs" / result_set / "report.json").read_text()))
            (row,) = [r for r in report["claims"] if r["id"] == claim]
            known |= set(NUMBER.findall(" ".join([row["value"], *row["per_seed"].values()])))
        missing = [n for n in numbers if n not in known]
        if missing:
            out.append(f"{missing} not in {tag.group(1).strip()}: {line[:80]}")
    return out


def test_every_number_of_the_readme_answer_is_in_the_report_it_cites():
    """A number in a code span (`0.254`) on a line of the answer is a measured value: the line names its sources
    (`<!-- from: laptop:fig2-unbiased laptop-as-written:fig1-smooth -->`), and the number must be one of
    theirs in `outputs/<set>/report.json` (the claim's measured value or a seed's), as the report prints it."""
    _, body = _answer()
    assert _untied_numbers(body) == []
    assert sum(1 for line in body if SOURCE.search(line)) >= 8


def test_every_measured_number_of_the_results_page_is_in_what_it_cites():
    """docs/results.md as the README: every number in a code span names the report rows it comes from."""
    lines = (ROOT / "docs" / "results.md").read_text().splitlines()
    assert _untied_numbers(lines) == []
    assert sum(1 for line in lines if SOURCE.search(line)) >= 20


def test_the_number_tie_sees_a_number_no_source_holds():
    report = json.loads((ROOT / "outputs/laptop/report.json").read_text())
    (row,) = [r for r in report["claims"] if r["id"] == "fig2-unbiased"]
    measured = NUMBER.findall(row["value"])[0]
    line = f"KL `{measured}` and `9.999` <!-- from: laptop:fig2-unbiased -->"
    assert _untied_numbers([line]) == ["['9.999'] not in laptop:fig2-unbiased: " + line[:80]]
    assert _untied_numbers(["KL `0.212` with no source"]) == ["no source: KL `0.212` with no source"]


# --- every relative link of the Markdown a GitHub reader opens resolves ------------------------------------------

MARKDOWN = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "outputs").glob("*/report.md")])


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _links(path: Path) -> list[str]:
    from markdown_it import MarkdownIt
    hrefs = []
    for tok in MarkdownIt("commonmark").enable("table").parse(path.read_text()):
        for child in tok.children or []:
            if child.type == "link_open":
                hrefs.append(child.attrs["href"])
    return hrefs


def _dead_links(path: Path) -> list[str]:
    dead = []
    for href in _links(path):
        if re.match(r"[a-z]+:", href):   # http(s), mailto: not ours to check here
            continue
        target, _, anchor = href.partition("#")
        file = (path.parent / target).resolve() if target else path
        if not file.exists():
            dead.append(href)
        elif anchor and file.suffix == ".md":
            headings = {_slug(line.lstrip("#")) for line in file.read_text().splitlines() if line.startswith("#")}
            if anchor not in headings:
                dead.append(href)
    return dead


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves_and_every_anchor_names_a_heading(path):
    dead = _dead_links(path)
    assert not dead, f"{path.relative_to(ROOT)}: links that resolve to nothing: {dead[:8]}"


def test_the_link_check_sees_a_dead_link_and_a_wrong_anchor(tmp_path):
    (tmp_path / "a.md").write_text("# Top\n\n## Where it goes\n\n[ok](#where-it-goes) [bad](#nowhere) [gone](b.md)\n")
    assert _dead_links(tmp_path / "a.md") == ["#nowhere", "b.md"]


# --- docs/results.md's claims table: one number, one value ----------------------------------------------------------

RESULTS_TABLE = "| claim | threshold | default (trainable bias) | | as written (no bias) | |"
MARK = {"passed": "✓", "failed": "✗", "reported": "·", "not applicable": "n/a", "missing": "–"}


def _cells(line: str) -> list[str]:
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]


def _results_table_mismatches(lines: list[str], reports: dict[str, dict]) -> list[str]:
    """Where docs/results.md's claims table differs from the laptop reports (default and as written): a row's
    measured value, verdict or threshold sentence, or the tally under the table."""
    start = lines.index(RESULTS_TABLE) + 2
    out, rows = [], 0
    for line in lines[start:]:
        if not line.startswith("| ["):
            break
        claim, threshold, value, verdict, value_w, verdict_w = _cells(line)
        cid = re.match(r"\[([^\]]+)\]", claim)[1]
        default, written = reports["laptop"][cid], reports["laptop-as-written"][cid]
        if (value, verdict) != (default["value"], MARK[default["verdict"]]):
            out.append(f"{cid} default")
        if (value_w, verdict_w) != (written["value"], MARK[written["verdict"]]):
            out.append(f"{cid} as written")
        if default.get("group") != "reported" and threshold != default["threshold"]:
            out.append(f"{cid} threshold")
        rows += 1
    if rows < 15:
        out.append(f"only {rows} rows")
    tally = next(line for line in lines[start:] if line.startswith("**Default "))
    for name, s in (("Default", "laptop"), ("as written", "laptop-as-written")):
        paper = [r for r in reports[s].values() if r.get("group", "paper") == "paper"]
        counts = f"{sum(r['verdict'] == 'passed' for r in paper)} passed, {sum(r['verdict'] == 'failed' for r in paper)} failed"
        if f"{name} {counts}" not in tally:
            out.append(f"tally {name}: {counts}")
    return out


def _laptop_reports() -> dict[str, dict]:
    return {s: {r["id"]: r for r in json.loads((ROOT / "outputs" / s / "report.json").read_text())["claims"]}
            for s in ("laptop", "laptop-as-written")}


def test_the_results_claims_table_shows_the_reports_values_verdicts_and_thresholds():
    """Each row of docs/results.md's claims table is its claim's row in the laptop reports, default and as written,
    as the reports print it; the tally under it is theirs."""
    lines = (ROOT / "docs" / "results.md").read_text().splitlines()
    assert _results_table_mismatches(lines, _laptop_reports()) == []


def test_the_results_table_check_sees_a_stale_value_and_a_stale_tally():
    lines = (ROOT / "docs" / "results.md").read_text().splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("| [fig2-unbiased]"))
    value = _cells(lines[row])[2]                              # the default's value, as the report prints it
    lines[row] = lines[row].replace(value, value.replace(value.split()[0], "9.999", 1), 1)
    tally = next(i for i, line in enumerate(lines) if line.startswith("**Default "))
    passed = re.search(r"Default (\d+) passed", lines[tally])[1]
    lines[tally] = lines[tally].replace(f"Default {passed} passed", f"Default {int(passed) + 1} passed")
    mismatches = _results_table_mismatches(lines, _laptop_reports())
    assert mismatches[0] == "fig2-unbiased default" and mismatches[1].startswith("tally Default: ")
    assert len(mismatches) == 2


SCALE_TABLE = "| claim | threshold | laptop, default (3 seeds) | | laptop, as written (3 seeds) | | paper, default (seed 0) | |"


def _scale_table_mismatches(lines: list[str]) -> list[str]:
    """Where docs/results.md's table of scales differs from the reports it shows (laptop default and as written,
    paper seed 0): a value or verdict cell of a claim row."""
    sets = ("laptop", "laptop-as-written", "paper-seed0")
    reports = {s: {r["id"]: r for r in json.loads((ROOT / "outputs" / s / "report.json").read_text())["claims"]}
               for s in sets}
    out, rows = [], 0
    for line in lines[lines.index(SCALE_TABLE) + 2:]:
        if not line.startswith("| "):
            break
        cid, _, *cells = _cells(line)
        for s, (value, verdict) in zip(sets, zip(cells[::2], cells[1::2])):
            if (value, verdict) != (reports[s][cid]["value"], MARK[reports[s][cid]["verdict"]]):
                out.append(f"{cid} {s}")
        rows += 1
    return out if rows >= 10 else out + [f"only {rows} rows"]


def test_the_table_of_scales_shows_the_reports_values_and_verdicts():
    lines = (ROOT / "docs" / "results.md").read_text().splitlines()
    assert _scale_table_mismatches(lines) == []
    row = next(i for i, line in enumerate(lines) if line.startswith("| fig3-hd |") and i > lines.index(SCALE_TABLE))
    lines[row] = lines[row].replace(" ✗ |", " ✓ |", 1)   # control: one verdict flipped
    assert _scale_table_mismatches(lines) == ["fig3-hd laptop"]
