"""Training curves as PNG: one helper for every training script."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Panel:
    title: str
    ylabel: str
    series: dict[str, tuple[list, list]]  # label -> (xs, ys)
    xlabel: str = "epoch"
    yscale: str = "linear"
    ylim: tuple[float, float] | None = None
    styles: dict[str, str] = field(default_factory=dict)  # label -> matplotlib format string
    alphas: dict[str, float] = field(default_factory=dict)  # label -> line opacity (default 1)


def plot_panels(panels: list[Panel], path: str | Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        for label, (xs, ys) in panel.series.items():
            ax.plot(xs, ys, panel.styles.get(label, "-"), label=label, alpha=panel.alphas.get(label, 1.0))
        ax.set(xlabel=panel.xlabel, ylabel=panel.ylabel, title=panel.title, yscale=panel.yscale)
        if panel.ylim:
            ax.set_ylim(*panel.ylim)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def step_loss_panel(curve: list[tuple[int, float]], val: tuple[list, list], title: str = "loss") -> Panel:
    """Training loss of every step (raw and smoothed) with the validation points: the MLLM stages' curve."""
    series = {}
    if curve:
        xs, ys = zip(*curve)
        k = max(1, len(ys) // 50)
        smooth = [sum(ys[max(0, i - k):i + 1]) / len(ys[max(0, i - k):i + 1]) for i in range(len(ys))]
        series = {"train": (list(xs), list(ys)), "train (smoothed)": (list(xs), smooth)}
    if val[0]:
        series["val"] = val
    return Panel(title, "loss", series, xlabel="step", styles={"val": "o-"}, alphas={"train": 0.3})
