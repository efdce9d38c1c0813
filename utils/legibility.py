"""Can a reader read a drawn figure alone? `problems(fig)` lists what stops them: text over other text (titles,
axis labels, tick labels, legends, annotations, panel letters), a legend or a value label over data points, and a
map (an image) without a colour bar for its colours. Measured on the drawn figure's window extents, so it sees what
the saved file shows. `figures.base.write_figure` warns with each (`LegibilityWarning`), so an executed notebook
and the test suite see them.
"""
from __future__ import annotations

import itertools

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.transforms import Bbox

OVERLAP_PX = 1.5   # pixels two extents may share (antialiased edges) before they count as overlapping


class LegibilityWarning(UserWarning):
    """A drawn figure that a reader cannot read alone (`problems`)."""


def _name(ax: Axes) -> str:
    label = ax.get_label()
    return f"panel {label}" if label and not label.startswith("<") else "an inset"


def _visible_text(t: Text) -> bool:
    return t.get_visible() and bool(t.get_text().strip()) and t.get_alpha() != 0


def _texts(ax: Axes) -> list[tuple[str, Text]]:
    """Every text artist of an axes a reader reads, with what it is."""
    out = [("title", t) for t in (ax.title, ax._left_title, ax._right_title)]
    if ax.axison:   # an axes turned off draws no axis labels and no ticks
        for i, (name, axis) in enumerate((("x", ax.xaxis), ("y", ax.yaxis))):
            if axis.get_visible():
                lo, hi = sorted(axis.get_view_interval())
                tol = 1e-9 * max(abs(lo), abs(hi), 1.0)
                # matplotlib draws only the ticks inside the view interval; the others' labels are never shown
                shown = [t for t in axis.get_ticklabels() if lo - tol <= t.get_position()[i] <= hi + tol]
                out += [(f"{name} label", axis.label)] + [(f"{name} tick label", t) for t in shown]
    out += [("text", t) for t in ax.texts]
    return [(kind, t) for kind, t in out if _visible_text(t)]


def _overlap(a: Bbox, b: Bbox) -> bool:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w > OVERLAP_PX and h > OVERLAP_PX


def _parallel_apart(t1: Text | None, t2: Text | None, b1: Bbox, b2: Bbox, dpi: float) -> bool:
    """Two texts at one slant (rotated tick labels) whose slanted boxes do not meet, although their upright
    bounding boxes do: their centre lines lie more than a line height apart."""
    if t1 is None or t2 is None or t1.get_rotation() != t2.get_rotation() or t1.get_rotation() % 180 == 0:
        return False
    theta = np.radians(t1.get_rotation())
    normal = np.array([-np.sin(theta), np.cos(theta)])
    centre = lambda b: np.array([(b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2])  # noqa: E731
    height = max(t1.get_fontsize(), t2.get_fontsize()) * dpi / 72   # one line; a two-line label counts once
    return abs(float((centre(b2) - centre(b1)) @ normal)) >= height - OVERLAP_PX


def _data_points(ax: Axes) -> np.ndarray:
    """Display coordinates of the points and line vertices drawn in an axes (what a label must not cover)."""
    pts = []
    for line in ax.lines:
        if line.get_visible() and isinstance(line, Line2D) and len(line.get_xydata()):
            pts.append(line.get_transform().transform(line.get_xydata()))
    for coll in ax.collections:
        if coll.get_visible() and isinstance(coll, PathCollection) and len(coll.get_offsets()):
            pts.append(coll.get_offset_transform().transform(coll.get_offsets()))
    pts = [p[np.isfinite(p).all(axis=1)] for p in pts]
    return np.concatenate(pts) if pts else np.zeros((0, 2))


def _inside(box: Bbox, pts: np.ndarray) -> int:
    return int(((pts[:, 0] > box.x0 + OVERLAP_PX) & (pts[:, 0] < box.x1 - OVERLAP_PX)
                & (pts[:, 1] > box.y0 + OVERLAP_PX) & (pts[:, 1] < box.y1 - OVERLAP_PX)).sum())


def _maps(fig: Figure) -> list[tuple[Axes, AxesImage]]:
    colorbar_axes = {im.colorbar.ax for ax in fig.axes for im in ax.images if im.colorbar is not None}
    return [(ax, im) for ax in fig.axes if ax not in colorbar_axes for im in ax.images if im.get_visible()]


def problems(fig: Figure) -> list[str]:
    """What a reader cannot read in `fig` (drawn here first); empty when nothing."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = []   # (where, kind, artist, extent): the artist is None for a legend
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for kind, t in _texts(ax):
            texts.append((_name(ax), kind, t, t.get_window_extent(renderer)))
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            texts.append((_name(ax), "legend", None, legend.get_window_extent(renderer)))
    texts += [("the figure", "text", t, t.get_window_extent(renderer)) for t in fig.texts if _visible_text(t)]
    out = []
    for (w1, k1, t1, b1), (w2, k2, t2, b2) in itertools.combinations(texts, 2):
        if _overlap(b1, b2) and not _parallel_apart(t1, t2, b1, b2, fig.dpi):
            s1, s2 = (t.get_text() if t is not None else "" for t in (t1, t2))
            out.append(f"{w1} {k1} {s1!r} overlaps {w2} {k2} {s2!r}".replace(" ''", ""))
    for ax in fig.axes:
        pts = _data_points(ax)
        if not len(pts):
            continue
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            n = _inside(legend.get_window_extent(renderer), pts)
            if n:
                out.append(f"{_name(ax)}: its legend covers {n} data point(s)")
        for t in ax.texts:
            if _visible_text(t) and (n := _inside(t.get_window_extent(renderer), pts)):
                out.append(f"{_name(ax)}: text {t.get_text()!r} covers {n} data point(s)")
    maps = _maps(fig)
    with_bar = {(im.get_cmap().name, *im.get_clim()) for _, im in maps if im.colorbar is not None}
    for ax, im in maps:
        if (im.get_cmap().name, *im.get_clim()) not in with_bar:
            out.append(f"{_name(ax)}: a map without a colour bar (or one it shares)")
    return out


__all__ = ["LegibilityWarning", "problems", "OVERLAP_PX"]
