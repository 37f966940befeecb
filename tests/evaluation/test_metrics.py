"""Metrics: hand-computed examples, a literal conlleval pass, seqeval, and the real CoNLL-2002 files."""

from __future__ import annotations

import gzip
import os
import random
import warnings
from collections import Counter
from pathlib import Path

import pytest
import seqeval.metrics
from seqeval.metrics.sequence_labeling import get_entities, precision_recall_fscore_support
from sklearn.metrics import f1_score as sklearn_f1

from babeltag.data.tag_schemes import TagSchemeError, convert, from_spans
from babeltag.errors import BabeltagError
from babeltag.evaluation.metrics import (
    EvaluationError,
    SpanReport,
    classification_accuracy,
    macro_f1,
    span_scores,
    token_accuracy,
)

# Predicted tags break IOB2 twice: an I- after O (still a correct LOC span, as conlleval reads it)
# and a type change in the middle of an ORG span (which becomes three spans, none of them right).
GOLD = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "I-ORG"]]
PREDICTED = [["B-PER", "I-PER", "O", "I-LOC"], ["B-ORG", "I-MISC", "I-ORG"]]


# --- token accuracy ---------------------------------------------------------------------------------


def test_token_accuracy_counts_exact_tag_matches() -> None:
    assert token_accuracy(GOLD, PREDICTED) == pytest.approx(5 / 7)
    assert token_accuracy(GOLD, GOLD) == 1.0


def test_shape_errors_name_the_sentence() -> None:
    with pytest.raises(EvaluationError, match="sentence 1: 3 gold tags but 2 predicted tags"):
        token_accuracy(GOLD, [PREDICTED[0], PREDICTED[1][:2]])
    with pytest.raises(EvaluationError, match="2 gold sentences but 1 predicted sentences"):
        span_scores(GOLD, PREDICTED[:1])
    with pytest.raises(EvaluationError, match="no tokens"):
        token_accuracy([[]], [[]])
    assert issubclass(EvaluationError, BabeltagError)


# --- span scores by hand ----------------------------------------------------------------------------


def test_span_scores_on_a_hand_computed_example() -> None:
    report = span_scores(GOLD, PREDICTED)
    assert (report.true_positives, report.gold_spans, report.predicted_spans) == (2, 3, 5)
    assert report.precision == pytest.approx(2 / 5)
    assert report.recall == pytest.approx(2 / 3)
    assert report.f1 == pytest.approx(0.5)
    assert list(report.per_type) == ["LOC", "MISC", "ORG", "PER"]
    counts = {
        name: (s.true_positives, s.gold_spans, s.predicted_spans) for name, s in report.per_type.items()
    }
    assert counts == {"LOC": (1, 1, 1), "MISC": (0, 0, 1), "ORG": (0, 1, 2), "PER": (1, 1, 1)}
    assert report.per_type["MISC"].recall == 0.0 and report.per_type["MISC"].f1 == 0.0
    assert report.token_accuracy == pytest.approx(5 / 7)


def test_format_report_has_conllevals_layout() -> None:
    assert span_scores(GOLD, PREDICTED).format_report() == (
        "processed 7 tokens with 3 phrases; found: 5 phrases; correct: 2.\n"
        "accuracy:  71.43%; precision:  40.00%; recall:  66.67%; FB1:  50.00\n"
        "              LOC: precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n"
        "             MISC: precision:   0.00%; recall:   0.00%; FB1:   0.00  1\n"
        "              ORG: precision:   0.00%; recall:   0.00%; FB1:   0.00  2\n"
        "              PER: precision: 100.00%; recall: 100.00%; FB1: 100.00  1\n"
    )


def test_to_dict_is_plain_data() -> None:
    data = span_scores(GOLD, PREDICTED).to_dict()
    assert data["f1"] == pytest.approx(0.5)
    assert data["true_positives"] == 2 and data["gold_spans"] == 3 and data["predicted_spans"] == 5
    assert data["tokens"] == 7 and data["correct_tokens"] == 5
    assert data["per_type"]["ORG"] == {  # type: ignore[index]
        "precision": 0.0,
        "recall": 0.0,
        "f1": 0.0,
        "true_positives": 0,
        "gold_spans": 1,
        "predicted_spans": 2,
    }


def test_sentence_boundaries_close_spans_and_empty_input_scores_zero() -> None:
    # Without the boundary, I-PER would continue the PER span of the sentence before.
    report = span_scores([["B-PER"], ["I-PER"]], [["B-PER"], ["B-PER"]])
    assert (report.true_positives, report.gold_spans, report.predicted_spans) == (2, 2, 2)
    empty = span_scores([], [])
    assert (empty.precision, empty.recall, empty.f1, empty.per_type) == (0.0, 0.0, 0.0, {})
    assert isinstance(empty, SpanReport)


def test_bad_tags_are_reported_with_their_sentence() -> None:
    with pytest.raises(TagSchemeError, match="predicted sentence 1: tag 2: 'X-FOO'"):
        span_scores(GOLD, [PREDICTED[0], ["B-ORG", "I-ORG", "X-FOO"]])


# --- span scores against a literal conlleval pass ---------------------------------------------------


def _conlleval(
    gold: list[list[str]], predicted: list[list[str]]
) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Per-type (correct, gold, found) counts the way the conlleval script computes them.

    One pass over the corpus as one stream, sentence boundaries read as O in both columns, with the
    script's original chunk rules (B-, I-, E- and O; it has no S-). A gold and a found chunk count as
    correct when both start at one token with one type and both end at one token.
    """
    ends_after = {("B", "B"), ("B", "O"), ("I", "B"), ("I", "O"), ("E", "E"), ("E", "I"), ("E", "O")}
    starts_at = {("B", "B"), ("I", "B"), ("O", "B"), ("O", "I"), ("E", "E"), ("E", "I"), ("O", "E")}

    def split(tag: str) -> tuple[str, str]:
        prefix, _, type_ = tag.partition("-")
        return prefix, type_

    def ends(prev: tuple[str, str], cur: tuple[str, str]) -> bool:
        return (prev[0], cur[0]) in ends_after or (prev[0] != "O" and prev[1] != cur[1])

    def starts(prev: tuple[str, str], cur: tuple[str, str]) -> bool:
        return (prev[0], cur[0]) in starts_at or (cur[0] != "O" and prev[1] != cur[1])

    stream = [
        pair for g, p in zip(gold, predicted, strict=True) for pair in [*zip(g, p, strict=True), ("O", "O")]
    ]
    correct, found_gold, found_predicted = Counter[str](), Counter[str](), Counter[str]()
    last_g = last_p = ("O", "")
    open_match = False  # a gold and a found chunk started together and have not diverged yet
    for g_tag, p_tag in stream:
        g, p = split(g_tag), split(p_tag)
        if open_match:
            gold_ends, found_ends = ends(last_g, g), ends(last_p, p)
            if gold_ends and found_ends and last_g[1] == last_p[1]:
                correct[last_g[1]] += 1
                open_match = False
            elif gold_ends != found_ends or g[1] != p[1]:
                open_match = False
        if starts(last_g, g) and starts(last_p, p) and g[1] == p[1]:
            open_match = True
        if starts(last_g, g):
            found_gold[g[1]] += 1
        if starts(last_p, p):
            found_predicted[p[1]] += 1
        last_g, last_p = g, p
    if open_match:
        correct[last_g[1]] += 1
    return correct, found_gold, found_predicted


def _random_corpus(rng: random.Random, tags: list[str], sentences: int = 8) -> list[list[str]]:
    return [[rng.choice(tags) for _ in range(rng.randint(0, 9))] for _ in range(sentences)]


@pytest.mark.parametrize(
    "tags",
    [
        ["O", "B-X", "I-X", "B-Y", "I-Y"],  # IOB1 / IOB2, valid or not
        ["O", "O", "O", "I-X", "E-X", "I-Y", "E-Y"],  # IOE
    ],
)
def test_span_scores_equal_a_literal_conlleval_pass(tags: list[str]) -> None:
    rng = random.Random(11)
    for _ in range(300):
        gold = _random_corpus(rng, tags)
        predicted = [[rng.choice(tags) for _ in sentence] for sentence in gold]
        correct, found_gold, found_predicted = _conlleval(gold, predicted)
        report = span_scores(gold, predicted)
        assert report.true_positives == sum(correct.values())
        assert report.gold_spans == sum(found_gold.values())
        assert report.predicted_spans == sum(found_predicted.values())
        for name, score in report.per_type.items():
            assert (score.true_positives, score.gold_spans, score.predicted_spans) == (
                correct[name],
                found_gold[name],
                found_predicted[name],
            )


# --- span scores against seqeval --------------------------------------------------------------------


def _assert_same_as_seqeval(report: SpanReport, gold: list[list[str]], predicted: list[list[str]]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns about empty classes; zero_division=0 is what we do
        overall = precision_recall_fscore_support(gold, predicted, average="micro", zero_division=0)
        per_type = precision_recall_fscore_support(gold, predicted, average=None, zero_division=0)
    names = sorted({name for name, _, _ in get_entities(gold) + get_entities(predicted)})  # seqeval's order
    assert list(report.per_type) == names
    assert (report.precision, report.recall, report.f1) == pytest.approx(overall[:3], abs=1e-9)
    assert report.gold_spans == overall[3]
    for i, (name, score) in enumerate(report.per_type.items()):
        expected = [float(per_type[k][i]) for k in range(3)]
        assert [score.precision, score.recall, score.f1] == pytest.approx(expected, abs=1e-9), name
        assert score.gold_spans == per_type[3][i], name


def test_span_scores_equal_seqeval_on_random_sequences() -> None:
    rng = random.Random(3)
    tags = ["O", "O", "O"] + [f"{prefix}-{type_}" for prefix in "BIES" for type_ in ("PER", "LOC", "ORG")]
    for _ in range(200):
        gold = _random_corpus(rng, tags)
        predicted = [[rng.choice([tag, rng.choice(tags)]) for tag in sentence] for sentence in gold]
        _assert_same_as_seqeval(span_scores(gold, predicted), gold, predicted)


def test_bioes_scores_equal_the_scores_of_the_same_spans_in_iob2() -> None:
    rng = random.Random(5)
    for _ in range(100):
        lengths = [rng.randint(0, 10) for _ in range(6)]
        gold, predicted = ([from_spans(_some_spans(rng, n), n, "bioes") for n in lengths] for _ in range(2))
        as_iob2 = span_scores(
            [convert(s, "bioes", "iob2") for s in gold], [convert(s, "bioes", "iob2") for s in predicted]
        )
        in_bioes = span_scores(gold, predicted, scheme="bioes")
        assert in_bioes.per_type == as_iob2.per_type


def _some_spans(rng: random.Random, length: int) -> list[tuple[str, int, int]]:
    spans, position = [], 0
    while position < length:
        end = min(length, position + rng.randint(1, 3))
        if rng.random() < 0.5:
            spans.append((rng.choice("XY"), position, end))
        position = end + rng.randint(0, 1)
    return spans


# --- the real CoNLL-2002 data -----------------------------------------------------------------------


def _data_dir() -> Path:
    configured = os.environ.get("BABELTAG_DATA_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def _read_conll_tags(path: Path) -> list[list[str]]:
    """The last column of a CoNLL file, one list per sentence; -DOCSTART- lines end a sentence."""
    sentences: list[list[str]] = []
    current: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if fields and fields[0] != "-DOCSTART-":
                current.append(fields[-1])
            elif current:
                sentences.append(current)
                current = []
    if current:
        sentences.append(current)
    return sentences


def _corrupt(gold: list[list[str]], seed: int) -> list[list[str]]:
    """A deterministic imitation of a tagger's mistakes: dropped, retyped, split and stretched spans."""
    rng = random.Random(seed)
    types = sorted({tag[2:] for sentence in gold for tag in sentence if tag != "O"})
    predicted = []
    for sentence in gold:
        tags = list(sentence)
        for i, tag in enumerate(sentence):
            roll = rng.random()
            if roll < 0.03:
                tags[i] = "O"  # a missed token: shortens or splits a span
            elif roll < 0.06 and tag != "O":
                tags[i] = tag[:2] + rng.choice(types)  # a type change, often mid-span
            elif roll < 0.09 and tag != "O":
                tags[i] = ("I-" if tag.startswith("B-") else "B-") + tag[2:]  # I- after O, or a split
            elif roll < 0.15 and tag == "O":
                if i > 0 and sentence[i - 1] != "O":
                    tags[i] = "I-" + sentence[i - 1][2:]  # the span before runs one token too far
                elif roll < 0.1:
                    tags[i] = rng.choice("BI") + "-" + rng.choice(types)  # an invented span
        predicted.append(tags)
    return predicted


@pytest.mark.parametrize("language", ["es", "nl"])
@pytest.mark.parametrize("split", ["dev", "test"])
def test_span_scores_equal_seqeval_on_conll2002(language: str, split: str) -> None:
    path = _data_dir() / "ner" / language / f"{split}.txt.gz"
    if not path.is_file():
        pytest.skip(f"CoNLL-2002 data not found at {path} (set BABELTAG_DATA_DIR)")
    gold = _read_conll_tags(path)
    predicted = _corrupt(gold, seed=2002)
    report = span_scores(gold, predicted)
    assert report.gold_spans > 1000 and 0.5 < report.f1 < 0.95  # a realistic, not a trivial, comparison
    _assert_same_as_seqeval(report, gold, predicted)
    assert report.token_accuracy == pytest.approx(seqeval.metrics.accuracy_score(gold, predicted), abs=1e-12)


# --- classification ---------------------------------------------------------------------------------


def test_classification_accuracy_and_macro_f1_by_hand() -> None:
    gold = ["pos", "pos", "neg", "neu"]
    predicted = ["pos", "neg", "neg", "pos"]
    assert classification_accuracy(gold, predicted) == 0.5
    # pos: P 1/2 R 1/2 F 1/2; neg: P 1/2 R 1 F 2/3; neu: F 0
    assert macro_f1(gold, predicted) == pytest.approx((1 / 2 + 2 / 3 + 0) / 3)
    assert macro_f1(gold, predicted, labels=["pos", "neg"]) == pytest.approx((1 / 2 + 2 / 3) / 2)
    with pytest.raises(EvaluationError, match="4 gold labels but 3 predicted labels"):
        classification_accuracy(gold, predicted[:3])
    with pytest.raises(EvaluationError, match="no labels"):
        macro_f1([], [])


def test_macro_f1_equals_scikit_learn() -> None:
    rng = random.Random(1)
    for _ in range(50):
        classes = ["a", "b", "c", "d", "e"][: rng.randint(1, 5)]
        gold = [rng.choice(classes) for _ in range(rng.randint(1, 30))]
        predicted = [rng.choice(classes) for _ in gold]
        expected = sklearn_f1(gold, predicted, average="macro", zero_division=0)
        assert macro_f1(gold, predicted) == pytest.approx(expected, abs=1e-12)
