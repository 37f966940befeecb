"""From a dataset's config to checked examples and vocabularies.

files on disk --reader--> Examples --tag-scheme check--> (converted to the training scheme)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from babeltag.config import DatasetConfig, ExperimentConfig
from babeltag.data import readers, tag_schemes
from babeltag.data.batching import Vocabularies
from babeltag.data.example import Example
from babeltag.data.normalise import Normaliser
from babeltag.data.vocab import Vocabulary
from babeltag.errors import ConfigError, DataError


def resolve_path(path: str, data_dir: str | Path | None) -> Path:
    """Relative dataset paths are read from ``data_dir`` (``--data-dir``), absolute ones as they are."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute() or data_dir is None:
        return candidate
    return Path(data_dir).expanduser() / candidate


def read_file(config: DatasetConfig, path: Path, labelled: bool = True) -> list[Example]:
    """Read one file of the dataset with the reader and columns its config names."""
    if config.format == "conllu":
        return readers.read_conllu(
            path,
            config.language,
            config.task,
            label_field=config.label_field if labelled else "none",
            encoding=config.encoding,
        )
    if config.format == "conll":
        return readers.read_conll(
            path,
            config.language,
            config.task,
            token_column=config.token_column,
            label_column=config.label_column if labelled else None,
            separator=config.separator,
            encoding=config.encoding,
            token_prefix=config.token_prefix,
        )
    return readers.read_classification(
        path,
        config.language,
        config.task,
        label_column=config.class_column,
        text_column=config.text_column,
        delimiter=config.delimiter,
        has_header=config.has_header,
        encoding=config.encoding,
    )


def check_tags(examples: Sequence[Example], scheme: str, repair: bool, path: Path) -> int:
    """Check every tag sequence against the scheme; returns how many sentences needed repair.

    An invalid sequence is an error naming the file and line, unless ``repair`` is set, in which
    case it is read the way conlleval reads it (an I- after O starts an entity) and counted.
    """
    if scheme == "none":
        return 0
    repaired = 0
    for example in examples:
        if example.labels is None:
            continue
        violation = tag_schemes.find_violation(example.labels, scheme)
        if violation is None:
            continue
        if not repair:
            index, reason = violation
            lines = example.meta.get("token_lines")
            line = lines[index] if isinstance(lines, list) else None
            raise DataError(
                path,
                line,
                f"invalid {scheme.upper()} tag sequence: {reason} "
                "(set the dataset's `repair_tags: true` to read it as conlleval does)",
            )
        repaired += 1
        example.labels = tag_schemes.convert(example.labels, scheme, scheme, repair=True)
    return repaired


def read_split(config: DatasetConfig, split: str, data_dir: str | Path | None) -> list[Example]:
    """Read the ``train``/``dev``/``test`` file of a dataset, checked against its tag scheme."""
    relative = getattr(config, split)
    if relative is None:
        raise ConfigError(f"data.{split}: no file given for the {split} split")
    path = resolve_path(relative, data_dir)
    if not path.is_file():
        hint = "" if data_dir else " (relative paths are read from --data-dir)"
        raise DataError(path, None, f"{split} file not found{hint}")
    examples = read_file(config, path)
    if not examples:
        raise DataError(path, None, f"no sentences found in the {split} file")
    check_tags(examples, config.tag_scheme, config.repair_tags, path)
    if split == "train" and config.max_train_sentences is not None:
        examples = examples[: config.max_train_sentences]
    return examples


def to_scheme(examples: Sequence[Example], source: str, target: str) -> list[Example]:
    """Copies of ``examples`` with tags converted from ``source`` to ``target`` scheme (e.g. to BIOES)."""
    if target in ("same", source) or source == "none":
        return list(examples)
    converted = []
    for example in examples:
        labels = None if example.labels is None else tag_schemes.convert(example.labels, source, target)
        converted.append(
            Example(
                example.tokens,
                example.language,
                example.task,
                labels,
                example.label,
                example.origin,
                example.meta,
            )
        )
    return converted


def build_vocabularies(
    train: Sequence[Example], config: ExperimentConfig, pretrained_words: Sequence[str] = ()
) -> Vocabularies:
    """Words (min count, plus the pretrained file's words), characters and labels from training data."""
    normaliser = normaliser_of(config)
    word_counts: Counter[str] = Counter(normaliser.word(t) for e in train for t in e.tokens)
    words = Vocabulary.from_counts(word_counts, config.vocab.min_count, config.vocab.max_size)
    for word in pretrained_words:  # union: a test word with a pretrained vector keeps it
        words.add(word)
    char_counts: Counter[str] = Counter(c for e in train for t in e.tokens for c in normaliser.chars(t))
    chars = Vocabulary.from_counts(char_counts)
    if config.data.kind == "classification":
        labels = Vocabulary.of_labels(e.label for e in train if e.label is not None)
    else:
        labels = Vocabulary.of_labels(t for e in train if e.labels is not None for t in e.labels)
    if len(labels) == 0:
        raise DataError(config.data.train, None, "the training file has no labels")
    return Vocabularies(words=words, chars=chars, labels=labels)


def normaliser_of(config: ExperimentConfig) -> Normaliser:
    n = config.normalise
    return Normaliser(
        n.digits_to_zero, n.lowercase_words, n.lowercase_chars, n.max_word_chars, config.data.transliterate
    )
