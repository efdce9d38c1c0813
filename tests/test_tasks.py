"""Trajectory statistics and target cells (docs/methods.md §3)."""
import math

import numpy as np
import torch

from utils import config as C
from utils.tasks import (HeadDirectionCells, PlaceCells, head_direction_trajectories, sample_batch,
                         spatial_trajectories, wrap_angle)

SP = C.paper_config("spatial", "noisy_unbiased").task
SP_BIASED = C.paper_config("spatial", "noisy_biased").task
HD = C.paper_config("head_direction", "noisy_unbiased").task
HD_BIASED = C.paper_config("head_direction", "noisy_biased").task


def test_spatial_positions_stay_in_box_and_start_uniform(gen):
    pos = spatial_trajectories(SP, 2000, 100, gen)
    assert pos.shape == (2000, 101, 2) and pos.dtype == torch.float32
    assert pos.abs().max() <= SP.box_size / 2
    start = pos[:, 0].numpy()
    # Uniform start: mean ~0, variance of U(-1.1, 1.1) = 2.2² / 12.
    assert np.allclose(start.mean(0), 0, atol=0.05)
    assert np.allclose(start.var(0), SP.box_size**2 / 12, rtol=0.1)


def test_spatial_speed_and_turn_distributions(gen):
    """Away from walls, step length / Δt is Rayleigh(0.26π) and heading turns are N(0, (11.52 Δt)²)."""
    cfg = C.apply_overrides(C.paper_config("spatial", "noisy_unbiased"), {"box_size": 1000.0}).task  # no walls
    pos = spatial_trajectories(cfg, 500, 100, gen).double()
    step = pos.diff(dim=1)
    speed = step.norm(dim=-1) / cfg.dt
    # Rayleigh mean = b √(π/2).
    assert abs(speed.mean().item() - cfg.speed_scale * math.sqrt(math.pi / 2)) < 0.02
    heading = torch.atan2(step[..., 1], step[..., 0])
    turn = wrap_angle(heading.diff(dim=1))
    assert abs(turn.mean().item()) < 0.01
    assert abs(turn.std().item() - cfg.turn_std * cfg.dt) < 0.01


def test_walls_slow_the_agent_down(gen):
    pos = spatial_trajectories(SP, 1000, 100, gen)
    half = SP.box_size / 2
    gap = (half - pos.abs()).min(dim=-1).values  # distance to the nearest wall
    near = gap[:, :-1] < SP.wall_margin
    approaching = near & (gap[:, 1:] < gap[:, :-1])  # a step that still heads towards the wall
    speed = pos.diff(dim=1).norm(dim=-1)
    assert approaching.sum() > 100
    # Speed × 0.25 near a wall (up to the clipping at the wall itself).
    assert speed[approaching].mean() < 0.4 * speed[~near].mean()


def test_biased_agent_occupies_a_ring(gen):
    unbiased = spatial_trajectories(SP, 500, 100, gen)[:, 50:].norm(dim=-1)
    biased = spatial_trajectories(SP_BIASED, 500, 100, gen)[:, 50:].norm(dim=-1)
    # Pulled towards the centre: far from the walls, yet not at the centre itself (a ring).
    assert biased.mean() < 0.7 * unbiased.mean()
    assert (biased > 0.9).float().mean() < 0.01
    assert (biased < 0.05).float().mean() < 0.05


def test_head_direction_wrapping_and_bias(gen):
    theta = head_direction_trajectories(HD, 1000, 100, gen)
    assert theta.shape == (1000, 101, 1)
    assert theta.min() >= -math.pi and theta.max() < math.pi
    turn = wrap_angle(theta.diff(dim=1))
    assert abs(turn.mean().item()) < 0.005
    assert abs(turn.std().item() - HD.turn_std * HD.dt) < 0.005
    biased = wrap_angle(head_direction_trajectories(HD_BIASED, 1000, 100, gen).diff(dim=1))
    assert (biased >= -1e-5).all()  # counter-clockwise only
    assert abs(biased.mean().item() - HD.turn_std * HD.dt * math.sqrt(2 / math.pi)) < 0.005


def test_place_cells_softmax_and_decoding(gen):
    cells = PlaceCells(SP, gen)
    pos = spatial_trajectories(SP, 200, 20, gen)
    code = cells.encode(pos)
    assert torch.allclose(code.sum(-1), torch.ones(()), atol=1e-5)
    err = (cells.decode(code) - pos).norm(dim=-1)
    assert err.median() < 0.05  # a few cm
    # The fast encoder equals the textbook formula.
    ref = torch.softmax(-((pos[..., None, :] - cells.centres) ** 2).sum(-1) / (2 * SP.place_cell_width**2), -1)
    assert torch.allclose(code, ref, atol=1e-6)


def test_head_direction_cells_peak_and_decoding(gen):
    cells = HeadDirectionCells(HD)
    assert not torch.isclose(cells.centres[0], cells.centres[-1] - 2 * math.pi)  # no duplicate at ±π
    assert torch.allclose(cells.centres.diff(), torch.full((HD.n_cells - 1,), 2 * math.pi / HD.n_cells), atol=1e-6)
    theta = head_direction_trajectories(HD, 200, 20, gen)
    code = cells.encode(theta)
    assert code.max() <= 1 + 1e-6
    assert torch.allclose(cells.encode(cells.centres[:, None]).diagonal(), torch.ones(HD.n_cells))
    err = wrap_angle(cells.decode(code) - theta).abs()
    assert err.max() < math.radians(2)


def test_batch_inputs_integrate_to_states(gen):
    for task in (SP, SP_BIASED, HD):
        cells = PlaceCells(task, gen) if task.name == "spatial" else HeadDirectionCells(task)
        b = sample_batch(task, cells, 8, gen, steps=30)
        assert b.inputs.shape[:2] == (8, 30) and b.targets.shape == (8, 30, task.n_cells)
        end = b.states[:, 0] + b.inputs.sum(1)
        if task.name == "spatial":
            assert torch.allclose(end, b.states[:, -1], atol=1e-4)
        else:
            assert torch.allclose(wrap_angle(end - b.states[:, -1]), torch.zeros(()), atol=1e-4)


def test_same_seed_same_trajectories():
    a = sample_batch(SP, PlaceCells(SP, torch.Generator().manual_seed(0)), 4, torch.Generator().manual_seed(5))
    b = sample_batch(SP, PlaceCells(SP, torch.Generator().manual_seed(0)), 4, torch.Generator().manual_seed(5))
    assert torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)
