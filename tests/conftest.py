import os

import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")
torch.set_num_threads(1)  # the suite runs on 2 cores; one thread per test keeps timings stable


def pytest_collection_modifyitems(items):
    """A test on the session's trained smoke networks is slow by what it needs (the grid is trained first): the fast
    tier (`make check`, `-m "not slow"`) never trains it."""
    for item in items:
        if "smoke_outputs" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(1234)


@pytest.fixture(scope="session")
def smoke_outputs(tmp_path_factory):
    """One smoke-preset cache for the whole session: every model the notebooks need, trained once up front as
    `figures` does (two processes), then shared by every test that reads trained networks."""
    from utils.pipeline.grid import train_grid
    out = tmp_path_factory.mktemp("outputs")
    from utils.settings import RunSettings
    assert train_grid(RunSettings("smoke", outputs_dir=str(out)), jobs=2) == 0
    return out


def settings_for(outputs_dir, seeds=None, preset: str = "smoke", variant: str = "default"):
    """A figure's settings on the full result set of `preset` at `seeds` (default: the preset's), as a test wants
    them: a notebook makes them with `FigureSettings.create(run, NOTEBOOK)`, whose seeds are the run's."""
    from utils import config as C
    from utils.figures.base import FigureSettings
    from utils.settings import RunSettings
    p = C.get_preset(preset)
    seeds = tuple(range(p.seeds) if seeds is None else range(seeds) if isinstance(seeds, int) else seeds)
    return FigureSettings(RunSettings(preset, variant, outputs_dir=str(outputs_dir)), seeds, p.analysis)
