"""Saved predictions: written atomically beside gold labels, read back checked line by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from babeltag.data.example import Example
from babeltag.errors import DataError
from babeltag.evaluation.predictions import read_predictions, write_predictions


def test_round_trip_for_tagged_sentences_and_classified_documents(tmp_path: Path) -> None:
    tagged = [
        Example(["a", "b"], "xx", "upos", labels=["DET", "NOUN"]),
        Example(["c"], "xx", "upos", labels=["X"]),
    ]
    path = write_predictions(tmp_path / "p/test.jsonl", tagged, [["DET", "VERB"], ["X"]])
    assert read_predictions(path) == ([["DET", "NOUN"], ["X"]], [["DET", "VERB"], ["X"]])
    assert not list(tmp_path.glob("p/*.partial"))
    documents = [Example(["good", "film"], "xx", "sentiment", label="positive")]
    path = write_predictions(tmp_path / "cls.jsonl", documents, [["negative"]])
    assert read_predictions(path) == ([["positive"]], [["negative"]])


def test_unlabelled_examples_and_count_mismatches_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no gold labels"):
        write_predictions(tmp_path / "x.jsonl", [Example(["a"], "xx", "upos", origin="f.txt:3")], [["X"]])
    with pytest.raises(ValueError, match="1 examples but 2 predictions"):
        write_predictions(tmp_path / "x.jsonl", [Example(["a"], "xx", "upos", labels=["X"])], [["X"], ["Y"]])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "expected a JSON object"),
        ('{"gold": ["A"]}', "expected a JSON object"),
        ('{"gold": ["A"], "predicted": ["A", "B"]}', "of one length"),
    ],
)
def test_a_bad_line_is_named(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"gold": ["A"], "predicted": ["B"]}\n' + line + "\n")
    with pytest.raises(DataError, match=rf"bad.jsonl:2: .*{message}"):
        read_predictions(path)
