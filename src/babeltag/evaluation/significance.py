"""Is system A really better than system B on this test set? McNemar's test on paired decisions.

Both systems label the same items (tokens of a tagged corpus, or documents for classification).
Items both get right or both get wrong say nothing about which is better; the test looks only at

    b = items A gets right and B gets wrong
    c = items A gets wrong and B gets right

Under the null hypothesis that the systems are equally good, each of those b + c disagreements is a
fair coin flip, so b ~ Binomial(b + c, 1/2). For few disagreements (b + c < 25) we compute that
binomial p-value exactly (two-sided); for more, the usual chi-square approximation with Edwards'
continuity correction, (|b - c| - 1)^2 / (b + c) on one degree of freedom, is accurate and is what
most papers report.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scipy import stats

from babeltag.evaluation.metrics import EvaluationError
from babeltag.evaluation.predictions import read_predictions

EXACT_BELOW = 25
"""Use the exact binomial test when there are fewer disagreements than this."""


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's test of system A against system B on ``items`` paired decisions.

    ``statistic`` is the continuity-corrected chi-square value when ``method == "chi2"`` and
    min(b, c), the binomial count the exact test is about, when ``method == "exact"``.
    """

    b: int  # A right, B wrong
    c: int  # A wrong, B right
    items: int
    statistic: float
    p_value: float
    method: str  # "exact" or "chi2"


Items = Sequence[Hashable] | Sequence[Sequence[Hashable]]
"""Flat labels (one per document) or tags per sentence."""


def mcnemar(gold: Items, system_a: Items, system_b: Items) -> McNemarResult:
    """McNemar's test on paired items: flat label lists (classification) or tag lists per sentence.

    Sentences are flattened into tokens, after checking that all three agree in shape. With no
    disagreements at all (b + c == 0) there is no evidence either way and the p-value is 1.
    """
    truth, from_a, from_b = _paired_items(gold, system_a, system_b)
    b = sum(t == x and t != y for t, x, y in zip(truth, from_a, from_b, strict=True))
    c = sum(t != x and t == y for t, x, y in zip(truth, from_a, from_b, strict=True))
    if b + c < EXACT_BELOW:
        p_value = 1.0 if b + c == 0 else float(stats.binomtest(b, b + c, 0.5).pvalue)
        return McNemarResult(b, c, len(truth), float(min(b, c)), p_value, "exact")
    statistic = (abs(b - c) - 1) ** 2 / (b + c)
    p_value = float(stats.chi2.sf(statistic, df=1))
    return McNemarResult(b, c, len(truth), statistic, p_value, "chi2")


def _paired_items(gold: Items, system_a: Items, system_b: Items) -> tuple[list[Any], list[Any], list[Any]]:
    """The three sides as flat, equally long lists; an :class:`EvaluationError` if they do not pair up."""
    sides: dict[str, Sequence[Any]] = {"gold": gold, "system A": system_a, "system B": system_b}

    shapes = {name: "sentences" if _is_nested(side) else "flat labels" for name, side in sides.items()}
    if len(set(shapes.values())) > 1:
        raise _mismatch("input shapes", shapes)
    lengths = {name: len(side) for name, side in sides.items()}
    if len(set(lengths.values())) > 1:
        raise _mismatch("numbers of " + ("sentences" if shapes["gold"] == "sentences" else "items"), lengths)
    if shapes["gold"] == "flat labels":
        return list(gold), list(system_a), list(system_b)

    for index in range(len(gold)):
        lengths = {name: len(side[index]) for name, side in sides.items()}
        if len(set(lengths.values())) > 1:
            raise _mismatch(f"sentence {index}: numbers of tags", lengths)
    truth, from_a, from_b = ([tag for sentence in side for tag in sentence] for side in sides.values())
    return truth, from_a, from_b


def _mismatch(what: str, per_side: Mapping[str, object]) -> EvaluationError:
    listed = ", ".join(f"{name} {value}" for name, value in per_side.items())
    return EvaluationError(f"{what} differ ({listed}); McNemar's test needs the same items, paired")


def _is_nested(items: Sequence[Any]) -> bool:
    return len(items) > 0 and isinstance(items[0], list | tuple)


def mcnemar_of_files(path_a: Path, path_b: Path) -> dict[str, Any]:
    """McNemar's test of two runs' saved predictions (evaluation/predictions.py) on the same gold
    data: tokens (tagging) or documents (classification) paired."""
    (gold, from_a), (gold_b, from_b) = read_predictions(path_a), read_predictions(path_b)
    if gold != gold_b:
        raise EvaluationError(f"{path_a} and {path_b} are predictions on different gold data")
    result = mcnemar(gold, from_a, from_b)
    return {"p_value": result.p_value, "b": result.b, "c": result.c, "items": result.items}


def significance_mark(tests: Sequence[Mapping[str, Any]]) -> str:
    """``**`` when every test (one per seed) gives p < 0.01, ``*`` when every one gives p < 0.05,
    else nothing: a difference is marked only if it holds up in each seed's paired comparison, in
    the same direction (A better in one seed and B in another is no finding)."""
    if not tests:
        return ""
    directions = {(test["b"] > test["c"]) - (test["b"] < test["c"]) for test in tests}
    if len(directions) > 1 or directions == {0}:
        return ""
    worst = max(test["p_value"] for test in tests)
    return "**" if worst < 0.01 else "*" if worst < 0.05 else ""


MCNEMAR_LEGEND = (
    "Differences marked * (**) are significant at p < 0.05 (0.01) by McNemar's test for every seed, "
    "in the same direction: the two variants' runs with the same seed, paired on each test token "
    "(tagging) or document (classification)."
)
