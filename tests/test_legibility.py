"""A figure a reader can read alone (utils/legibility.py): each kind of problem is found on a figure made to have
it, and a clean figure has none."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from utils import plotting as P  # noqa: E402
from utils.legibility import LegibilityWarning, problems  # noqa: E402


def grid(layout="ab", figsize=(4, 2)):
    fig, axes = P.panel_grid(layout, figsize=figsize)
    P.label_panels(axes)
    return fig, axes


def test_a_clean_figure_has_no_problem():
    fig, axes = grid()
    axes["a"].plot([0, 1], [0, 1])
    axes["a"].set(xlabel="x", ylabel="y", title="line")
    im = axes["b"].imshow(np.random.default_rng(0).random((4, 4)))
    P.colorbar_beside(axes["b"], im, "value")
    assert problems(fig) == []
    plt.close(fig)


def test_text_over_text_is_found():
    fig, axes = grid()
    axes["a"].set_title("a very long title that runs into its neighbour's letter and title")
    axes["b"].set_title("another long title")
    found = problems(fig)
    assert any("title" in p and "overlaps" in p for p in found), found
    plt.close(fig)


def test_a_legend_or_a_value_label_over_data_points_is_found():
    fig, axes = grid()
    x = np.linspace(0, 1, 50)
    axes["a"].plot(x, np.full(50, 0.9), label="a line along the top")
    axes["a"].set_ylim(0, 1)
    axes["a"].legend(loc="upper center")
    axes["b"].scatter([0.5], [0.5])
    axes["b"].text(0.5, 0.5, "0.42", ha="center", va="center")
    found = problems(fig)
    assert any("panel a: its legend covers" in p for p in found), found
    assert any("panel b: text '0.42' covers 1" in p for p in found), found
    plt.close(fig)


def test_a_map_needs_a_colour_bar_it_owns_or_shares():
    fig, axes = grid()
    for key in "ab":
        P.plot_kde_map(axes[key], np.random.default_rng(1).random((5, 5)), (-1, 1, -1, 1), vmax=1.0)
    assert sum("a map without a colour bar" in p for p in problems(fig)) == 2
    P.colorbar_beside(axes["b"], axes["b"].images[0], "density")   # one bar, one scale: both maps read
    assert not [p for p in problems(fig) if "colour bar" in p]
    axes["a"].images[0].set_clim(0, 2)   # another scale: its own bar is missing again
    assert [p for p in problems(fig) if "colour bar" in p] == ["panel a: a map without a colour bar (or one it shares)"]
    plt.close(fig)


def test_slanted_tick_labels_count_only_where_their_slanted_boxes_meet():
    fig, axes = grid("a", figsize=(3, 2))
    ax = axes["a"]
    ax.set_xticks(range(6), ["a long label"] * 6, rotation=45, ha="right", rotation_mode="anchor")
    assert problems(fig) == []          # parallel, a line apart: readable, although their upright boxes meet
    ax.set_xticks(np.arange(6) * 0.01, ["a long label"] * 6, rotation=45, ha="right", rotation_mode="anchor")
    assert any("x tick label" in p for p in problems(fig))   # crowded: they do meet
    plt.close(fig)


def test_tick_labels_outside_the_view_are_not_drawn_and_not_counted():
    fig, axes = grid("a", figsize=(2.5, 2))
    axes["a"].plot([0, 1], [0, 4.0])     # matplotlib keeps a label for the tick above the view (4.5), never drawn
    assert problems(fig) == []
    plt.close(fig)


def test_writing_a_figure_warns_with_each_problem(tmp_path):
    from utils.figures.base import write_figure
    panels = {"a": lambda ax: ax.set_title("a title long enough to run into the next panel's title"),
              "b": lambda ax: ax.set_title("and the next panel's title")}
    with pytest.warns(LegibilityWarning, match="fig9: .*overlaps"):
        plt.close(write_figure(panels, "ab", "fig9", tmp_path, save_panels=False, figsize=(3, 1.5)))
