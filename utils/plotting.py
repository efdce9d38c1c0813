"""Figure panels of the paper (docs/methods.md §6–7), one style for all of them.

Every `plot_*` function draws one panel on the axes it is given, from plain numpy arrays, and returns those
axes. A notebook builds a figure by naming its panels:

    panels = {"b": lambda ax: plot_loss_curves(ax, batches, loss, err),
              "d": lambda ax: plot_trajectories(ax, xy_active, ACTIVE), ...}
    fig = compose_figure(panels, "ab;cd")

and `draw_panel(panels["b"], size)` draws one of them on a figure of its own, from the same drawing code. This
module only draws: `utils.figures.base` writes the figures (`<result set>/figures/<name>.{png,pdf}`, PNG at 300
dpi).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import ScaledTranslation

from .tasks import wrap_angle

# --- colours and labels (docs/methods.md §6) -------------------------------------------------------------------

ACTIVE = "#2ca7c5"         # active (task) activity: blue
QUIESCENT = "#ee3233"      # quiescent ("sleep") activity: red
LOSS_COLOR = "0.6"         # test loss in Fig. 1b: grey
ERROR_COLOR = "black"      # decoding error in Fig. 1b
KDE_CMAP = "coolwarm"      # every KDE map
DISTANCE_CMAP = "viridis"  # decoded distance from the centre (Fig. 1f/g)
BEARING_CMAP = "twilight"  # decoded bearing, cyclic (Fig. 3c/d)
CYCLIC_CMAPS = ("twilight", "twilight_shifted", "hsv")
KL_CMAP = "rocket_r"       # KL heat map (Fig. 2e): light = close, dark = far
NOISELESS = "#7b3294"      # networks trained without noise (beyond the paper), purple
UNTRAINED = "0.55"         # untrained networks, grey
SHUFFLED = "0.8"           # a shuffled control, light grey
THEORY = "black"           # what the theory predicts

# Fig. 2e: networks U(nbiased) / B(iased), σ = trained and run with noise; 𝒰 = true uniform density over
# the box; R^σ = untrained random RNN in noisy quiescence.
KL_ROWS = [r"$U^\sigma$", r"$U$", r"$B^\sigma$", r"$B$"]
KL_COLS = [r"$U^\sigma$", r"$U$", r"$\mathcal{U}$", r"$B^\sigma$", r"$B$", r"$R^\sigma$"]


def tex(label: str) -> str:
    """A network label for matplotlib's mathtext: 'SP U^σ' -> 'SP U$^\\sigma$' (σ as a superscript)."""
    return label.replace("^σ", r"$^\sigma$")


FULL_WIDTH = 5.5           # inches: the ICLR text width
PANEL_SIZE = (2.0, 1.8)    # inches: a panel saved on its own
DPI = 300

# --- style ----------------------------------------------------------------------------------------------

# DejaVu Sans ships with matplotlib, so every machine renders the same glyphs (mathtext included).
STYLE: dict[str, object] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "mathtext.fontset": "dejavusans",
    "font.size": 7,
    "axes.titlesize": 7,
    "axes.labelsize": 7,
    "xtick.labelsize": 6,
    "ytick.labelsize": 6,
    "legend.fontsize": 6,
    "figure.titlesize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "lines.linewidth": 1.0,
    "lines.markersize": 3,
    "legend.frameon": False,
    "axes.titlepad": 4,
    "figure.dpi": 150,               # on screen; files are written at DPI
    "savefig.dpi": DPI,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.02,
    "pdf.fonttype": 42,              # TrueType in PDFs: text stays editable
    "ps.fonttype": 42,
    "image.interpolation": "nearest",
}


def use_style() -> None:
    """Apply the paper style to every figure made from now on (idempotent)."""
    mpl.rcParams.update(STYLE)


# --- helpers --------------------------------------------------------------------------------------------

def _mean_sd(a) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample sd over seeds (axis 0); sd = 0 for a single seed."""
    a = np.atleast_2d(np.asarray(a, dtype=float))
    sd = a.std(axis=0, ddof=1) if len(a) > 1 else np.zeros(a.shape[1])
    return a.mean(axis=0), sd


def _band(ax: Axes, x, y, color, label=None):
    """Mean line with a ± sd band over seeds (rows of y)."""
    mean, sd = _mean_sd(y)
    ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.25, lw=0)
    return ax.plot(x, mean, color=color, label=label)[0]


def _require_polar(ax: Axes, what: str) -> None:
    if ax.name != "polar":
        raise ValueError(f"{what} needs a polar axes (projection='polar'), got {ax.name!r}")


def _start_end_markers(ax: Axes, x0, y0, x1, y1, size=5) -> None:
    """Trajectory start = black circle, end = black triangle (drawn over the lines)."""
    ax.scatter(x0, y0, s=size, marker="o", color="black", zorder=3, linewidths=0)
    ax.scatter(x1, y1, s=size, marker="^", color="black", zorder=3, linewidths=0)


# --- panels ---------------------------------------------------------------------------------------------

def plot_loss_curves(ax: Axes, batches, loss, decode_error, loss_color=LOSS_COLOR,
                     error_color=ERROR_COLOR, error_label="decoding error (m²)") -> Axes:
    """Test loss (grey, left axis) and decoding error (black, twin right axis) vs batch (Fig. 1b).

    `loss` and `decode_error` are (n_seeds, n_points) (or (n_points,) for one seed): mean ± sd band over
    seeds. Returns the loss axes; the twin is `ax.right_ax`.
    """
    batches = np.asarray(batches)
    h_loss = _band(ax, batches, loss, loss_color, "test loss")
    ax.set_xlabel("batch")
    ax.set_ylabel("test loss", color=loss_color)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    twin = ax.twinx()
    twin.spines["right"].set_visible(True)
    h_err = _band(twin, batches, decode_error, error_color, "decoding error")
    twin.set_ylabel(error_label, color=error_color)
    ax.legend([h_loss, h_err], ["test loss", "decoding error"], loc="upper right")
    ax.set_xlim(batches[0], batches[-1])
    ax.right_ax = twin
    return ax


def plot_explained_variance(ax: Axes, ev_active, ev_quiescent, already_cumulative: bool = True,
                            labels=("active", "quiescent")) -> Axes:
    """Cumulative explained variance of PCs 1..k, mean ± sd over networks (Fig. 1c).

    Inputs are (n_seeds, k); pass per-PC ratios with `already_cumulative=False`.
    """
    for ev, color, label, shift in ((ev_active, ACTIVE, labels[0], -0.08), (ev_quiescent, QUIESCENT, labels[1], 0.08)):
        ev = np.atleast_2d(np.asarray(ev, dtype=float))
        if not already_cumulative:
            ev = ev.cumsum(axis=1)
        mean, sd = _mean_sd(ev)
        pcs = np.arange(1, ev.shape[1] + 1)
        # A small horizontal shift keeps both error bars visible where the curves overlap.
        ax.errorbar(pcs + shift, mean, yerr=sd, color=color, marker="o", ms=2.5, capsize=1.5, elinewidth=0.7,
                    label=label)
    ax.set_xticks(pcs)
    ax.set_xlabel("principal component")
    ax.set_ylabel("cumulative explained variance")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower right")
    return ax


def plot_trajectories(ax: Axes, xy, color, every: int = 8, box_size: float | None = 2.2, lw: float = 0.6,
                      alpha: float = 0.9, scale_bar: float | None = None) -> Axes:
    """Decoded (x, y) trajectories (n, T, 2), every `every`-th, in the square box (Fig. 1d/e, 2a/b, C.1–C.3).

    Start = black circle, end = black triangle. `box_size=None` leaves out the box outline. The box is the frame
    (no axes): `scale_bar` (metres) draws a bar of that length under it, labelled, for the panels' scale.
    """
    xy = np.asarray(xy)[::every]
    for traj in xy:
        ax.plot(traj[:, 0], traj[:, 1], color=color, lw=lw, alpha=alpha)
    _start_end_markers(ax, xy[:, 0, 0], xy[:, 0, 1], xy[:, -1, 0], xy[:, -1, 1])
    if box_size is not None:
        half = box_size / 2
        ax.add_patch(Rectangle((-half, -half), box_size, box_size, fill=False, color="black", lw=0.8))
        pad = 0.03 * box_size
        ax.set_xlim(-half - pad, half + pad)
        ax.set_ylim(-half - pad, half + pad)
        ax.axis("off")  # the box is the frame
        if scale_bar is not None:
            y = -half - 2.5 * pad
            ax.plot([-half, -half + scale_bar], [y, y], color="black", lw=1.5, clip_on=False, solid_capstyle="butt")
            ax.text(-half + scale_bar / 2, y - pad, f"{scale_bar:g} m", ha="center", va="top", clip_on=False)
    ax.set_aspect("equal")
    return ax


def plot_pc_scatter(ax: Axes, pcs, values, cmap: str = DISTANCE_CMAP, label: str | None = None,
                    colorbar: bool = True, vmin=None, vmax=None, s: float = 1.0) -> Axes:
    """Hidden states on PC1–PC2 (m, 2) coloured by a value (m,) (Fig. 1f/g, 3c/d).

    Use `DISTANCE_CMAP` for decoded distance from the centre and a cyclic map (`BEARING_CMAP`) for decoded
    bearing; a cyclic map defaults to the range [−π, π]. Points are rasterised so PDFs stay small.
    """
    pcs = np.asarray(pcs)
    cyclic = cmap in CYCLIC_CMAPS
    if cyclic:
        vmin = -np.pi if vmin is None else vmin
        vmax = np.pi if vmax is None else vmax
    sc = ax.scatter(pcs[:, 0], pcs[:, 1], c=values, cmap=cmap, vmin=vmin, vmax=vmax, s=s, linewidths=0,
                    rasterized=True)
    ax.set_xlabel("PC1")
    ax.set_ylabel("PC2")
    if colorbar:
        cb = ax.figure.colorbar(sc, ax=ax, label=label, fraction=0.06, pad=0.03)
        cb.outline.set_visible(False)
        if cyclic and (vmin, vmax) == (-np.pi, np.pi):
            cb.set_ticks([-np.pi, 0, np.pi], labels=[r"$-\pi$", "0", r"$\pi$"])
    return ax


def plot_kde_map(ax: Axes, density, extent, cmap: str = KDE_CMAP, vmin=None, vmax=None, aspect="equal",
                 colorbar: bool = False, label: str = "density") -> Axes:
    """A KDE evaluated on a grid (Fig. 1h–k, 2c/d, C.1, C.2).

    `density[i, j]` is the density at y_i, x_j (rows = y, as from `np.meshgrid(x, y)`); `extent` is
    (x_min, x_max, y_min, y_max). Transpose a grid built with `np.mgrid` / `indexing="ij"` first.
    """
    # A density is never negative: from 0, so that maps given one `vmax` share one colour scale (and one bar).
    im = ax.imshow(np.asarray(density), origin="lower", extent=extent, cmap=cmap, vmin=0 if vmin is None else vmin,
                   vmax=vmax, aspect=aspect, interpolation="nearest")
    if colorbar:
        cb = ax.figure.colorbar(im, ax=ax, label=label, fraction=0.046, pad=0.03)
        cb.outline.set_visible(False)
    return ax


def kl_cell_label(v: float) -> str:
    """A KL matrix cell's text: 0.41, 0.0066, 4.7e-4."""
    if not abs(v) < 0.1:
        return f"{v:.2f}"
    if abs(v) >= 1e-3 or v == 0:
        return f"{v:.2g}"
    return f"{v:.1e}".replace("e-0", "e-")


def plot_kl_matrix(ax: Axes, matrix, row_labels=KL_ROWS, col_labels=KL_COLS, cmap: str = KL_CMAP,
                   vmin=None, vmax=None) -> Axes:
    """KL(quiescent ‖ active) in nats (Fig. 2e): rows = active networks, columns = quiescent sources.

    Every cell prints its value (2 decimals; 2 significant digits below 0.1). The colours are on a log scale from 0.01 nats (lower values
    take its colour): the claims turn on entries of 0.1–0.5 nats beside others of several nats, which a linear
    scale paints alike.
    """
    import seaborn as sns
    from matplotlib.colors import LogNorm

    matrix = np.asarray(matrix, dtype=float)
    top = vmax if vmax is not None else max(float(np.nanmax(matrix)), 0.1)
    norm = LogNorm(vmin=max(vmin or 0.01, 1e-3), vmax=top, clip=True)
    # two decimals, or two significant digits below 0.1 (0.0060, not 0.00: the HD matrix's 𝒰 and R^σ columns),
    # in powers of ten below 0.001 (4.7e-4: 0.00047 is wider than a cell of the HD matrix)
    labels = np.vectorize(kl_cell_label)(matrix)
    sns.heatmap(matrix, ax=ax, annot=labels, fmt="", annot_kws={"fontsize": 6}, cmap=cmap, norm=norm,
                xticklabels=col_labels, yticklabels=row_labels, linewidths=0.5, linecolor="white",
                cbar_kws={"label": "KL divergence (nats, log scale)", "fraction": 0.06, "pad": 0.03})
    ax.collections[0].colorbar.outline.set_visible(False)
    ax.set_xlabel("quiescent")
    ax.set_ylabel("active")
    ax.tick_params(length=0)
    ax.set_yticklabels(ax.get_yticklabels(), rotation=0)
    ax.set_xticklabels(ax.get_xticklabels(), rotation=0)
    return ax


def plot_boxes(ax: Axes, groups: Mapping[str, Sequence[float]], colors=None, ylim=None, ylabel=None,
               points: bool = True, log: bool = False, rotation: float = 0) -> Axes:
    """One box per group (label -> values), in the dict's order, with the values overlaid as points.

    `colors`: one colour, a list (one per group) or a dict label -> colour; default quiescent red.
    Short labels fit a narrow panel: the paper's notation (`KL_ROWS`) or a `rotation` of 30–45°.
    """
    import seaborn as sns

    labels = list(groups)
    if colors is None or isinstance(colors, str):
        colors = [colors or QUIESCENT] * len(labels)
    palette = dict(colors) if isinstance(colors, Mapping) else dict(zip(labels, colors))
    values = [np.asarray(groups[k], dtype=float).ravel() for k in labels]
    x = np.repeat(labels, [len(v) for v in values])
    y = np.concatenate(values)
    with warnings.catch_warnings():  # seaborn 0.13 passes `vert=`, deprecated in matplotlib 3.11
        warnings.filterwarnings("ignore", message=".*vert: bool", category=DeprecationWarning)
        sns.boxplot(x=x, y=y, hue=x, order=labels, hue_order=labels, palette=palette, legend=False, ax=ax,
                    width=0.6, linewidth=0.7, showfliers=not points, log_scale=log or None,
                    boxprops={"alpha": 0.8}, medianprops={"color": "black"})
    if points:  # seaborn's stripplot jitters with the global numpy state: a figure would depend on what ran before
        jitter = np.random.default_rng(0)
        for i, v in enumerate(values):
            # a few points read as dots; hundreds (C.4's trajectories) would hide the box: fainter the more
            alpha = 0.6 if len(v) <= 30 else max(0.08, 0.6 * np.sqrt(30 / len(v)))
            ax.scatter(i + jitter.uniform(-0.15, 0.15, len(v)), v, s=1.5 ** 2, color="black", alpha=alpha,
                       linewidths=0, zorder=3)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", length=0)
    if rotation:
        ax.tick_params(axis="x", labelrotation=rotation)
        for t in ax.get_xticklabels():
            t.set_horizontalalignment("right")
            t.set_rotation_mode("anchor")
    return ax


def plot_variance_boxes(ax: Axes, values: Mapping[str, Sequence[float]], colors=None,
                        ylabel: str = "total quiescent variance (m²)", log: bool = False,
                        rotation: float = 0) -> Axes:
    r"""Total quiescent variance per network, one box per condition (Fig. 2f).

    Label the conditions in the KL matrix's notation, e.g. {r"$U^\sigma$": ..., r"$B^\sigma$": ...,
    r"$U$": ..., r"$B$": ...} (σ = noisy-trained with noisy quiescence).
    """
    return plot_boxes(ax, values, colors=colors, ylabel=ylabel, log=log, rotation=rotation)


def plot_polar_histogram(ax: Axes, bearings, color, bins: int = 20, rmax: float | None = None) -> Axes:
    """Equal-area polar histogram of bearings (Fig. 3a/b): radius sqrt(fraction / π), so area ∝ fraction."""
    _require_polar(ax, "plot_polar_histogram")
    b = wrap_angle(np.asarray(bearings, dtype=float).ravel())
    counts, edges = np.histogram(b, bins=bins, range=(-np.pi, np.pi))
    radius = np.sqrt(counts / counts.sum() / np.pi)
    ax.bar(edges[:-1], radius, width=np.diff(edges), align="edge", color=color, edgecolor="white", lw=0.4)
    ax.set_xticks(np.pi / 2 * np.arange(4), labels=["0", r"$\pi/2$", r"$\pi$", r"$-\pi/2$"])
    top = rmax if rmax is not None else radius.max() * 1.05
    ax.set_ylim(0, top)
    # The radial scale in what it shows, the share of bearings in a bin (radius sqrt(share / π)); a uniform
    # histogram puts 1/bins in each.
    shares = [f for f in (0.02, 0.05, 0.1, 0.2, 0.5) if np.sqrt(f / np.pi) <= top][-2:]
    ax.set_yticks([np.sqrt(f / np.pi) for f in shares], labels=[f"{f:.0%}" for f in shares], fontsize=5)
    ax.set_rlabel_position(100)
    for label in ax.get_yticklabels():   # legible over the bars
        label.set_bbox({"facecolor": "white", "alpha": 0.75, "linewidth": 0, "pad": 0.6})
    ax.grid(lw=0.4)
    return ax


def plot_polar_trajectory(ax: Axes, bearings, color, lw: float = 0.8) -> Axes:
    """Decoded bearing vs time on a polar axes, time as radius (Suppl. C.5); (T,) or several (n, T)."""
    _require_polar(ax, "plot_polar_trajectory")
    for b in np.atleast_2d(np.asarray(bearings, dtype=float)):
        theta = np.unwrap(b)  # no chords across the circle at ±π
        t = np.arange(len(b))
        ax.plot(theta, t, color=color, lw=lw)
        _start_end_markers(ax, theta[0], t[0], theta[-1], t[-1])
    ax.set_xticks(np.pi / 2 * np.arange(4), labels=["0", r"$\pi/2$", r"$\pi$", r"$-\pi/2$"])
    # Time circles without labels on them (a spiral crosses every angle, so any label sits on the line); the
    # steps of the circles are named below the panel instead.
    steps = max(len(b) for b in np.atleast_2d(bearings)) - 1
    circles = [t for t in MaxNLocator(nbins=2, integer=True).tick_values(0, steps) if 0 < t < steps]
    ax.set_yticks(circles, labels=[])
    ax.set_ylim(0, steps * 1.04)  # room for the end marker at the rim
    ax.text(1.0, -0.02, f"grey circle{'s' if len(circles) > 1 else ''}: step {', '.join(f'{t:g}' for t in circles)}",
            transform=ax.transAxes, ha="right", va="top", fontsize=5)
    ax.grid(lw=0.4)
    return ax


def bearing_density_axes(ax: Axes) -> Axes:
    """Axes for a density of decoded bearings over one turn: x from −π to π (ticks at −π, 0, π), y in 1/rad."""
    ax.set_xlim(-np.pi, np.pi)
    ax.set_xticks([-np.pi, 0, np.pi], [r"$-\pi$", "0", r"$\pi$"])
    ax.set_xlabel("decoded bearing")
    ax.set_ylabel("density (1/rad)")
    return ax


def plot_histogram(ax: Axes, values, color, xlim=None, bins: int = 50, mark_mean: bool = True,
                   xlabel: str | None = None, mean_fmt: str = "{:+.4f}") -> Axes:
    """Histogram as fraction of values, the mean as a dashed line and printed top right (Suppl. C.5).

    The mean goes in the right-hand title slot, leaving the centre title to the caller. With `xlim` the
    bins span xlim and values beyond it are counted in the edge bins, hatched; the mean is over all values.
    """
    v = np.asarray(values, dtype=float).ravel()
    shown = v if xlim is None else np.clip(v, *xlim)   # values beyond the axis counted in its edge bins
    _, edges, patches = ax.hist(shown, bins=bins, range=xlim, weights=np.full(len(v), 1 / len(v)), color=color,
                                alpha=0.85)
    if xlim is not None and ((v < xlim[0]) | (v > xlim[1])).any():
        for patch in (patches[0], patches[-1]):   # the edge bins hold what lies beyond: hatched, never hidden
            patch.set_hatch("/////")
            patch.set_edgecolor("black")
            patch.set_linewidth(0.3)
    if mark_mean:
        mean = v.mean()
        ax.axvline(mean, color="black", ls="--", lw=0.8)
        ax.set_title("mean = " + mean_fmt.format(mean), loc="right", fontsize=6)
    if xlim is not None:
        ax.set_xlim(*xlim)
    ax.set_ylabel("fraction")
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    return ax


# --- figures ------------------------------------------------------------------------------------------------

def panel_grid(layout, figsize=None, polar: Sequence[str] = (), pyplot: bool = True,
               **mosaic_kw) -> tuple[Figure, dict[str, Axes]]:
    """A figure and its named axes from a mosaic ("ab;cd" or [["a", "b"], ["c", "d"]], "." = empty).

    Panels named in `polar` get a polar projection. Extra keywords go to `subplot_mosaic` (width_ratios,
    height_ratios, ...). Uses constrained layout and the paper style. With `pyplot=False` the figure stays
    outside pyplot's global state: nothing else (another thread's inline-backend flush, say) can reach it.
    """
    use_style()
    if figsize is None:
        n_rows = len(_mosaic_rows(layout))
        figsize = (FULL_WIDTH, 1.8 * n_rows)
    per_subplot_kw = {name: {"projection": "polar"} for name in polar}
    if pyplot:
        fig, axes = plt.subplot_mosaic(layout, figsize=figsize, layout="constrained", per_subplot_kw=per_subplot_kw,
                                       **mosaic_kw)
    else:
        fig = Figure(figsize=figsize, layout="constrained")
        axes = fig.subplot_mosaic(layout, per_subplot_kw=per_subplot_kw, **mosaic_kw)
    return fig, dict(axes)


def label_panels(axes: Mapping[str, Axes] | Sequence[Axes], labels: Sequence[str] | None = None,
                 dx: float = -18, dy: float = 6) -> None:
    """Bold panel letters above the top-left corner of each axes (offset in points; 6 pt clears the top y tick label).

    With a dict the letters default to its keys; with a list, to a, b, c, ...
    """
    if isinstance(axes, Mapping):
        labels = list(axes) if labels is None else labels
        axes = list(axes.values())
    else:
        labels = [chr(ord("a") + i) for i in range(len(axes))] if labels is None else labels
    for ax, label in zip(axes, labels):
        offset = ScaledTranslation(dx / 72, dy / 72, ax.figure.dpi_scale_trans)
        ax.text(0, 1, label, transform=ax.transAxes + offset, fontsize=9, fontweight="bold", va="bottom",
                ha="left")


def draw_panel(draw: Callable[[Axes], object], figsize=PANEL_SIZE, polar: bool = False) -> Figure:
    """One panel drawn on a fresh single-axes figure of its own (left open: the caller saves and closes it)."""
    use_style()
    fig, ax = plt.subplots(figsize=figsize, layout="constrained",
                           subplot_kw={"projection": "polar"} if polar else None)
    draw(ax)
    return fig


def legend_beside(ax: Axes, **kw):
    """The legend outside the axes, at the right of its top: never over the data, whatever the data do."""
    return ax.legend(**({"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "borderaxespad": 0.0, "frameon": False}
                        | kw))


def colorbar_beside(ax: Axes, mappable, label: str, width: float = 0.06, pad: float = 0.06, ticks=None,
                    tick_labels=None):
    """A colour bar hugging the right edge of `ax` (an inset axes), not the edge of its layout cell.

    Equal-aspect panels (maps, PC planes) are narrower than their cell; `Figure.colorbar(ax=…)` would put the
    bar at the cell's edge, far from the panel. `width` and `pad` are fractions of the panel's width.
    """
    cb = ax.figure.colorbar(mappable, cax=ax.inset_axes([1 + pad, 0, width, 1]), label=label)
    cb.outline.set_visible(False)
    if ticks is not None:
        cb.set_ticks(ticks, labels=tick_labels)
    return cb


def compose_figure(panels: Mapping[str, Callable[[Axes], object]], layout, figsize=None,
                   polar: Sequence[str] = (), **mosaic_kw) -> tuple[Figure, dict[str, Axes]]:
    """Draw `panels` (mosaic key -> drawing function) into one figure and letter them; the figure (left open) and
    its axes by key. Mosaic keys without a drawing function (a schematic, say) are left blank but still lettered."""
    unknown = set(panels) - set(_mosaic_keys(layout))
    if unknown:
        raise ValueError(f"panels {sorted(unknown)} are not in the layout {layout!r}")
    fig, axes = panel_grid(layout, figsize=figsize, polar=polar, **mosaic_kw)
    for key, ax in axes.items():
        if key in panels:
            panels[key](ax)
        else:
            ax.axis("off")
    label_panels(axes)
    return fig, axes


def cell_sizes(axes: Mapping[str, Axes]) -> dict[str, tuple[float, float]]:
    """Inches of each axes' mosaic cell: the size a panel drawn on its own gets, so it reads as in the figure."""
    return {key: _cell_size(ax) for key, ax in axes.items()}


def _cell_size(ax: Axes) -> tuple[float, float]:
    """Inches of the mosaic cell(s) an axes spans: its share of the figure by width/height ratios."""
    fig_w, fig_h = ax.figure.get_size_inches()
    w, h = _cell_fraction(ax.get_subplotspec())
    return fig_w * w, fig_h * h


def _cell_fraction(spec) -> tuple[float, float]:
    """The share of the figure's width and height a subplot spec spans, through nested mosaics."""
    grid = spec.get_gridspec()
    n_rows, n_cols = grid.get_geometry()
    widths = np.asarray(grid.get_width_ratios() or np.ones(n_cols), dtype=float)
    heights = np.asarray(grid.get_height_ratios() or np.ones(n_rows), dtype=float)
    w = widths[spec.colspan.start:spec.colspan.stop].sum() / widths.sum()
    h = heights[spec.rowspan.start:spec.rowspan.stop].sum() / heights.sum()
    parent = getattr(grid, "_subplot_spec", None)   # a nested mosaic's grid lives in its parent's cell
    if parent is not None:
        pw, ph = _cell_fraction(parent)
        w, h = w * pw, h * ph
    return w, h


def _mosaic_rows(layout) -> list:
    """Rows of a flat mosaic: "ab;cd", a multi-line string, or a list of lists."""
    if isinstance(layout, str):
        return [row.strip() for row in layout.replace("\n", ";").split(";") if row.strip()]
    return list(layout)


def _mosaic_keys(layout) -> list[str]:
    """The panel keys of a mosaic, nested mosaics (a list of lists inside a cell) included."""
    keys = []
    for row in _mosaic_rows(layout):
        for k in row:
            keys += _mosaic_keys(k) if isinstance(k, list) else [k] if k != "." else []
    return keys
