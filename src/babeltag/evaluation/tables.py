"""Result tables: scores over seeds -> mean ± std per cell -> a markdown table.

A cell of a results table is one configuration trained with several seeds. ``summarise`` turns its
per-seed scores into the numbers a paper reports (mean, sample standard deviation, n);
``markdown_table`` lays the cells out with rows for one factor and columns for another, plus
optional difference columns (e.g. "joint - separate").
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

MISSING = "–"
"""What a cell with no finished runs shows."""


def summarise(values: Sequence[float]) -> dict[str, Any]:
    """Mean, sample standard deviation (ddof=1; 0 for a single value), n and the values themselves.

    No values gives ``mean`` and ``std`` None, so a cell whose runs all failed stays in the table.
    """
    values = [float(v) for v in values]
    if not values:
        return {"mean": None, "std": None, "n": 0, "values": []}
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": statistics.fmean(values), "std": std, "n": len(values), "values": values}


def format_summary(summary: Mapping[str, Any], digits: int = 2, expected_n: int | None = None) -> str:
    """``"71.23 ± 1.02"``; ``"71.23 ± 1.02 (n=2)"`` when fewer than ``expected_n`` runs are in it."""
    if not summary.get("n"):
        return MISSING
    text = f"{summary['mean']:.{digits}f} ± {summary['std']:.{digits}f}"
    if expected_n is not None and summary["n"] < expected_n:
        text += f" (n={summary['n']})"
    return text


def format_delta(value: float | None, digits: int = 2) -> str:
    """A difference with its sign always shown: ``"+1.20"``, ``"-0.35"``."""
    return MISSING if value is None else f"{value:+.{digits}f}"


def render_markdown(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table; the first column is left-aligned, the others right."""
    width = len(header)
    if any(len(row) != width for row in body):
        raise ValueError(f"every row needs {width} cells")

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |"

    rule = "|" + "|".join([":---"] + ["---:"] * (width - 1)) + "|"
    return "\n".join([line(header), rule, *(line(row) for row in body)]) + "\n"


def markdown_table(
    rows: Sequence[str],
    columns: Sequence[str],
    cells: Mapping[tuple[str, str], Mapping[str, Any]],
    deltas: Mapping[str, Mapping[str, float | None]] | None = None,
    corner: str = "",
    digits: int = 2,
    expected_n: int | None = None,
    marks: Mapping[str, Mapping[str, str]] | None = None,
) -> str:
    """One row per ``rows`` entry, one "mean ± std" column per ``columns`` entry, then the deltas.

    ``cells[(row, column)]`` is a ``summarise`` result (a missing key shows as a dash);
    ``deltas[name][row]`` is a number shown with its sign in an extra column called ``name``,
    followed by ``marks[name][row]`` if given (e.g. a significance mark).
    """
    deltas = deltas or {}
    marks = marks or {}
    header = [corner, *columns, *deltas]
    body = []
    for row in rows:
        line = [row]
        line += [format_summary(cells.get((row, column), {}), digits, expected_n) for column in columns]
        line += [
            format_delta(values.get(row), digits) + marks.get(name, {}).get(row, "")
            for name, values in deltas.items()
        ]
        body.append(line)
    return render_markdown(header, body)
