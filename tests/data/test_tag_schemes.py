"""Tag schemes: validation messages, conlleval-style span reading, conversion, and CRF constraints."""

from __future__ import annotations

import itertools
import random

import pytest
import torch

from babeltag.data.tag_schemes import (
    Tag,
    TagSchemeError,
    allowed_transitions,
    convert,
    find_violation,
    from_spans,
    normalize_scheme,
    parse_tag,
    to_spans,
)
from babeltag.errors import BabeltagError

# --- names and parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [("iob1", "iob1"), ("IOB2", "iob2"), ("bio", "iob2"), ("BIO", "iob2"), ("bioes", "bioes")]
    + [("IOBES", "bioes"), (" None ", "none")],
)
def test_scheme_names_are_case_insensitive_with_aliases(name: str, expected: str) -> None:
    assert normalize_scheme(name) == expected


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(TagSchemeError, match="iob1, iob2, bioes, none"):
        normalize_scheme("bilou")
    with pytest.raises(TagSchemeError, match="ambiguous"):
        normalize_scheme("IOB")
    assert issubclass(TagSchemeError, BabeltagError)


def test_parse_tag() -> None:
    assert parse_tag("B-PER") == Tag("B", "PER")
    assert parse_tag("O") == Tag("O", "")
    assert parse_tag("I-B-X") == Tag("I", "B-X")  # types may contain dashes; only the first one splits
    assert str(parse_tag("E-ORG")) == "E-ORG"
    for bad in ["PER", "X-FOO", "B-", "b-per", "O-PER", ""]:
        with pytest.raises(TagSchemeError, match="not a tag of the form"):
            parse_tag(bad)


# --- find_violation: every kind of mistake ----------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "tags", "index", "words"),
    [
        # IOB2: I- must continue a B-/I- of its own type
        ("iob2", ["O", "I-PER"], 1, ["I-PER follows O", "must start with B-PER"]),
        ("iob2", ["I-PER"], 0, ["I-PER starts the sentence", "B-PER"]),
        ("iob2", ["B-LOC", "I-PER"], 1, ["I-PER follows B-LOC", "B-PER"]),
        ("iob2", ["B-PER", "E-PER"], 1, ["E-PER is not used in IOB2", "B-TYPE, I-TYPE and O"]),
        ("iob2", ["S-PER"], 0, ["S-PER is not used in IOB2"]),
        # IOB1: B- only right after I-/B- of the same type
        ("iob1", ["B-LOC"], 0, ["B-LOC under IOB1 is only allowed directly after I-LOC/B-LOC"]),
        ("iob1", ["O", "B-LOC"], 1, ["B-LOC follows O", "after I-LOC/B-LOC"]),
        ("iob1", ["I-PER", "B-LOC"], 1, ["B-LOC follows I-PER", "starts with I-LOC"]),
        ("iob1", ["I-PER", "E-PER"], 1, ["E-PER is not used in IOB1"]),
        # BIOES: spans open with B-/S-, go on with I-, close with E-
        ("bioes", ["O", "E-ORG"], 1, ["E-ORG without a preceding B-ORG/I-ORG"]),
        ("bioes", ["E-ORG"], 0, ["E-ORG without a preceding B-ORG/I-ORG", "starts the sentence"]),
        ("bioes", ["S-ORG", "I-ORG"], 1, ["I-ORG without a preceding B-ORG/I-ORG", "or is S-ORG"]),
        ("bioes", ["B-ORG", "E-PER"], 1, ["E-PER follows B-ORG", "continue with I-ORG or end with E-ORG"]),
        ("bioes", ["B-ORG", "O"], 1, ["O follows B-ORG", "end with E-ORG"]),
        ("bioes", ["B-ORG", "B-ORG", "E-ORG"], 1, ["B-ORG follows B-ORG"]),
        ("bioes", ["B-ORG", "I-ORG", "S-ORG"], 2, ["S-ORG follows I-ORG"]),
        ("bioes", ["O", "B-ORG"], 1, ["B-ORG ends the sentence", "closed with E-ORG"]),
        ("bioes", ["B-ORG", "I-ORG"], 1, ["I-ORG ends the sentence"]),
        # not a tag at all, under any scheme
        ("bioes", ["O", "X-FOO"], 1, ["'X-FOO' is not a tag of the form B-/I-/E-/S-TYPE or O"]),
        ("iob2", ["PER"], 0, ["'PER' is not a tag of the form"]),
        ("iob1", ["B-"], 0, ["not a tag of the form"]),
    ],
)
def test_find_violation_names_the_tag_and_what_was_expected(
    scheme: str, tags: list[str], index: int, words: list[str]
) -> None:
    violation = find_violation(tags, scheme)
    assert violation is not None
    assert violation[0] == index
    for expected in words:
        assert expected in violation[1]


@pytest.mark.parametrize(
    ("scheme", "tags"),
    [
        ("iob2", []),
        ("iob2", ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"]),
        ("iob1", ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "B-LOC", "I-LOC"]),
        ("bioes", ["B-PER", "I-PER", "E-PER", "S-LOC", "S-LOC", "O", "B-X", "E-X"]),
        ("none", ["NOUN", "I-PER", "X-FOO"]),
    ],
)
def test_valid_sequences_have_no_violation(scheme: str, tags: list[str]) -> None:
    assert find_violation(tags, scheme) is None


# --- to_spans: conlleval's reading ------------------------------------------------------------------


def test_spans_of_valid_sequences() -> None:
    assert to_spans(["B-PER", "I-PER", "O", "B-LOC", "B-LOC"], "iob2") == [
        ("PER", 0, 2),
        ("LOC", 3, 4),
        ("LOC", 4, 5),
    ]
    assert to_spans(["I-PER", "I-PER", "B-PER", "O", "I-LOC"], "iob1") == [
        ("PER", 0, 2),
        ("PER", 2, 3),
        ("LOC", 4, 5),
    ]
    assert to_spans(["S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"], "bioes") == [
        ("PER", 0, 1),
        ("LOC", 1, 4),
        ("LOC", 4, 5),
    ]
    assert to_spans([], "iob2") == []


def test_spans_of_invalid_sequences_follow_conlleval() -> None:
    # an I- after O (or at the start) opens a span
    assert to_spans(["I-PER", "I-PER", "O", "I-LOC"], "iob2") == [("PER", 0, 2), ("LOC", 3, 4)]
    # a type change in the middle of a span closes one and opens another
    assert to_spans(["B-PER", "I-LOC", "I-LOC"], "iob2") == [("PER", 0, 1), ("LOC", 1, 3)]
    # BIOES slips: E- with nothing open opens a one-token span; an unclosed B- runs to the O
    assert to_spans(["O", "E-ORG", "B-PER", "I-PER", "O"], "bioes") == [("ORG", 1, 2), ("PER", 2, 4)]
    # E- and S- always close their span, whatever follows
    assert to_spans(["B-X", "E-X", "I-X", "S-X", "E-X"], "bioes") == [
        ("X", 0, 2),
        ("X", 2, 3),
        ("X", 3, 4),
        ("X", 4, 5),
    ]


def test_spans_reject_what_is_not_a_tag_and_none_gives_one_token_spans() -> None:
    with pytest.raises(TagSchemeError, match="tag 1: 'X-FOO'") as caught:
        to_spans(["O", "X-FOO"], "iob2")
    assert caught.value.index == 1
    assert to_spans(["NOUN", "O", "NOUN", "NOUN"], "none") == [("NOUN", 0, 1), ("NOUN", 2, 3), ("NOUN", 3, 4)]


# --- convert ----------------------------------------------------------------------------------------

# The same spans written in each scheme.
SAME_SPANS = [
    {
        "iob1": ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-LOC", "O", "I-ORG"],
        "iob2": ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "O", "B-ORG"],
        "bioes": ["B-PER", "E-PER", "O", "S-LOC", "B-LOC", "E-LOC", "O", "S-ORG"],
    },
    {
        "iob1": ["I-MISC", "I-MISC", "I-MISC", "B-MISC", "I-PER", "B-PER"],
        "iob2": ["B-MISC", "I-MISC", "I-MISC", "B-MISC", "B-PER", "B-PER"],
        "bioes": ["B-MISC", "I-MISC", "E-MISC", "S-MISC", "S-PER", "S-PER"],
    },
    {"iob1": ["O", "O"], "iob2": ["O", "O"], "bioes": ["O", "O"]},
    {"iob1": [], "iob2": [], "bioes": []},
]


@pytest.mark.parametrize("example", SAME_SPANS)
@pytest.mark.parametrize(("source", "target"), list(itertools.product(["iob1", "iob2", "bioes"], repeat=2)))
def test_convert_between_every_pair_of_schemes(
    example: dict[str, list[str]], source: str, target: str
) -> None:
    assert convert(example[source], source, target) == example[target]


def test_convert_accepts_aliases_and_leaves_plain_labels_alone() -> None:
    assert convert(["B-PER", "I-PER"], "BIO", "IOBES") == ["B-PER", "E-PER"]
    assert convert(["NOUN", "VERB"], "none", "None") == ["NOUN", "VERB"]
    with pytest.raises(TagSchemeError, match="no spans"):
        convert(["B-PER"], "iob2", "none")


def _random_spans(rng: random.Random, length: int, types: str = "ABC") -> list[tuple[str, int, int]]:
    spans, position = [], 0
    while position < length:
        size = rng.randint(1, 3)
        if rng.random() < 0.6 and position + size <= length:
            spans.append((rng.choice(types), position, position + size))
            position += size
        else:
            position += rng.randint(0, 2)  # 0: the next span touches this one
    return spans


@pytest.mark.parametrize("scheme", ["iob1", "iob2", "bioes"])
def test_random_spans_round_trip_through_every_scheme(scheme: str) -> None:
    rng = random.Random(7)
    for _ in range(300):
        length = rng.randint(0, 12)
        spans = _random_spans(rng, length)
        tags = from_spans(spans, length, scheme)
        assert find_violation(tags, scheme) is None
        assert to_spans(tags, scheme) == spans
        for other in ["iob1", "iob2", "bioes"]:
            assert convert(convert(tags, scheme, other), other, scheme) == tags


def test_convert_refuses_invalid_input_unless_asked_to_repair() -> None:
    tags = ["O", "I-PER", "I-PER", "B-LOC", "I-ORG"]
    with pytest.raises(TagSchemeError, match="tag 1 is not valid IOB2: I-PER follows O") as caught:
        convert(tags, "iob2", "bioes")
    assert caught.value.index == 1
    assert convert(tags, "iob2", "bioes", repair=True) == ["O", "B-PER", "E-PER", "S-LOC", "S-ORG"]
    assert convert(tags, "iob2", "iob2", repair=True) == ["O", "B-PER", "I-PER", "B-LOC", "B-ORG"]
    with pytest.raises(TagSchemeError, match="B-PER ends the sentence"):
        convert(["B-PER"], "bioes", "iob2")
    assert convert(["B-PER"], "bioes", "iob2", repair=True) == ["B-PER"]


def test_from_spans_rejects_spans_that_do_not_fit() -> None:
    with pytest.raises(TagSchemeError, match="overlaps"):
        from_spans([("A", 0, 2), ("B", 1, 3)], 4, "iob2")
    with pytest.raises(TagSchemeError, match="does not fit"):
        from_spans([("A", 3, 5)], 4, "iob2")
    with pytest.raises(TagSchemeError, match="does not fit"):
        from_spans([("A", 2, 2)], 4, "iob2")


# --- allowed_transitions against brute force --------------------------------------------------------


def _scheme_tags(scheme: str) -> list[str]:
    prefixes = {"iob1": "BI", "iob2": "BI", "bioes": "BIES"}[scheme]
    return ["O"] + [f"{prefix}-{type_}" for type_ in ("PER", "LOC") for prefix in prefixes]


def _brute_force(
    labels: list[str], scheme: str, longest: int = 4
) -> tuple[set[str], set[tuple[str, str]], set[str]]:
    """Which labels start / end some valid sequence, and which pairs occur in one, by enumeration."""
    starts, pairs, ends = set(), set(), set()
    for length in range(1, longest + 1):
        for sequence in itertools.product(labels, repeat=length):
            if find_violation(sequence, scheme) is None:
                starts.add(sequence[0])
                ends.add(sequence[-1])
                pairs.update(zip(sequence, sequence[1:], strict=False))
    return starts, pairs, ends


@pytest.mark.parametrize("scheme", ["iob1", "iob2", "bioes"])
def test_allowed_transitions_match_the_valid_sequences(scheme: str) -> None:
    tags = _scheme_tags(scheme)
    starts, pairs, ends = _brute_force(tags, scheme)
    # shuffle and add labels that are not tags: indices must follow the given order
    labels = [*tags, "<pad>", "<unk>"]
    random.Random(scheme).shuffle(labels)
    start, allowed, end = allowed_transitions(labels, scheme)
    assert start.dtype == allowed.dtype == end.dtype == torch.bool
    assert allowed.shape == (len(labels), len(labels))
    free = {"<pad>", "<unk>"}
    for i, first in enumerate(labels):
        assert bool(start[i]) == (first in free or first in starts), first
        assert bool(end[i]) == (first in free or first in ends), first
        for j, second in enumerate(labels):
            expected = first in free or second in free or (first, second) in pairs
            assert bool(allowed[i, j]) == expected, (first, second)


def test_allowed_transitions_spot_checks_and_errors() -> None:
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    start, allowed, end = allowed_transitions(labels, "iob2")
    assert start.tolist() == [True, True, False, True, False]
    assert allowed[1, 2] and allowed[2, 2] and not allowed[0, 2] and not allowed[3, 2]
    assert end.all()
    start, allowed, end = allowed_transitions(labels, "none")
    assert start.all() and allowed.all() and end.all()
    with pytest.raises(TagSchemeError, match="'E-PER' is not used in IOB2"):
        allowed_transitions(["O", "B-PER", "E-PER"], "iob2")
