import os

import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")
torch.set_num_threads(1)  # the suite runs on 2 cores; one thread per test keeps timings stable


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(1234)
