"""Plots of results: scores over seeds -> one PNG file, written without a display.

``learning_curve`` draws how a score grows with the amount of labelled target data, one line per
variant (e.g. "target only", "+ related source"), each point the mean over seeds with a band of one
standard deviation. Figures are drawn by matplotlib's Agg canvas directly (no pyplot, so no global
backend or open windows), and every file is written to a temporary name first and then renamed, so
a reader never sees half a file. ``results_csv`` writes the same numbers as plain CSV for other tools.
"""

from __future__ import annotations

import csv
import io
import math
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from babeltag.errors import BabeltagError

Point = tuple[float, float, float]
"""(x, mean, std): e.g. (number of labelled target sentences, mean test accuracy, its std over seeds)."""


class PlotError(BabeltagError, ValueError):
    """Numbers that cannot be plotted. A ``ValueError`` too, for callers that expect one."""


def new_figure(width: float, height: float, path: str | Path) -> Any:
    """A matplotlib Figure (inches) on an off-screen Agg canvas, for the PNG at ``path``. matplotlib
    is imported here, so that the rest of babeltag works without it."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise BabeltagError(f"{path}: plotting needs matplotlib (pip install matplotlib)") from None
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_png(figure: Any, path: str | Path) -> Path:
    """Write the figure as a PNG, atomically; returns ``path``."""
    path = Path(path)
    write_atomically(path, lambda handle: figure.savefig(handle, format="png"))
    return path


def learning_curve(
    points: Mapping[str, Sequence[Point]],
    path: str | Path,
    xlabel: str = "labelled target sentences",
    ylabel: str = "score",
    title: str = "",
    log_x: bool = True,
) -> Path:
    """Draw one line per variant through its ``(x, mean, std)`` points, with a shaded ±std band and
    error bars, and write it as a PNG to ``path`` (atomically). Returns ``path``.

    ``points`` maps a variant's name (the legend entry) to its points, in any x order. With ``log_x``
    the x axis is logarithmic (learning curves usually double the data per step), so x must be > 0.
    Raises :class:`PlotError` (a ValueError) for no variants, a variant without points, a non-finite
    number, a negative std or a non-positive x on a log axis.
    """
    curves = _check_points(points, log_x)
    path = Path(path)

    figure = new_figure(6.4, 4.4, path)
    axes = figure.add_subplot()
    for name, curve in curves.items():
        xs = [x for x, _, _ in curve]
        means = [mean for _, mean, _ in curve]
        stds = [std for _, _, std in curve]
        line = axes.errorbar(xs, means, yerr=stds, marker="o", capsize=3, label=name)
        colour = line.lines[0].get_color()
        lower = [mean - std for mean, std in zip(means, stds, strict=True)]
        upper = [mean + std for mean, std in zip(means, stds, strict=True)]
        axes.fill_between(xs, lower, upper, color=colour, alpha=0.15, linewidth=0)
    if log_x:
        axes.set_xscale("log")
    all_x = sorted({x for curve in curves.values() for x, _, _ in curve})
    axes.set_xticks(all_x)
    axes.set_xticklabels([_tick(x) for x in all_x])
    axes.minorticks_off()
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    if title:
        axes.set_title(title)
    axes.grid(True, alpha=0.3)
    axes.legend()
    return save_png(figure, path)


def expert_gate_heatmap(
    weights: Mapping[str, Mapping[str, float]], path: str | Path, title: str = "average gate weight"
) -> Path:
    """A heatmap of mixture-of-experts gates (Chen et al. 2019, their figure of expert weights): one
    row per language whose tokens were gated (``weights[language][expert]``, e.g. from
    ``MixtureOfExperts.expert_weights``), one column per expert, the value written in each cell.
    Written atomically as PNG; returns ``path``."""
    path = Path(path)
    rows = list(weights)
    if not rows:
        raise PlotError(f"{path}: no languages to plot")
    experts = list(dict.fromkeys(expert for row in weights.values() for expert in row))
    values = [[float(weights[row].get(expert, 0.0)) for expert in experts] for row in rows]
    if any(not math.isfinite(v) or v < 0 for row in values for v in row):
        raise PlotError(f"{path}: gate weights must be finite and non-negative")
    figure = new_figure(1.2 + 0.9 * len(experts), 1.2 + 0.6 * len(rows), path)
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    axes.set_xticks(range(len(experts)), experts)
    axes.set_yticks(range(len(rows)), rows)
    axes.set_xlabel("expert (source language)")
    axes.set_ylabel("language of the tokens")
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            axes.text(
                j, i, f"{value:.2f}", ha="center", va="center", color="white" if value < 0.6 else "black"
            )
    figure.colorbar(image, ax=axes)
    if title:
        axes.set_title(title)
    return save_png(figure, path)


def results_csv(rows: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Write ``rows`` (one mapping per row) as CSV with a header, atomically; returns ``path``.

    The columns are every key of every row, in the order they first appear; a row without a key
    leaves that cell empty, and None is written as an empty cell.
    """
    if not rows:
        raise PlotError(f"{path}: no rows to write")
    columns = list(dict.fromkeys(key for row in rows for key in row))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    path = Path(path)
    write_atomically(path, lambda handle: handle.write(text.getvalue().encode("utf-8")))
    return path


def _check_points(points: Mapping[str, Sequence[Point]], log_x: bool) -> dict[str, list[Point]]:
    """The points of each variant sorted by x, after checking they can be drawn."""
    if not points:
        raise PlotError("learning_curve: no variants to plot (points is empty)")
    curves = {}
    for name, curve in points.items():
        if not curve:
            raise PlotError(f"learning_curve: variant {name!r} has no points")
        checked = []
        for point in curve:
            if len(point) != 3:
                raise PlotError(f"learning_curve: variant {name!r}: expected (x, mean, std), got {point!r}")
            try:
                x, mean, std = (float(value) for value in point)
            except (TypeError, ValueError):
                raise PlotError(
                    f"learning_curve: variant {name!r}: expected numbers (x, mean, std), got {point!r}"
                ) from None
            if not all(math.isfinite(value) for value in (x, mean, std)):
                raise PlotError(f"learning_curve: variant {name!r}: non-finite number in {point!r}")
            if std < 0:
                raise PlotError(f"learning_curve: variant {name!r}: negative std in {point!r}")
            if log_x and x <= 0:
                raise PlotError(
                    f"learning_curve: variant {name!r}: x must be > 0 on a log axis, got {point!r}"
                )
            checked.append((x, mean, std))
        curves[name] = sorted(checked)
    return curves


def _tick(x: float) -> str:
    return str(int(x)) if x.is_integer() else f"{x:g}"


def write_atomically(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """``write`` into a new file beside ``path``, then rename it over ``path`` (one step on POSIX and
    Windows), so ``path`` is either the old file or the whole new one. The file is opened normally
    (not by ``tempfile``), so it gets the usual permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("xb") as handle:
            write(handle)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
