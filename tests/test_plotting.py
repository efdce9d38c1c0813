"""Figure panels draw from plain arrays, print what they claim, and save where the notebooks expect."""
import logging
import os
from collections import Counter

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib import font_manager
from PIL import Image

from utils.figures.base import save_figure, write_figure
from utils import plotting as P

RNG = np.random.default_rng(0)


@pytest.fixture
def ax():
    P.use_style()
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


@pytest.fixture
def polar_ax():
    P.use_style()
    fig, ax = plt.subplots(subplot_kw={"projection": "polar"})
    yield ax
    plt.close(fig)


def drew_something(ax) -> bool:
    return bool(ax.lines or ax.collections or ax.images or ax.patches)


def random_walks(n=40, T=50):
    return np.clip(np.cumsum(RNG.normal(0, 0.05, (n, T, 2)), axis=1), -1.1, 1.1)


def test_style_font_ships_with_matplotlib(caplog):
    P.use_style()
    for family in P.STYLE["font.sans-serif"]:
        path = font_manager.findfont(family, fallback_to_default=False)  # raises if missing
        assert path.startswith(os.path.dirname(matplotlib.__file__))  # matplotlib's own font files
    assert matplotlib.rcParams["axes.spines.top"] is False and matplotlib.rcParams["axes.spines.right"] is False
    assert matplotlib.rcParams["savefig.dpi"] == 300
    with caplog.at_level(logging.WARNING, logger="matplotlib.font_manager"):
        fig, ax = plt.subplots()
        ax.set_title(r"text and $U^\sigma$, $\mathcal{U}$")
        fig.canvas.draw()
        plt.close(fig)
    assert not [r for r in caplog.records if "findfont" in r.getMessage()]


def test_loss_curves(ax):
    batches = np.arange(0, 2500, 100)
    loss = 1e-5 * (1 + np.exp(-batches / 500)) + RNG.normal(0, 1e-7, (5, len(batches)))
    err = 0.1 * np.exp(-batches / 500) + RNG.normal(0, 1e-3, (5, len(batches)))
    assert P.plot_loss_curves(ax, batches, loss, err) is ax
    assert len(ax.lines) == 1 and len(ax.collections) == 1  # mean line and sd band on the loss axes
    assert len(ax.right_ax.lines) == 1 and ax.right_ax.lines[0].get_color() == "black"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), loss.mean(0))


def test_explained_variance(ax):
    ratios = np.sort(RNG.dirichlet(np.ones(20), size=(5,)), axis=1)[:, ::-1][:, :10]
    assert P.plot_explained_variance(ax, ratios.cumsum(1), ratios.cumsum(1) * 0.98) is ax
    colors = {matplotlib.colors.to_hex(line.get_color()) for line in ax.lines}
    assert {P.ACTIVE, P.QUIESCENT} <= colors
    ax2 = plt.figure().add_subplot()
    P.plot_explained_variance(ax2, ratios, ratios, already_cumulative=False)
    np.testing.assert_allclose(ax2.lines[0].get_ydata(), ratios.cumsum(1).mean(0))


def test_trajectories(ax):
    xy = random_walks()
    assert P.plot_trajectories(ax, xy, P.ACTIVE, every=8) is ax
    assert len(ax.lines) == 5  # 40 trajectories, every 8th
    markers = {c.get_paths()[0].vertices.shape for c in ax.collections}
    assert len(ax.collections) == 2 and len(markers) == 2  # start circle and end triangle differ
    assert ax.patches and ax.get_aspect() == 1.0


def test_pc_scatter_distance_and_bearing(ax):
    pcs = RNG.normal(size=(300, 2))
    assert P.plot_pc_scatter(ax, pcs, np.linalg.norm(pcs, axis=1), label="distance (m)") is ax
    assert len(ax.collections) == 1 and len(ax.figure.axes) == 2  # scatter and its colour bar
    ax2 = plt.figure().add_subplot()
    P.plot_pc_scatter(ax2, pcs, np.arctan2(pcs[:, 1], pcs[:, 0]), cmap=P.BEARING_CMAP, colorbar=False)
    assert ax2.collections[0].get_clim() == (-np.pi, np.pi)


def test_kde_map(ax):
    density = RNG.random((30, 20))
    assert P.plot_kde_map(ax, density, extent=(-1.1, 1.1, -1.1, 1.1)) is ax
    (im,) = ax.images
    assert im.origin == "lower" and im.get_cmap().name == "coolwarm"
    assert im.get_array().shape == (30, 20)


def test_kl_matrix_prints_every_value(ax):
    matrix = RNG.uniform(-0.05, 12, (4, 6))
    matrix[0, 2] = 0.0060   # a small entry keeps its digits: two significant ones
    matrix[0, 3] = 0.00047  # a smaller one in powers of ten, as narrow as the others
    assert P.plot_kl_matrix(ax, matrix) is ax
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 24 and "0.006" in texts and "4.7e-4" in texts
    assert Counter(texts) == Counter(P.kl_cell_label(v) for v in matrix.ravel())
    assert max(len(t) for t in texts) <= 6
    assert [t.get_text() for t in ax.get_xticklabels()] == P.KL_COLS
    assert [t.get_text() for t in ax.get_yticklabels()] == P.KL_ROWS


def test_boxes(ax):
    groups = {"noisy\nunbiased": RNG.random(5), "noisy\nbiased": RNG.random(5), "noiseless": RNG.random(5)}
    assert P.plot_variance_boxes(ax, groups) is ax
    assert [t.get_text() for t in ax.get_xticklabels()] == list(groups)
    assert drew_something(ax)
    ax2 = plt.figure().add_subplot()
    P.plot_boxes(ax2, {"a": RNG.random(50), "b": RNG.random(50)}, colors=[P.ACTIVE, P.QUIESCENT], ylim=(0, 0.6))
    assert ax2.get_ylim() == (0, 0.6) and drew_something(ax2)


def test_box_points_are_jittered_the_same_whatever_ran_before():
    """The same values draw the same figure: the jitter does not come from numpy's global state."""
    groups = {"a": [0.1, 0.2, 0.3], "b": [0.5, 0.6]}
    offsets = []
    for global_seed in (1, 2):
        np.random.seed(global_seed)
        ax = plt.figure().add_subplot()
        P.plot_boxes(ax, groups)
        points = np.concatenate([c.get_offsets() for c in ax.collections if len(c.get_offsets()) in (2, 3)])
        offsets.append(points)
        plt.close(ax.figure)
    np.testing.assert_array_equal(offsets[0], offsets[1])
    assert np.all(np.abs(offsets[0][:3, 0]) <= 0.15) and np.all(np.abs(offsets[0][3:, 0] - 1) <= 0.15)
    np.testing.assert_allclose(offsets[0][:, 1], [0.1, 0.2, 0.3, 0.5, 0.6])


def test_polar_histogram_is_equal_area(polar_ax):
    bearings = RNG.vonmises(0.5, 2.0, 5000)
    assert P.plot_polar_histogram(polar_ax, bearings, P.ACTIVE, bins=20) is polar_ax
    assert len(polar_ax.patches) == 20
    radius = np.array([bar.get_height() for bar in polar_ax.patches])
    width = np.array([bar.get_width() for bar in polar_ax.patches])
    fraction = np.histogram(bearings, bins=20, range=(-np.pi, np.pi))[0] / len(bearings)
    np.testing.assert_allclose(radius, np.sqrt(fraction / np.pi))
    area = 0.5 * radius**2 * width
    np.testing.assert_allclose(area / area.sum(), fraction)  # wedge area ∝ fraction of bearings
    with pytest.raises(ValueError):
        P.plot_polar_histogram(plt.figure().add_subplot(), bearings, P.ACTIVE)


def test_polar_trajectory(polar_ax):
    bearings = np.mod(np.cumsum(RNG.normal(0.05, 0.1, 200)) + np.pi, 2 * np.pi) - np.pi
    assert P.plot_polar_trajectory(polar_ax, bearings, P.QUIESCENT) is polar_ax
    theta = polar_ax.lines[0].get_xdata()
    assert np.abs(np.diff(theta)).max() < np.pi  # unwrapped: no chord across the circle


def test_histogram_marks_mean(ax):
    values = RNG.normal(0.0151, 0.05, 1000)
    assert P.plot_histogram(ax, values, P.QUIESCENT, xlim=(-0.2, 0.2)) is ax
    assert ax.patches and ax.lines[0].get_xdata()[0] == pytest.approx(values.mean())
    assert f"{values.mean():+.4f}" in ax.get_title(loc="right")


def test_save_figure_writes_png_at_300_dpi_and_pdf(tmp_path):
    fig, ax = P.panel_grid("ab", figsize=(3, 1.5))
    ax = fig.axes[0]
    ax.plot([0, 1], [0, 1])
    png = save_figure(fig, tmp_path / "smoke" / "figures", "fig1_b")
    plt.close(fig)
    folder = tmp_path / "smoke" / "figures"
    assert png == folder / "fig1_b.png"
    assert sorted(p.name for p in folder.iterdir()) == ["fig1_b.pdf", "fig1_b.png"]  # no temp files left
    assert (folder / "fig1_b.pdf").read_bytes().startswith(b"%PDF")
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    assert png.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777  # ordinary permissions after the rename
    with Image.open(png) as im:
        assert im.info["dpi"] == pytest.approx((300, 300), abs=0.5)


def test_write_figure_saves_the_figure_and_each_panel(tmp_path):
    xy = random_walks(16, 30)
    panels = {"b": lambda ax: P.plot_trajectories(ax, xy, P.ACTIVE, every=4),
              "c": lambda ax: P.plot_polar_histogram(ax, RNG.uniform(-np.pi, np.pi, 500), P.QUIESCENT)}
    fig = write_figure(panels, "abc", "fig9", tmp_path / "smoke" / "figures", polar=["c"], figsize=(5, 1.8))
    axes = {ax.get_label(): ax for ax in fig.axes}
    assert axes["c"].name == "polar" and not axes["a"].axison  # "a" has no drawer: blank, still lettered
    letters = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_fontweight() == "bold"]
    assert sorted(letters) == ["a", "b", "c"]
    plt.close(fig)
    names = sorted(p.name for p in (tmp_path / "smoke" / "figures").glob("*.png"))
    assert names == ["fig9.png", "fig9_b.png", "fig9_c.png"]
    with Image.open(tmp_path / "smoke" / "figures" / "fig9_c.png") as im:  # about its cell: 5/3 × 1.8 in
        assert im.size[1] < 1.8 * 300 + 20 and im.size[0] < 5 / 3 * 300 + 20
    with pytest.raises(ValueError):
        P.compose_figure({"z": panels["b"]}, "ab")
