from __future__ import annotations

import pytest

from babeltag.data.example import Example
from babeltag.data.subsample import sample_labelled
from babeltag.errors import ConfigError


def _examples(n: int) -> list[Example]:
    return [
        Example(
            tokens=[f"w{i}", "x"],
            language="nl",
            task="ner",
            labels=["B-PER", "O"],
            label="pos",
            origin=f"train.conll:{3 * i + 1}",
            meta={"comments": [f"# sent_id = {i}"]},
        )
        for i in range(n)
    ]


def _ids(examples: list[Example]) -> list[str]:
    return [example.tokens[0] for example in examples]


def test_sizes_disjoint_covering_and_in_file_order() -> None:
    examples = _examples(20)
    labelled, unlabelled = sample_labelled(examples, sentences=7)
    assert (len(labelled), len(unlabelled)) == (7, 13)
    assert sorted(_ids(labelled) + _ids(unlabelled), key=lambda w: int(w[1:])) == _ids(examples)
    assert not set(_ids(labelled)) & set(_ids(unlabelled))
    for part in (labelled, unlabelled):
        positions = [int(w[1:]) for w in _ids(part)]
        assert positions == sorted(positions)


def test_rate_rounds_and_keeps_at_least_one() -> None:
    assert len(sample_labelled(_examples(20), rate=0.26)[0]) == 5
    assert len(sample_labelled(_examples(20), rate=0.01)[0]) == 1
    assert len(sample_labelled(_examples(20), rate=1.0)[1]) == 0


def test_labelled_are_the_inputs_and_unlabelled_are_copies_without_labels() -> None:
    examples = _examples(10)
    labelled, unlabelled = sample_labelled(examples, sentences=4)
    assert all(any(example is original for original in examples) for example in labelled)
    for example in unlabelled:
        original = examples[int(example.tokens[0][1:])]
        assert example is not original
        assert example.labels is None and example.label is None
        assert (example.tokens, example.language, example.task, example.origin, example.meta) == (
            original.tokens,
            original.language,
            original.task,
            original.origin,
            original.meta,
        )
    assert all(example.labels == ["B-PER", "O"] and example.label == "pos" for example in examples)


def test_the_seed_decides_the_sample() -> None:
    examples = _examples(50)
    first = _ids(sample_labelled(examples, sentences=10, seed=3)[0])
    assert _ids(sample_labelled(examples, sentences=10, seed=3)[0]) == first
    assert _ids(sample_labelled(examples, sentences=10, seed=4)[0]) != first


def test_neither_keeps_everything() -> None:
    examples = _examples(5)
    labelled, unlabelled = sample_labelled(examples)
    assert labelled == examples and unlabelled == []


def test_errors_name_the_dataset() -> None:
    examples = _examples(100)
    with pytest.raises(
        ConfigError, match="datasets.ner_nl: labelled_sentences is 500 but the training file has 100"
    ):
        sample_labelled(examples, sentences=500, source="datasets.ner_nl")
    with pytest.raises(ConfigError, match="datasets.ner_nl: .*not both"):
        sample_labelled(examples, sentences=5, rate=0.5, source="datasets.ner_nl")
    for rate in (0.0, -0.5, 1.5):
        with pytest.raises(ConfigError, match=r"datasets.ner_nl: labelling_rate must be in \(0, 1\]"):
            sample_labelled(examples, rate=rate, source="datasets.ner_nl")
    with pytest.raises(ConfigError, match="at least 1"):
        sample_labelled(examples, sentences=0)
    with pytest.raises(ConfigError, match="no sentences"):
        sample_labelled([], rate=0.5)
