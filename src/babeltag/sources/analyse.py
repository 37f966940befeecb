"""``babeltag sources analyse``: the evidence behind a ranking, as plots of measured transfer.

For each ground truth: the transfer matrix as a heatmap; the score of every (source, target) pair
against each signal, with Spearman's rho over all pairs in the panel title; and Pires et al.'s (2019)
view, the score against the number of WALS word-order features the two languages share.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scipy.stats import spearmanr

from babeltag.errors import BabeltagError
from babeltag.evaluation.plots import new_figure, save_png
from babeltag.sources.ranker import Scores, Signals
from babeltag.sources.signals import SIGNALS, signals_from_json


def transfer_heatmap(scores: Scores, languages: Sequence[str], metric: str, path: Path) -> Path:
    """Rows: source models, columns: the languages they are scored on (the diagonal is in-language)."""
    values = [[scores[s].get(t, math.nan) for t in languages] for s in languages]
    figure = new_figure(1.5 + 0.45 * len(languages), 1.2 + 0.4 * len(languages), path)
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap="viridis", aspect="auto")
    axes.set_xticks(range(len(languages)), languages)
    axes.set_yticks(range(len(languages)), languages)
    axes.set_xlabel("target (scored on)")
    axes.set_ylabel("source (trained on)")
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            if not math.isnan(value):
                axes.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=7, color="white")
    figure.colorbar(image, ax=axes, label=metric)
    return save_png(figure, path)


def pair_points(scores: Scores, table: Signals, signal: str) -> list[tuple[float, float]]:
    """(signal value, score) of every scored pair that has the signal."""
    points = []
    for (source, target), values in table.items():
        value = values.get(signal)
        score = scores.get(source, {}).get(target)
        if value is not None and score is not None and source != target:
            points.append((float(value), float(score)))
    return points


def correlations(scores: Scores, table: Signals) -> dict[str, float]:
    """Spearman's rho between each signal and the score, over all pairs (not per target)."""
    result = {}
    for signal in SIGNALS:
        points = pair_points(scores, table, signal)
        if len(points) > 2 and len({x for x, _ in points}) > 1:
            rho = spearmanr([x for x, _ in points], [y for _, y in points]).statistic
            result[signal] = float(rho)
    return result


def signal_scatter(scores: Scores, table: Signals, metric: str, path: Path) -> Path:
    rhos = correlations(scores, table)
    signals = list(rhos)
    if not signals:
        raise BabeltagError(f"{path}: no signal has values to plot")
    columns = 4
    rows = math.ceil(len(signals) / columns)
    figure = new_figure(3.2 * columns, 2.6 * rows, path)
    for i, signal in enumerate(signals):
        axes = figure.add_subplot(rows, columns, i + 1)
        points = pair_points(scores, table, signal)
        axes.scatter([x for x, _ in points], [y for _, y in points], s=8, alpha=0.6)
        axes.set_title(f"{signal} (rho {rhos[signal]:+.2f})", fontsize=9)
        axes.set_ylabel(metric, fontsize=8)
        axes.tick_params(labelsize=7)
    return save_png(figure, path)


def word_order_plot(scores: Scores, table: Signals, metric: str, path: Path) -> Path:
    """Pires et al. (2019, Fig. 3): transfer score against shared WALS word-order features."""
    points = pair_points(scores, table, "word_order_shared")
    if not points:
        raise BabeltagError(f"{path}: no pair has word-order features")
    by_count: dict[int, list[float]] = {}
    for x, y in points:
        by_count.setdefault(round(x), []).append(y)
    counts = sorted(by_count)
    figure = new_figure(5.0, 3.6, path)
    axes = figure.add_subplot()
    axes.scatter(
        [x for x, _ in points], [y for _, y in points], s=10, alpha=0.4, label="one (source, target)"
    )
    axes.plot(
        counts, [statistics.fmean(by_count[c]) for c in counts], marker="o", color="black", label="mean"
    )
    axes.set_xlabel("WALS word-order features in common (81A, 85A-89A)")
    axes.set_ylabel(f"zero-shot {metric}")
    axes.set_xticks(range(0, 7))
    axes.legend(fontsize=8)
    return save_png(figure, path)


def gates_vs_genetic_distance(
    gates: Mapping[str, Mapping[str, Mapping[str, float]]], path: Path
) -> dict[str, Any]:
    """Chen et al.'s expert weights beside URIEL: for each language whose text went through a
    MAN-MoE model (``babeltag gates``), the average gate weight of each source expert against the
    genetic distance between the two languages. Returns the points and Spearman's rho per gate."""
    from babeltag.sources.typology import distance, knows, prefetch

    languages = {
        code for rows in gates.values() for row_language, row in rows.items() for code in (row_language, *row)
    }
    known = [code for code in languages if knows(code)]
    prefetch(known)
    points: dict[str, list[tuple[str, str, float, float]]] = {}
    for gate, rows in gates.items():
        for language, weights in rows.items():
            for expert, weight in weights.items():
                if language in known and expert in known and language != expert:
                    points.setdefault(gate, []).append(
                        (language, expert, distance("genetic", language, expert), float(weight))
                    )
    if not points:
        raise BabeltagError(f"{path}: no (language, expert) pair that URIEL knows both of")
    figure = new_figure(4.5 * len(points), 3.6, path)
    rhos = {}
    for i, (gate, pairs) in enumerate(points.items()):
        axes = figure.add_subplot(1, len(points), i + 1)
        axes.scatter([p[2] for p in pairs], [p[3] for p in pairs], s=14)
        for language, expert, x, y in pairs:
            axes.annotate(f"{language}<-{expert}", (x, y), fontsize=6)
        if len(pairs) > 2:
            rhos[gate] = float(spearmanr([p[2] for p in pairs], [p[3] for p in pairs]).statistic)
        axes.set_xlabel("URIEL genetic distance (language, expert)")
        axes.set_ylabel(f"average {gate} gate weight")
        axes.set_title(gate + (f" (rho {rhos[gate]:+.2f})" if gate in rhos else ""), fontsize=9)
    save_png(figure, path)
    return {
        "plot": str(path),
        "spearman": rhos,
        "points": {g: [list(r) for r in rows] for g, rows in points.items()},
    }


def analyse_ground_truth(truth: Mapping[str, Any], out: Path) -> dict[str, Any]:
    """Every plot of one ground truth into ``out``; returns the paths and the correlations."""
    out.mkdir(parents=True, exist_ok=True)
    task, metric = truth["task"], truth["metric"]
    scores: Scores = truth["scores"]
    table = signals_from_json(truth["signals"], str(truth.get("name", task)))
    languages = list(truth.get("languages") or scores)
    plots = [
        transfer_heatmap(scores, languages, metric, out / f"{task}_transfer_matrix.png"),
        signal_scatter(scores, table, metric, out / f"{task}_score_vs_signals.png"),
    ]
    skipped = []
    if pair_points(scores, table, "word_order_shared"):
        plots.append(word_order_plot(scores, table, metric, out / f"{task}_word_order.png"))
    else:  # languages URIEL does not know
        skipped.append("word order: no pair has WALS word-order features")
    return {
        "task": task,
        "plots": [str(p) for p in plots],
        "skipped": skipped,
        "spearman_over_pairs": correlations(scores, table),
    }
