"""A run's test (and dev) predictions on disk, beside its scores, so that later comparisons between
runs (McNemar's test in grid reports, error analyses) need no model and no rerun.

One JSON object per sentence: ``{"gold": [...], "predicted": [...]}``, labels in the data's own tag
scheme; a classified document has one label on each side.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from babeltag.data.example import Example
from babeltag.errors import DataError


def gold_labels(example: Example) -> list[str]:
    """Tags of a tagged sentence, or the one class of a classified document, as a list."""
    if example.labels is not None:
        return list(example.labels)
    if example.label is not None:
        return [example.label]
    raise DataError(example.origin, None, "has no gold labels to save beside the predictions")


def write_predictions(
    path: str | Path, examples: Sequence[Example], predicted: Sequence[Sequence[str]]
) -> Path:
    """Write atomically: a reader sees the old file or the whole new one."""
    path = Path(path)
    if len(examples) != len(predicted):
        raise ValueError(f"{len(examples)} examples but {len(predicted)} predictions")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(path.name + ".partial")
    with staging.open("w", encoding="utf-8") as handle:
        for example, labels in zip(examples, predicted, strict=True):
            handle.write(
                json.dumps({"gold": gold_labels(example), "predicted": list(labels)}, ensure_ascii=False)
            )
            handle.write("\n")
    os.replace(staging, path)
    return path


def read_predictions(path: str | Path) -> tuple[list[list[str]], list[list[str]]]:
    """(gold, predicted) per sentence, checked line by line."""
    path = Path(path)
    gold: list[list[str]] = []
    predicted: list[list[str]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                entry = json.loads(line)
                sides = entry["gold"], entry["predicted"]
            except (ValueError, KeyError, TypeError):
                raise DataError(
                    path, number, "expected a JSON object with 'gold' and 'predicted' label lists"
                ) from None
            if not all(isinstance(side, list) for side in sides) or len(sides[0]) != len(sides[1]):
                raise DataError(path, number, "'gold' and 'predicted' must be label lists of one length")
            gold.append(sides[0])
            predicted.append(sides[1])
    return gold, predicted
