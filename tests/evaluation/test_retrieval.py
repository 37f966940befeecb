"""Translation retrieval accuracy against a slow loop, and the language offset that centring removes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from babeltag.evaluation.metrics import EvaluationError
from babeltag.evaluation.retrieval import translation_retrieval_accuracy


def brute_force_accuracy(source: np.ndarray, target: np.ndarray, center: bool) -> float:
    source_rows, target_rows = source.tolist(), target.tolist()
    if center:
        source_rows = [[x - m for x, m in zip(row, source.mean(axis=0), strict=True)] for row in source_rows]
        target_rows = [[x - m for x, m in zip(row, target.mean(axis=0), strict=True)] for row in target_rows]

    def cosine(u: list[float], v: list[float]) -> float:
        dot = sum(a * b for a, b in zip(u, v, strict=True))
        norms = math.sqrt(sum(a * a for a in u)) * math.sqrt(sum(b * b for b in v))
        return dot / norms if norms else 0.0

    correct = 0
    for i, row in enumerate(source_rows):
        best, best_similarity = -1, -math.inf
        for j, candidate in enumerate(target_rows):
            similarity = cosine(row, candidate)
            if similarity > best_similarity:
                best, best_similarity = j, similarity
        correct += best == i
    return correct / len(source_rows)


@pytest.mark.parametrize("center", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force(seed: int, center: bool) -> None:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(40, 8))
    # Enough noise that some but not all translations are found, plus an offset per language.
    source = base + rng.normal(scale=0.8, size=base.shape) + rng.normal(size=8)
    target = base + rng.normal(scale=0.8, size=base.shape) - rng.normal(size=8)
    fast = translation_retrieval_accuracy(source, target, center=center)
    assert fast == pytest.approx(brute_force_accuracy(source, target, center))
    assert 0.0 < fast < 1.0


def test_centring_removes_a_constant_language_offset() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(50, 16))
    offset_a, offset_b = np.zeros(16), np.zeros(16)
    offset_a[0], offset_b[1] = 100.0, 100.0
    source = base + rng.normal(scale=0.01, size=base.shape) + offset_a
    target = base + rng.normal(scale=0.01, size=base.shape) + offset_b
    assert translation_retrieval_accuracy(source, target, center=False) < 0.2
    assert translation_retrieval_accuracy(source, target, center=True) == 1.0
    # Without an offset, centring changes nothing for identical vectors.
    assert translation_retrieval_accuracy(base, base, center=False) == 1.0


def test_rejects_bad_input() -> None:
    with pytest.raises(EvaluationError, match="same shape"):
        translation_retrieval_accuracy(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(EvaluationError, match="same shape"):
        translation_retrieval_accuracy(np.zeros(3), np.zeros(3))
    with pytest.raises(EvaluationError, match="no sentence pairs"):
        translation_retrieval_accuracy(np.zeros((0, 2)), np.zeros((0, 2)))
    with pytest.raises(EvaluationError, match="NaN"):
        translation_retrieval_accuracy(np.array([[np.nan, 1.0]]), np.ones((1, 2)))
