"""How good is a ranking of candidates (source languages) against their true scores? NDCG@k and Spearman.

The ground truth is a score per candidate (e.g. the zero-shot accuracy of transferring from it). NDCG
needs graded relevance, so :func:`relevance_from_scores` turns scores into ranks: with n candidates
the best gets n - 1 and the worst 0. Using ranks rather than the raw scores keeps the gains
``2**rel - 1`` on the same scale for every target, whatever the task's accuracy range, so a mean
NDCG over targets weighs them alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from babeltag.evaluation.metrics import EvaluationError


def relevance_from_scores(true_scores: Mapping[str, float]) -> dict[str, float]:
    """Graded relevance by true rank: best n - 1, next n - 2, ..., worst 0; ties share their mean.

    Average ranks (``scipy.stats.rankdata``) start at 1 for the lowest score, so relevance is the
    rank minus one; tied candidates get the mean of the relevances they span.
    """
    names = list(true_scores)
    values = np.array([true_scores[name] for name in names], dtype=float)
    _check_finite(values, names, "true score")
    ranks = stats.rankdata(values, method="average")
    return {name: float(rank - 1.0) for name, rank in zip(names, ranks, strict=True)}


def ndcg_at_k(predicted_order: Sequence[str], relevance: Mapping[str, float], k: int = 3) -> float:
    """Normalised discounted cumulative gain of the first ``k`` predicted candidates.

    DCG = sum over i < k of (2**rel_i - 1) / log2(i + 2); the ideal DCG is the same over the
    candidates sorted by relevance. A predicted candidate without a relevance counts as 0 (unjudged).
    When nothing is relevant (ideal DCG 0) every order is as good as any other, so the score is 1.
    """
    if k < 1:
        raise EvaluationError(f"NDCG@k needs k >= 1, got k={k}")
    if len(set(predicted_order)) != len(predicted_order):
        # a candidate listed twice would collect its gain twice and could push NDCG above 1
        raise EvaluationError(
            f"the predicted order lists a candidate more than once: {list(predicted_order)}"
        )
    predicted_gains = [relevance.get(name, 0.0) for name in predicted_order]
    ideal_gains = sorted(relevance.values(), reverse=True)
    ideal = _dcg(ideal_gains, k)
    return 1.0 if ideal == 0 else _dcg(predicted_gains, k) / ideal


def _dcg(relevances: Sequence[float], k: int) -> float:
    return sum((2.0**rel - 1.0) / math.log2(i + 2) for i, rel in enumerate(relevances[:k]))


def spearman(predicted: Mapping[str, float], true_scores: Mapping[str, float]) -> float:
    """Spearman's rank correlation of predicted and true scores over the candidates both have.

    A constant side has no ranking at all; its correlation is undefined (scipy returns nan), and we
    return 0, "no better than chance", so that a mean over targets stays a number. Infinite
    predicted scores (e.g. -inf for a missing signal) are fine: only their ranks matter.
    """
    common = [name for name in predicted if name in true_scores]
    if len(common) < 2:
        raise EvaluationError(
            f"Spearman's correlation needs at least 2 candidates in both rankings, got {len(common)}: {common}"
        )
    guess = np.array([predicted[name] for name in common], dtype=float)
    truth = np.array([true_scores[name] for name in common], dtype=float)
    _check_not_nan(guess, common, "predicted score")
    _check_finite(truth, common, "true score")
    if len(set(guess.tolist())) < 2 or len(set(truth.tolist())) < 2:
        return 0.0
    return float(stats.spearmanr(guess, truth).statistic)


def _check_finite(values: np.ndarray, names: Sequence[str], what: str) -> None:
    bad = [name for name, value in zip(names, values, strict=True) if not math.isfinite(value)]
    if bad:
        raise EvaluationError(f"{what}s must be finite numbers; not for {bad}")


def _check_not_nan(values: np.ndarray, names: Sequence[str], what: str) -> None:
    bad = [name for name, value in zip(names, values, strict=True) if math.isnan(value)]
    if bad:
        raise EvaluationError(f"{what}s must not be nan (a nan has no rank); not for {bad}")
