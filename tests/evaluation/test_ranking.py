"""Ranking metrics: hand-computed NDCG, Spearman against the textbook formula, relevance with ties."""

from __future__ import annotations

import math

import numpy as np
import pytest

from babeltag.evaluation.metrics import EvaluationError
from babeltag.evaluation.ranking import ndcg_at_k, relevance_from_scores, spearman


def test_relevance_is_the_true_rank_best_highest() -> None:
    assert relevance_from_scores({"a": 0.9, "b": 0.5, "c": 0.7}) == {"a": 2.0, "b": 0.0, "c": 1.0}


def test_tied_scores_share_the_mean_of_their_relevances() -> None:
    # d is best (3); a and b would get 2 and 1, so each gets 1.5; c is worst (0)
    assert relevance_from_scores({"a": 1.0, "b": 1.0, "c": 0.0, "d": 2.0}) == {
        "a": 1.5,
        "b": 1.5,
        "c": 0.0,
        "d": 3.0,
    }
    assert relevance_from_scores({"a": 0.3, "b": 0.3}) == {"a": 0.5, "b": 0.5}


def test_relevance_rejects_non_finite_scores() -> None:
    with pytest.raises(EvaluationError, match="b"):
        relevance_from_scores({"a": 1.0, "b": math.nan})


def test_ndcg_by_hand_on_four_candidates() -> None:
    relevance = {"a": 3.0, "b": 2.0, "c": 1.0, "d": 0.0}
    # predicted b, a, d: gains 2^2-1, 2^3-1, 2^0-1 at discounts log2(2), log2(3), log2(4)
    dcg = 3 / 1 + 7 / math.log2(3) + 0 / 2
    ideal = 7 / 1 + 3 / math.log2(3) + 1 / 2
    assert ndcg_at_k(["b", "a", "d", "c"], relevance, k=3) == pytest.approx(dcg / ideal)
    assert dcg / ideal == pytest.approx(0.78960, abs=1e-5)
    # k=1 looks at the first candidate only: (2^2-1) / (2^3-1)
    assert ndcg_at_k(["b", "a", "d", "c"], relevance, k=1) == pytest.approx(3 / 7)


def test_ndcg_of_the_ideal_order_is_one() -> None:
    relevance = relevance_from_scores({"a": 0.1, "b": 0.8, "c": 0.5, "d": 0.3, "e": 0.9})
    ideal_order = sorted(relevance, key=lambda name: -relevance[name])
    for k in (1, 3, 5, 10):
        assert ndcg_at_k(ideal_order, relevance, k=k) == pytest.approx(1.0)
    assert ndcg_at_k(list(reversed(ideal_order)), relevance, k=3) < 1.0


def test_ndcg_edge_cases() -> None:
    assert ndcg_at_k(["a", "b"], {"a": 0.0, "b": 0.0}) == 1.0  # nothing relevant: every order is ideal
    # an unjudged candidate gains nothing: x then a = 0 + (2^1-1)/log2(3) against the ideal 1
    assert ndcg_at_k(["x", "a"], {"a": 1.0, "b": 0.0}, k=2) == pytest.approx(1 / math.log2(3))
    with pytest.raises(EvaluationError, match="k >= 1"):
        ndcg_at_k(["a"], {"a": 1.0}, k=0)
    with pytest.raises(EvaluationError, match="more than once"):
        ndcg_at_k(["a", "a"], {"a": 1.0, "b": 0.0})


@pytest.mark.parametrize("n", [2, 3, 5, 8, 13])
def test_spearman_matches_the_textbook_formula_without_ties(n: int) -> None:
    rng = np.random.default_rng(n)
    names = [f"lang{i}" for i in range(n)]
    predicted = dict(zip(names, rng.permutation(n).astype(float) * 0.37, strict=True))
    truth = dict(zip(names, rng.permutation(n).astype(float) + 10.0, strict=True))

    def rank(values: dict[str, float]) -> dict[str, int]:
        return {name: position for position, name in enumerate(sorted(values, key=values.__getitem__))}

    rank_p, rank_t = rank(predicted), rank(truth)
    d_squared = sum((rank_p[name] - rank_t[name]) ** 2 for name in names)
    expected = 1 - 6 * d_squared / (n * (n**2 - 1))
    assert spearman(predicted, truth) == pytest.approx(expected)


def test_spearman_uses_the_common_candidates_only() -> None:
    predicted = {"a": 3.0, "b": 2.0, "c": 1.0, "only_predicted": 100.0}
    truth = {"a": 0.9, "b": 0.5, "c": 0.1, "only_true": -5.0}
    assert spearman(predicted, truth) == pytest.approx(1.0)
    assert spearman({"a": 1.0, "b": 2.0, "c": 3.0}, truth) == pytest.approx(-1.0)


def test_spearman_of_a_constant_side_is_zero_not_nan() -> None:
    truth = {"a": 0.9, "b": 0.5, "c": 0.1}
    assert spearman({"a": 1.0, "b": 1.0, "c": 1.0}, truth) == 0.0
    assert spearman({"a": 1.0, "b": 2.0, "c": 3.0}, {"a": 0.5, "b": 0.5, "c": 0.5}) == 0.0
    # -inf (a missing signal) is just the lowest rank
    assert spearman({"a": 1.0, "b": 0.0, "c": -math.inf}, truth) == pytest.approx(1.0)


def test_spearman_needs_two_common_candidates_and_no_nan() -> None:
    with pytest.raises(EvaluationError, match="at least 2"):
        spearman({"a": 1.0, "b": 2.0}, {"a": 1.0, "c": 2.0})
    with pytest.raises(EvaluationError, match="nan"):
        spearman({"a": 1.0, "b": math.nan}, {"a": 1.0, "b": 2.0})
