"""McNemar's test: hand-computed values, scipy for the exact case, and the input checks."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from scipy import stats

from babeltag.evaluation.metrics import EvaluationError
from babeltag.evaluation.significance import EXACT_BELOW, mcnemar


def _systems(
    b: int, c: int, both_right: int = 5, both_wrong: int = 3
) -> tuple[list[str], list[str], list[str]]:
    """Gold and two systems' labels with exactly b items only A gets right and c only B gets right."""
    gold = ["x"] * (b + c + both_right + both_wrong)
    a = ["x"] * b + ["a"] * c + ["x"] * both_right + ["a"] * both_wrong
    s = ["b"] * b + ["x"] * c + ["x"] * both_right + ["b"] * both_wrong  # both wrong, differently
    return gold, a, s


def test_exact_binomial_by_hand() -> None:
    result = mcnemar(*_systems(b=1, c=5))
    assert (result.b, result.c, result.items, result.method) == (1, 5, 14, "exact")
    # P(X <= 1) for X ~ Bin(6, 1/2) is 7/64; two-sided doubles it
    assert result.p_value == pytest.approx(14 / 64)
    assert result.statistic == 1.0


@pytest.mark.parametrize(("b", "c"), [(0, 1), (3, 3), (0, 10), (7, 2), (12, 12), (0, 24)])
def test_exact_case_matches_scipy(b: int, c: int) -> None:
    result = mcnemar(*_systems(b, c))
    assert result.method == "exact"
    assert result.p_value == pytest.approx(stats.binomtest(b, b + c, 0.5).pvalue, rel=1e-12)


def test_chi_square_with_continuity_correction_by_hand() -> None:
    result = mcnemar(*_systems(b=30, c=10))
    assert result.method == "chi2"
    assert result.statistic == pytest.approx((20 - 1) ** 2 / 40)  # 9.025
    # a chi-square with one degree of freedom is a squared standard normal
    assert result.p_value == pytest.approx(math.erfc(math.sqrt(9.025 / 2)), rel=1e-12)


def test_threshold_between_exact_and_chi_square() -> None:
    assert EXACT_BELOW == 25
    assert mcnemar(*_systems(b=20, c=4)).method == "exact"
    assert mcnemar(*_systems(b=20, c=5)).method == "chi2"


def test_no_disagreements_give_p_one() -> None:
    result = mcnemar(*_systems(b=0, c=0))
    assert (result.b, result.c, result.p_value, result.method) == (0, 0, 1.0, "exact")
    assert mcnemar([], [], []).p_value == 1.0


def test_swapping_the_systems_swaps_b_and_c_only() -> None:
    gold, a, s = _systems(b=40, c=18)
    forward, backward = mcnemar(gold, a, s), mcnemar(gold, s, a)
    assert (backward.b, backward.c) == (forward.c, forward.b)
    assert backward.p_value == pytest.approx(forward.p_value)


def test_sentences_are_flattened_into_tokens() -> None:
    gold = [["B-PER", "I-PER", "O"], ["O"], ["B-LOC", "O"]]
    a = [["B-PER", "I-PER", "O"], ["B-LOC"], ["B-LOC", "O"]]
    s = [["B-PER", "O", "O"], ["O"], ["I-LOC", "B-PER"]]
    result = mcnemar(gold, a, s)
    assert (result.b, result.c, result.items) == (3, 1, 6)
    assert result == mcnemar(sum(gold, []), sum(a, []), sum(s, []))


def test_inputs_that_do_not_pair_up() -> None:
    with pytest.raises(EvaluationError, match=r"numbers of items differ \(gold 3, system A 2, system B 3\)"):
        mcnemar(["a", "b", "c"], ["a", "b"], ["a", "b", "c"])
    with pytest.raises(
        EvaluationError, match=r"sentence 1: numbers of tags differ \(gold 1, system A 1, system B 2\)"
    ):
        mcnemar([["O"], ["O"]], [["O"], ["O"]], [["O"], ["O", "O"]])
    with pytest.raises(EvaluationError, match="input shapes differ"):
        mcnemar([["O"], ["O"]], ["O", "O"], [["O"], ["O"]])


def test_saved_predictions_are_tested_pairwise_and_must_share_their_gold(tmp_path: Path) -> None:
    from babeltag.data.example import Example
    from babeltag.evaluation.predictions import write_predictions
    from babeltag.evaluation.significance import mcnemar_of_files, significance_mark

    examples = [Example(["a", "b", "c"], "xx", "upos", labels=["X", "Y", "Z"])] * 10
    a = write_predictions(tmp_path / "a.jsonl", examples, [["X", "Y", "Z"]] * 10)
    b = write_predictions(tmp_path / "b.jsonl", examples, [["X", "Y", "Q"]] * 10)
    result = mcnemar_of_files(a, b)
    assert (result["b"], result["c"], result["items"]) == (10, 0, 30)
    assert result["p_value"] == pytest.approx(2 * 0.5**10)  # exact binomial, two-sided
    assert significance_mark([result]) == "**"
    assert significance_mark([result, {"p_value": 0.03, "b": 30, "c": 12}]) == "*"
    assert significance_mark([]) == "" and significance_mark([{"p_value": 0.2, "b": 9, "c": 5}]) == ""
    # significant both times, but A wins one seed and B the other: no mark
    assert significance_mark([result, {"p_value": 1e-6, "b": 2, "c": 40}]) == ""
    other = [Example(["a", "b", "c"], "xx", "upos", labels=["X", "Y", "Y"])] * 10
    c = write_predictions(tmp_path / "c.jsonl", other, [["X", "Y", "Z"]] * 10)
    with pytest.raises(EvaluationError, match="different gold data"):
        mcnemar_of_files(a, c)
