"""Scores: token accuracy, CoNLL span precision/recall/F1, and accuracy/macro-F1 for classification.

All scores are fractions in [0, 1]; only ``SpanReport.format_report`` prints percentages, the way the
CoNLL ``conlleval`` script does. Span scores are the script's numbers: spans are read with its chunk
rules (:func:`babeltag.data.tag_schemes.to_spans`), a sentence boundary closes every open span, and a
predicted span counts as correct only if a gold span has the same type, start and end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from babeltag.data.tag_schemes import TagSchemeError, to_spans
from babeltag.errors import BabeltagError


class EvaluationError(BabeltagError):
    """Predictions that cannot be scored against the gold labels: other shapes, or nothing to score."""


def check_same_shape(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> None:
    """Raise :class:`EvaluationError` unless both have the same number of sentences and tags per sentence."""
    if len(gold) != len(predicted):
        raise EvaluationError(f"{len(gold)} gold sentences but {len(predicted)} predicted sentences")
    for index, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted, strict=True)):
        if len(gold_tags) != len(predicted_tags):
            raise EvaluationError(
                f"sentence {index}: {len(gold_tags)} gold tags but {len(predicted_tags)} predicted tags"
            )


def token_accuracy(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> float:
    """The fraction of tokens whose predicted tag equals the gold tag (B-PER vs I-PER counts as wrong)."""
    check_same_shape(gold, predicted)
    tokens = sum(len(tags) for tags in gold)
    if tokens == 0:
        raise EvaluationError("no tokens to score")
    correct = sum(
        _agreements(gold_tags, pred_tags) for gold_tags, pred_tags in zip(gold, predicted, strict=True)
    )
    return correct / tokens


def _agreements(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> int:
    return sum(g == p for g, p in zip(gold, predicted, strict=True))


# --- spans ------------------------------------------------------------------------------------------


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0  # conlleval reports 0 for an empty ratio


def _f1(true_positives: int, gold: int, predicted: int) -> float:
    precision, recall = _ratio(true_positives, predicted), _ratio(true_positives, gold)
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0


@dataclass(frozen=True)
class SpanScore:
    """Span counts for one type (or all of them) and the precision, recall and F1 they give."""

    true_positives: int
    gold_spans: int
    predicted_spans: int

    @property
    def precision(self) -> float:
        return _ratio(self.true_positives, self.predicted_spans)

    @property
    def recall(self) -> float:
        return _ratio(self.true_positives, self.gold_spans)

    @property
    def f1(self) -> float:
        return _f1(self.true_positives, self.gold_spans, self.predicted_spans)

    def to_dict(self) -> dict[str, object]:
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "true_positives": self.true_positives,
            "gold_spans": self.gold_spans,
            "predicted_spans": self.predicted_spans,
        }


@dataclass(frozen=True)
class SpanReport(SpanScore):
    """Overall span scores (inherited fields and properties), one :class:`SpanScore` per type, and the
    token accuracy that conlleval prints alongside them."""

    per_type: dict[str, SpanScore] = field(default_factory=dict)
    tokens: int = 0
    correct_tokens: int = 0

    @property
    def token_accuracy(self) -> float:
        return _ratio(self.correct_tokens, self.tokens)

    def to_dict(self) -> dict[str, object]:
        return {
            **super().to_dict(),
            "tokens": self.tokens,
            "correct_tokens": self.correct_tokens,
            "token_accuracy": self.token_accuracy,
            "per_type": {name: score.to_dict() for name, score in self.per_type.items()},
        }

    def format_report(self) -> str:
        """The report in conlleval's own layout, so the two can be compared line by line."""
        lines = [
            f"processed {self.tokens} tokens with {self.gold_spans} phrases; "
            f"found: {self.predicted_spans} phrases; correct: {self.true_positives}."
        ]
        if self.tokens > 0:
            lines.append(
                f"accuracy: {100 * self.token_accuracy:6.2f}%; precision: {100 * self.precision:6.2f}%; "
                f"recall: {100 * self.recall:6.2f}%; FB1: {100 * self.f1:6.2f}"
            )
        for name, score in self.per_type.items():
            lines.append(
                f"{name:>17}: precision: {100 * score.precision:6.2f}%; recall: {100 * score.recall:6.2f}%; "
                f"FB1: {100 * score.f1:6.2f}  {score.predicted_spans}"
            )
        return "\n".join(lines) + "\n"


def span_scores(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]], scheme: str = "iob2"
) -> SpanReport:
    """CoNLL span precision, recall and F1 of ``predicted`` against ``gold``, overall and per type.

    Both sides are read leniently (conlleval's rules), so output that breaks the scheme is scored
    exactly as the script scores it; gold data with such slips (a sentence-initial I- in the Spanish
    CoNLL-2002 files) is read the same way. Tags that are not B-/I-/E-/S-TYPE or O are an error.
    """
    check_same_shape(gold, predicted)
    true_positives: Counter[str] = Counter()
    gold_counts: Counter[str] = Counter()
    predicted_counts: Counter[str] = Counter()
    tokens = correct_tokens = 0
    for index, (gold_tags, predicted_tags) in enumerate(zip(gold, predicted, strict=True)):
        gold_spans = set(_spans(gold_tags, scheme, f"gold sentence {index}"))
        predicted_spans = set(_spans(predicted_tags, scheme, f"predicted sentence {index}"))
        gold_counts.update(type_ for type_, _, _ in gold_spans)
        predicted_counts.update(type_ for type_, _, _ in predicted_spans)
        true_positives.update(type_ for type_, _, _ in gold_spans & predicted_spans)
        tokens += len(gold_tags)
        correct_tokens += _agreements(gold_tags, predicted_tags)

    per_type = {
        name: SpanScore(true_positives[name], gold_counts[name], predicted_counts[name])
        for name in sorted(gold_counts.keys() | predicted_counts.keys())
    }
    return SpanReport(
        true_positives=sum(true_positives.values()),
        gold_spans=sum(gold_counts.values()),
        predicted_spans=sum(predicted_counts.values()),
        per_type=per_type,
        tokens=tokens,
        correct_tokens=correct_tokens,
    )


def _spans(tags: Sequence[str], scheme: str, where: str) -> list[tuple[str, int, int]]:
    try:
        return to_spans(tags, scheme)
    except TagSchemeError as error:
        raise TagSchemeError(f"{where}: {error}", index=error.index) from None


# --- text classification ----------------------------------------------------------------------------


def _check_same_length(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> None:
    if len(gold) != len(predicted):
        raise EvaluationError(f"{len(gold)} gold labels but {len(predicted)} predicted labels")
    if not gold:
        raise EvaluationError("no labels to score")


def classification_accuracy(gold: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """The fraction of items whose predicted label equals the gold label."""
    _check_same_length(gold, predicted)
    return _agreements(gold, predicted) / len(gold)


def macro_f1(
    gold: Sequence[Hashable], predicted: Sequence[Hashable], labels: Sequence[Hashable] | None = None
) -> float:
    """The unweighted mean of per-label F1, so that rare classes count as much as frequent ones.

    ``labels`` defaults to every label seen in ``gold`` or ``predicted``; a label that is never
    predicted and never gold scores F1 = 0 (scikit-learn's ``f1_score(average="macro",
    zero_division=0)`` gives the same number).
    """
    _check_same_length(gold, predicted)
    names = list(dict.fromkeys([*gold, *predicted])) if labels is None else list(labels)
    if not names:
        raise EvaluationError("macro_f1 needs at least one label")
    scores = [
        _f1(
            sum(g == p == name for g, p in zip(gold, predicted, strict=True)),
            sum(g == name for g in gold),
            sum(p == name for p in predicted),
        )
        for name in names
    ]
    return sum(scores) / len(scores)
