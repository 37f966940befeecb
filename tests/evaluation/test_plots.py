"""Plots and CSV results: a valid PNG written atomically, and clear errors for numbers that cannot be drawn."""

from __future__ import annotations

import csv
import math
import struct
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from babeltag.errors import BabeltagError
from babeltag.evaluation.plots import PlotError, learning_curve, results_csv

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

POINTS = {
    "target only": [(10, 70.9, 2.1), (25, 88.6, 1.0), (50, 94.3, 0.5), (100, 96.9, 0.2)],
    "+ related source": [(10, 90.4, 1.5), (25, 95.4, 0.7), (50, 98.0, 0.3), (100, 97.9, 0.1)],
}


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which must come first."""
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_learning_curve_writes_a_png_and_returns_its_path(tmp_path: Path) -> None:
    path = tmp_path / "plots" / "curve.png"  # the folder is made
    returned = learning_curve(POINTS, path, "labelled sentences", "accuracy (%)", "a title")
    assert returned == path
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 10_000  # lines, bands, labels and a legend, not an empty canvas
    width, height = png_size(data)
    assert width >= 400 and height >= 300
    assert sorted(p.name for p in path.parent.iterdir()) == ["curve.png"]  # no temporary file left


def test_points_may_come_in_any_order_on_a_linear_axis_with_zero(tmp_path: Path) -> None:
    points = {"only": [(100, 90.0, 0.0), (0, 10.0, 0.0), (50, 80.0, 1.0)]}
    path = learning_curve(points, tmp_path / "linear.png", "x", "y", "", log_x=False)
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_an_existing_file_is_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "curve.png"
    path.write_bytes(b"old")
    learning_curve(POINTS, path, "x", "y", "t")
    assert path.read_bytes().startswith(PNG_MAGIC)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "curve.png"
    path.write_bytes(b"old")

    def fail(self: Figure, handle: object, **kwargs: object) -> None:
        assert hasattr(handle, "write")
        handle.write(b"\x89PNG half a file")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", fail)
    with pytest.raises(OSError, match="disk full"):
        learning_curve(POINTS, path, "x", "y", "t")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["curve.png"]


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ({}, "no variants to plot"),
        ({"a": []}, "variant 'a' has no points"),
        ({"a": [(10, 50.0)]}, r"expected \(x, mean, std\)"),
        ({"a": [(10, "high", 1.0)]}, "expected numbers"),
        ({"a": [(10, math.nan, 1.0)]}, "non-finite"),
        ({"a": [(10, 50.0, -1.0)]}, "negative std"),
        ({"a": [(0, 50.0, 1.0)]}, "x must be > 0 on a log axis"),
    ],
)
def test_bad_points_are_a_clear_value_error(tmp_path: Path, points: dict, message: str) -> None:
    path = tmp_path / "curve.png"
    with pytest.raises(ValueError, match=message) as error:
        learning_curve(points, path, "x", "y", "t")
    assert isinstance(error.value, PlotError) and isinstance(error.value, BabeltagError)
    assert not path.exists()


def test_results_csv_has_every_key_as_a_column(tmp_path: Path) -> None:
    rows = [
        {"variant": "target only", "n": 10, "test": 70.5},
        {"variant": "related, joint", "n": 10, "test": 90.25, "note": None},
        {"variant": "unrelated", "n": 25, "dev": 88.0},
    ]
    path = results_csv(rows, tmp_path / "out" / "results.csv")
    assert path == tmp_path / "out" / "results.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        read = list(csv.DictReader(handle))
    assert list(read[0]) == ["variant", "n", "test", "note", "dev"]
    assert read[0] == {"variant": "target only", "n": "10", "test": "70.5", "note": "", "dev": ""}
    assert read[1]["variant"] == "related, joint" and read[1]["note"] == ""
    assert read[2]["test"] == "" and read[2]["dev"] == "88.0"


def test_results_csv_without_rows_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no rows"):
        results_csv([], tmp_path / "results.csv")


def test_expert_gate_heatmap_writes_a_png(tmp_path: Path) -> None:
    from babeltag.evaluation.plots import expert_gate_heatmap

    path = expert_gate_heatmap(
        {"nl": {"en": 0.7, "de": 0.3}, "en": {"en": 0.95, "de": 0.05}, "de": {"de": 0.9, "en": 0.1}},
        tmp_path / "gates.png",
    )
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000


@pytest.mark.parametrize("weights", [{}, {"nl": {"en": float("nan")}}, {"nl": {"en": -0.1}}])
def test_expert_gate_heatmap_refuses_bad_input(tmp_path: Path, weights: dict[str, dict[str, float]]) -> None:
    from babeltag.evaluation.plots import PlotError, expert_gate_heatmap

    with pytest.raises(PlotError):
        expert_gate_heatmap(weights, tmp_path / "gates.png")
    assert not (tmp_path / "gates.png").exists()
