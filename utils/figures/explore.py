"""explore: one network, one quiescent noise scale, drawn on demand, and the ipywidgets app that redraws it.

`compute` makes the view of one (task, condition, seed, noise scale, steps): decoded active trajectories beside
quiescent ones from the same starts, their densities and KL(quiescent ‖ active). `widget` puts controls for
those five choices around it; headless (papermill) the notebook saves the view of its parameters.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np
from matplotlib.axes import Axes

from .. import analysis as A
from .. import config as C
from .. import plotting as P
from ..circular import circle_grid, circular_kl, vonmises_kde
from ..claims import Check
from ..models import Network
from ..cache import get_model
from .base import Figure, FigureSettings, Model, Notebook, Results, SP

# The network the explorer opens with (any other is trained on demand); one seed.
NOTEBOOK = Notebook("explore", (Model.of(SP, "noisy_unbiased", "U^σ"),), seeds=1,
                    render_parameters=(("save", True),),
                    controls=("save", "task", "condition", "seed", "noise_scale", "steps"))


def explore_noise_std(net: Network, noise_scale: float) -> float:
    """Quiescent std of the explorer: `noise_scale` × the trained std, or × the paper's noisy std of the task for
    a noiseless-trained network (so noise can be added to it, as in Suppl. C.3e–f)."""
    if isinstance(noise_scale, bool) or not isinstance(noise_scale, (int, float)) or not noise_scale >= 0:
        raise C.ConfigError(f"noise_scale must be a number >= 0, got {noise_scale!r}")
    return float(noise_scale) * A.noisy_level(net)


@dataclass
class ExploreResults(Results):
    """What results/explore.json holds (written only when the pipeline asks): the view's choices, sizes and KL."""
    task: str                    # "spatial" or "head_direction"
    condition: str               # the network's condition
    seed: int                    # the network's seed (and its runs')
    noise_scale: float           # quiescent std / trained std (or / the paper's noisy std if trained noiseless)
    quiescent_noise_std: float   # quiescent per-step noise std (hidden units per step)
    trajectories: int            # active and quiescent trajectories
    active_steps: int            # steps per active trajectory
    quiescent_steps: int         # steps per quiescent trajectory
    kl: float                    # KL(quiescent ‖ active) (nats; NaN, null in the JSON, where not estimable)


@dataclass
class ExploreView(Figure):
    name: ClassVar[str] = "explore"
    layout: ClassVar[str] = "abcd"

    task: str
    condition: str
    seed: int
    noise_scale: float
    noise_std: float
    active: np.ndarray        # (n, T, d) decoded
    quiescent: np.ndarray     # (n, steps, d) decoded
    kl: float                 # KL(quiescent ‖ active): Fig. 2e estimator (SP) or von Mises KDEs (HD)
    extent: tuple | None      # SP: the box
    kde_grid: int

    @property
    def spatial(self) -> bool:
        return self.task == "spatial"

    @property
    def figure_kw(self) -> dict[str, Any]:  # HD draws its trajectories on polar axes
        return {"figsize": (P.FULL_WIDTH, 1.7), "polar": () if self.spatial else ("a", "b"), "save_panels": False}

    def results(self) -> ExploreResults:
        return ExploreResults(task=self.task, condition=self.condition, seed=self.seed, noise_scale=self.noise_scale,
                              quiescent_noise_std=self.noise_std, trajectories=len(self.active),
                              active_steps=self.active.shape[1], quiescent_steps=self.quiescent.shape[1], kl=self.kl)

    def show(self, settings: FigureSettings, save: bool = True):
        """The view as a PNG for display; with `save`, composed and saved as every figure is (`figures/explore.*`),
        otherwise drawn off pyplot and written nowhere."""
        if save:
            return super().show(settings)
        from IPython.display import Image
        return Image(data=view_png(self), width=900)

    def summary(self) -> str:
        return (f"{self.task}/{self.condition} seed {self.seed}: quiescent noise ×{self.noise_scale:.4g} → std "
                f"{self.noise_std:.4g} per step, {self.quiescent.shape[1]} steps; KL(quiescent ‖ active) = "
                f"{self.kl:.3f} nats")

    def panels(self) -> dict[str, Callable[[Axes], Any]]:
        title = f"quiescent ×{self.noise_scale:.3g}"
        every = max(1, len(self.active) // 25)
        if self.spatial:
            maps = [A.kde_map(x, self.extent, self.kde_grid) for x in (self.active, self.quiescent)]
            vmax = max(m.max() for m in maps)

            def kde(ax, m, t, colorbar=False):
                P.plot_kde_map(ax, m, self.extent, vmax=vmax)
                ax.axis("off")
                ax.set_title(t)
                if colorbar:   # one scale for both maps
                    P.colorbar_beside(ax, ax.images[0], "density")
            return {"a": lambda ax: P.plot_trajectories(ax, self.active, P.ACTIVE, every=every).set(title="active"),
                    "b": lambda ax: P.plot_trajectories(ax, self.quiescent, P.QUIESCENT, every=every).set(title=title),
                    "c": lambda ax: kde(ax, maps[0], "active KDE"),
                    # the run's length named: the report's Fig. 2e KL is over 1,000 steps, this one over the view's
                    "d": lambda ax: kde(ax, maps[1], f"quiescent, {self.quiescent.shape[1]} steps\n"
                                                     f"KL {self.kl:.2f} (seed {self.seed})", colorbar=True)}
        theta = circle_grid()
        dens = [vonmises_kde(x) for x in (self.active, self.quiescent)]

        def line(ax, which):
            if which == 1:
                ax.plot(theta, dens[0], color=P.ACTIVE, lw=0.7, ls="--", label="active")
            ax.plot(theta, dens[which], color=(P.ACTIVE, P.QUIESCENT)[which], lw=0.9,
                    label=("active", "quiescent")[which])
            P.bearing_density_axes(ax).set_ylim(bottom=0)
            ax.set_title("active KDE" if which == 0 else
                         f"quiescent, {self.quiescent.shape[1]} steps\nKL {self.kl:.2f} (seed {self.seed})")
        return {"a": lambda ax: P.plot_polar_trajectory(ax, self.active[:5, :, 0], P.ACTIVE).set_title("active"),
                "b": lambda ax: P.plot_polar_trajectory(ax, self.quiescent[:5, :, 0], P.QUIESCENT).set_title(title),
                "c": lambda ax: line(ax, 0), "d": lambda ax: line(ax, 1)}


def compute(settings: FigureSettings, task: str, condition: str, seed: int, noise_scale: float,
            steps: int, progress: bool = False) -> ExploreView:
    """One network (trained now if missing, with a progress bar if `progress`), `n_kde` active trajectories of
    `active_steps` and quiescent ones of `steps` steps from the same starts, with quiescent std
    `explore_noise_std(net, noise_scale)`."""
    C.check_choice("task", task, C.TASKS)
    C.check_choice(f"condition for task {task}", condition, C.CONDITIONS[task])
    C.check_seed(seed)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 2:
        raise C.ConfigError(f"steps must be an integer >= 2, got {steps!r}")
    a = settings.analysis
    net = get_model(task, condition, seed, settings.preset, settings.outputs_dir, settings.device, progress=progress,
                    **settings.model_overrides()).net
    std = explore_noise_std(net, noise_scale)
    act = A.active_run(net, a.n_kde, a.active_steps, seed).decoded
    q = A.quiescent_run(net, a.n_kde, steps, std, seed, keep_states=False).decoded
    if task == "spatial":
        kl, extent = A.kl_divergence_or_nan(q, A.kde(act), a.kl_samples, seed), A.box_extent(net.task_cfg)
    else:
        kl, extent = circular_kl(vonmises_kde(q), vonmises_kde(act)), None
    return ExploreView(task, condition, seed, float(noise_scale), std, act, q, kl, extent, a.kde_grid)


def draw_view(view: ExploreView):
    """The four panels of a view on a figure of its own, outside pyplot (not saved; for the widget). JupyterLab
    runs widget callbacks on a kernel subshell: a pyplot figure there could be flushed half-drawn by the inline
    backend of another thread."""
    kw = dict(view.figure_kw)
    kw.pop("save_panels")
    fig, axes = P.panel_grid(view.layout, pyplot=False, **kw)
    for key, draw in view.panels().items():
        draw(axes[key])
    return fig


def view_png(view: ExploreView) -> bytes:
    """The view drawn as PNG bytes: the widget's picture, and its static stand-in where no kernel runs."""
    buffer = io.BytesIO()
    draw_view(view).savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()


def widget(settings: FigureSettings, view: ExploreView):
    """ipywidgets controls (task, condition, seed among `settings.seeds`, quiescent noise scale, steps) that redraw
    the view; starts at `view`. Views are cached, so moving back to a setting is instant; a model not yet trained
    is trained first (minutes at the laptop preset)."""
    import ipywidgets as W
    from IPython.display import Image, display

    cache = {(view.task, view.condition, view.seed, view.noise_scale, view.quiescent.shape[1]): view}
    task = W.Dropdown(options=list(C.TASKS), value=view.task, description="task")
    condition = W.Dropdown(options=list(C.CONDITIONS[view.task]), value=view.condition, description="condition")
    seed = W.Dropdown(options=sorted(set(settings.seeds) | {view.seed}), value=view.seed, description="seed")
    scale = W.FloatSlider(value=view.noise_scale, min=0.0, max=4.0, step=0.05, description="noise ×",
                          continuous_update=False)
    steps = W.IntSlider(value=view.quiescent.shape[1], min=10, max=2000, step=10, description="steps",
                        continuous_update=False)
    out = W.Output()

    def on_task(change):
        condition.options = list(C.CONDITIONS[change["new"]])

    def redraw(*_):
        if condition.value not in C.CONDITIONS[task.value]:
            return  # between the task change and the condition list following it
        key = (task.value, condition.value, seed.value, float(scale.value), int(steps.value))
        with out:
            out.clear_output(wait=True)
            if key not in cache:
                print(f"computing {key[0]} {key[1]} seed {key[2]}: a model not yet in the cache is trained first "
                      f"(minutes at the {settings.preset} preset; the progress bar follows) ...", flush=True)
                cache[key] = compute(settings, *key, progress=True)
                out.clear_output(wait=True)
            display(Image(data=view_png(cache[key])))
            print(cache[key].summary())

    task.observe(on_task, names="value")
    for w in (task, condition, seed, scale, steps):
        w.observe(redraw, names="value")
    redraw()
    box = W.VBox([W.HBox([task, condition, seed]), W.HBox([scale, steps]), out])
    # A live front end renders the widget; a page without a kernel (the HTML export, GitHub) cannot run its
    # callbacks and shows the same output's static image of the starting view instead.
    display(box._repr_mimebundle_() | {"image/png": view_png(view)}, raw=True)
    return box


RESULTS = ExploreResults

# claim id (data/claims.yaml) -> its check: none, the explorer makes no claim
CHECKS: dict[str, Check] = {}


__all__ = ["explore_noise_std", "ExploreResults", "ExploreView", "compute", "draw_view", "view_png", "widget"]
