from collections import Counter

import numpy as np
import torch

from babeltag.data.batching import TensorDataset, Vocabularies, bucketed_batches, iterate_batches
from babeltag.data.example import Example
from babeltag.data.normalise import Normaliser
from babeltag.data.vocab import Vocabulary


def _vocabularies(examples: list[Example]) -> Vocabularies:
    words = Vocabulary.from_counts(Counter(t for e in examples for t in e.tokens))
    chars = Vocabulary.from_counts(Counter(c for e in examples for t in e.tokens for c in t))
    labels = Vocabulary.of_labels(t for e in examples for t in e.labels or [])
    return Vocabularies(words, chars, labels)


EXAMPLES = [
    Example(["the", "cat", "sat"], "en", "upos", ["DET", "NOUN", "VERB"]),
    Example(["the", "dog"], "en", "upos", ["DET", "NOUN"]),
    Example(
        ["a", "cat", "and", "the", "dog", "ran"],
        "en",
        "upos",
        ["DET", "NOUN", "CCONJ", "DET", "NOUN", "VERB"],
    ),
]


def test_batch_pads_masks_and_encodes_unique_words_once() -> None:
    vocabularies = _vocabularies(EXAMPLES)
    dataset = TensorDataset(EXAMPLES, vocabularies, Normaliser(), "token")
    batch = dataset.batch([0, 1, 2])
    assert batch.word_ids.shape == (3, 6)
    assert batch.mask.sum(1).tolist() == [3, 2, 6]
    assert not batch.mask[1, 2:].any()
    # unique words: the, cat, sat, dog, a, and, ran + the padding row
    assert batch.char_ids.shape[0] == 7 + 1
    chars = vocabularies.chars
    for row, example in enumerate(EXAMPLES):
        for position, token in enumerate(example.tokens):
            unique_row = batch.word_types[row, position]
            n = int(batch.char_lengths[unique_row])
            spelled = "".join(chars.itos[i] for i in batch.char_ids[unique_row, :n].tolist())
            assert spelled == token
            assert vocabularies.words.itos[int(batch.word_ids[row, position])] == token
    assert (batch.word_types[~batch.mask] == 0).all()
    labels = vocabularies.labels
    assert [labels.itos[i] for i in batch.label_ids[2].tolist()] == EXAMPLES[2].labels  # type: ignore[index]


def test_unknown_words_map_to_unk_and_normaliser_applies() -> None:
    vocabularies = _vocabularies([Example(["year", "0000"], "en", "x", ["A", "B"])])
    dataset = TensorDataset(
        [Example(["1987", "zebra"], "en", "x")], vocabularies, Normaliser(digits_to_zero=True), None
    )
    batch = dataset.batch([0])
    assert batch.word_ids[0].tolist() == [vocabularies.words.id("0000"), vocabularies.words.unk_id]
    assert batch.label_ids is None


def test_bucketing_covers_every_sentence_once_and_groups_lengths() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 60, size=1000)
    batches = bucketed_batches(lengths, 32, np.random.default_rng(1), pool_batches=10)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    spread = np.mean([lengths[b].max() - lengths[b].min() for b in batches])
    random_spread = np.mean(
        [lengths[b].max() - lengths[b].min() for b in np.array_split(np.arange(1000), 32)]
    )
    assert spread < random_spread / 3
    # seeded: the same generator seed gives the same batches, another seed another order
    assert batches == bucketed_batches(lengths, 32, np.random.default_rng(1), pool_batches=10)
    assert batches != bucketed_batches(lengths, 32, np.random.default_rng(2), pool_batches=10)


def test_evaluation_batches_are_sorted_and_restore_order() -> None:
    vocabularies = _vocabularies(EXAMPLES)
    dataset = TensorDataset(EXAMPLES, vocabularies, Normaliser(), "token")
    seen = []
    for batch in iterate_batches(dataset, 2):
        seen.extend(batch.indices)
        assert torch.equal(batch.lengths, torch.tensor([len(EXAMPLES[i]) for i in batch.indices]))
    assert sorted(seen) == [0, 1, 2]
    assert seen[0] == 1  # the shortest first
