"""The package's layers (pyproject.toml, [tool.importlinter]): every module imports only from below its own layer,
so the house has no import circle, in a function's body or at the top of a file."""
import re
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def test_the_package_keeps_its_layers():
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_the_contract_can_fail(tmp_path):
    """The same contract with two layers swapped (the registry below the figures it gathers) is broken: the check
    reads real imports."""
    text = (ROOT / "pyproject.toml").read_text()
    swapped = re.sub(r'"utils\.registry",\n(\s*)"utils\.figures",', r'"utils.figures",\n\1"utils.registry",', text)
    assert swapped != text
    (tmp_path / "pyproject.toml").write_text(swapped)
    assert lint_imports(config_filename=str(tmp_path / "pyproject.toml"), no_cache=True) == 1
