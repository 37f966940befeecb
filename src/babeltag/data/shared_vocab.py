"""Vocabularies of a multi-dataset run: one table per *group of datasets that share a part*.

Datasets that share a word embedding (e.g. the NER and POS data of one language) share its word
vocabulary; datasets that share a character encoder share its character vocabulary; datasets that
share an output layer share its label set. ``groups`` records, per dataset, which table it uses, so
the saved model knows how to read each dataset again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from babeltag.data.batching import Vocabularies
from babeltag.data.example import Example
from babeltag.data.normalise import Normaliser
from babeltag.data.vocab import Vocabulary
from babeltag.errors import DataError

if TYPE_CHECKING:
    from babeltag.data.subwords import WordPieces

#: The vocabulary tables; each dataset names one table of each.
TABLES = ("words", "chars", "labels")


@dataclass
class SharedVocabularies:
    words: dict[str, Vocabulary]  # by word-embedding group
    chars: dict[str, Vocabulary]  # by character-encoder group
    labels: dict[str, Vocabulary]  # by output-layer group
    groups: dict[str, dict[str, str]]  # dataset -> {"words": group, "chars": group, "labels": group}
    pieces: WordPieces | None = None  # the one subword tokenizer of a shared subword encoder (not in JSON)

    def of(self, dataset: str) -> Vocabularies:
        """The three tables one dataset is read with."""
        group = self.groups[dataset]
        return Vocabularies(
            words=self.words[group["words"]],
            chars=self.chars[group["chars"]],
            labels=self.labels[group["labels"]],
            pieces=self.pieces,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "groups": self.groups,
            **{table: {k: v.to_json() for k, v in getattr(self, table).items()} for table in TABLES},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SharedVocabularies:
        tables = {
            table: {key: Vocabulary.from_json(value) for key, value in data[table].items()}
            for table in TABLES
        }
        return cls(
            words=tables["words"],
            chars=tables["chars"],
            labels=tables["labels"],
            groups={k: dict(v) for k, v in data["groups"].items()},
        )


def build_shared_vocabularies(
    train: Mapping[str, Sequence[Example]],
    groups: Mapping[str, Mapping[str, str]],
    normalisers: Mapping[str, Normaliser],
    min_count: int = 1,
    max_size: int | None = None,
    pretrained_words: Mapping[str, Sequence[str]] | None = None,
    sources: Mapping[str, str] | None = None,
    unlabelled_ok: Collection[str] = (),
) -> SharedVocabularies:
    """Count each group's symbols over the training data of all its datasets.

    ``pretrained_words[group]`` are added to that word group (a word with a pretrained vector keeps
    it even when training never saw it). ``sources[dataset]`` names the file for error messages.
    ``normalisers[dataset]`` reads that dataset's tokens (one may transliterate, another not).
    """
    word_counts: dict[str, Counter[str]] = {}
    char_counts: dict[str, Counter[str]] = {}
    label_sets: dict[str, set[str]] = {}
    for dataset, examples in train.items():
        group = groups[dataset]
        words = word_counts.setdefault(group["words"], Counter())
        chars = char_counts.setdefault(group["chars"], Counter())
        labels = label_sets.setdefault(group["labels"], set())
        found = len(labels)
        normaliser = normalisers[dataset]
        for example in examples:
            words.update(normaliser.word(t) for t in example.tokens)
            chars.update(c for t in example.tokens for c in normaliser.chars(t))
            if example.labels is not None:
                labels.update(example.labels)
            elif example.label is not None:
                labels.add(example.label)
        unlabelled = len(labels) == found and not any(e.labels or e.label for e in examples)
        if unlabelled and dataset not in unlabelled_ok:
            raise DataError((sources or {}).get(dataset, dataset), None, "the training data has no labels")
    for dataset, group in groups.items():  # a dataset without labels takes its group's label set
        if not label_sets.get(group["labels"]):
            raise DataError(
                (sources or {}).get(dataset, dataset),
                None,
                f"no dataset sharing its output layer ({group['labels']!r}) has labelled sentences, so "
                "there are no labels to predict",
            )
    word_tables = {
        key: Vocabulary.from_counts(counts, min_count, max_size) for key, counts in word_counts.items()
    }
    for key, extra in (pretrained_words or {}).items():
        if key in word_tables:
            for word in extra:
                word_tables[key].add(word)
    return SharedVocabularies(
        words=word_tables,
        chars={key: Vocabulary.from_counts(counts) for key, counts in char_counts.items()},
        labels={key: Vocabulary.of_labels(labels) for key, labels in label_sets.items()},
        groups={dataset: dict(group) for dataset, group in groups.items()},
    )
