"""Scoring predictions against gold examples with the metric a task calls for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from babeltag.data.example import Example
from babeltag.evaluation import metrics


def score(
    examples: Sequence[Example], predicted: Sequence[list[str]], metric: str, scheme: str
) -> dict[str, Any]:
    """All the numbers worth logging; ``result["score"]`` is the one model selection uses (0-100)."""
    if examples and examples[0].label is not None and examples[0].labels is None:
        gold_classes = [e.label for e in examples]
        predicted_classes = [p[0] for p in predicted]
        accuracy = metrics.classification_accuracy(gold_classes, predicted_classes)
        macro = metrics.macro_f1(gold_classes, predicted_classes)
        main = macro if metric == "macro_f1" else accuracy
        return {"score": 100 * main, "accuracy": 100 * accuracy, "macro_f1": 100 * macro}
    gold = [e.labels or [] for e in examples]
    result: dict[str, Any] = {"accuracy": 100 * metrics.token_accuracy(gold, list(predicted))}
    if metric == "span_f1" or scheme != "none":
        report = metrics.span_scores(gold, list(predicted), scheme=scheme)
        result.update(
            precision=100 * report.precision,
            recall=100 * report.recall,
            f1=100 * report.f1,
            per_type={name: _percentages(type_score) for name, type_score in report.per_type.items()},
        )
    result["score"] = result["f1"] if metric == "span_f1" else result["accuracy"]
    return result


def _percentages(type_score: metrics.SpanScore) -> dict[str, Any]:
    """One type's scores on the same 0-100 scale as the overall ones, with the counts behind them."""
    return {
        "precision": 100 * type_score.precision,
        "recall": 100 * type_score.recall,
        "f1": 100 * type_score.f1,
        "true_positives": type_score.true_positives,
        "gold_spans": type_score.gold_spans,
        "predicted_spans": type_score.predicted_spans,
    }
