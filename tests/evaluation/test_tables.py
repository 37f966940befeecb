"""Result tables: mean ± std against numpy, and the markdown layout."""

from __future__ import annotations

import numpy as np
import pytest

from babeltag.evaluation.tables import (
    format_delta,
    format_summary,
    markdown_table,
    render_markdown,
    summarise,
)


@pytest.mark.parametrize("values", [[71.5], [70.0, 72.5], [88.1, 90.3, 89.7, 91.0, 87.25]])
def test_summarise_matches_numpy(values: list[float]) -> None:
    summary = summarise(values)
    assert summary["n"] == len(values)
    assert summary["values"] == values
    assert summary["mean"] == pytest.approx(np.mean(values))
    expected_std = np.std(values, ddof=1) if len(values) > 1 else 0.0
    assert summary["std"] == pytest.approx(expected_std)


def test_summarise_random_values_against_numpy() -> None:
    values = np.random.default_rng(0).normal(80.0, 3.0, size=7)
    summary = summarise(values.tolist())
    assert summary["mean"] == pytest.approx(values.mean())
    assert summary["std"] == pytest.approx(values.std(ddof=1))


def test_summarise_nothing() -> None:
    assert summarise([]) == {"mean": None, "std": None, "n": 0, "values": []}


def test_cell_formats() -> None:
    summary = summarise([70.0, 72.0])
    assert format_summary(summary) == "71.00 ± 1.41"
    assert format_summary(summary, digits=1, expected_n=3) == "71.0 ± 1.4 (n=2)"
    assert format_summary(summary, expected_n=2) == "71.00 ± 1.41"
    assert format_summary(summarise([])) == "–"
    assert format_delta(1.2) == "+1.20" and format_delta(-0.345, digits=1) == "-0.3"
    assert format_delta(None) == "–"


def test_markdown_table_layout() -> None:
    cells = {
        ("10", "joint"): summarise([60.0, 62.0]),
        ("10", "separate"): summarise([50.0, 50.0]),
        ("50", "joint"): summarise([80.0]),
        # ("50", "separate") has no finished run
    }
    deltas = {"joint - separate": {"10": 11.0, "50": None}}
    table = markdown_table(
        ["10", "50"], ["joint", "separate"], cells, deltas, corner="sentences \\ variant", expected_n=2
    )
    assert table.splitlines() == [
        "| sentences \\ variant | joint | separate | joint - separate |",
        "|:---|---:|---:|---:|",
        "| 10 | 61.00 ± 1.41 | 50.00 ± 0.00 | +11.00 |",
        "| 50 | 80.00 ± 0.00 (n=1) | – | – |",
    ]


def test_markdown_table_without_deltas_and_escaping() -> None:
    table = markdown_table(["a|b"], ["f1"], {("a|b", "f1"): summarise([1.0, 2.0, 3.0])})
    assert table.splitlines() == ["|  | f1 |", "|:---|---:|", "| a\\|b | 2.00 ± 1.00 |"]
    with pytest.raises(ValueError, match="2 cells"):
        render_markdown(["x", "y"], [["only one"]])
