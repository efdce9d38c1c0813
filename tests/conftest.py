import os

import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")
torch.set_num_threads(1)  # the suite runs on 2 cores; one thread per test keeps timings stable


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(1234)


@pytest.fixture(scope="session")
def smoke_outputs(tmp_path_factory):
    """One smoke-preset cache for the whole session: every model the notebooks need, trained once up front as
    `figures` does (two processes), then shared by every test that reads trained networks."""
    from utils.pipeline.grid import train_grid
    out = tmp_path_factory.mktemp("outputs")
    assert train_grid("smoke", str(out), jobs=2) == 0
    return out
