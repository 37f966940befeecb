"""Training word vectors on a corpus with gensim: skip-gram (Mikolov et al., 2013) or fastText
skip-gram with character n-grams (Bojanowski et al., 2017).

The corpus is an iterable of sentences, each a list of tokens. It can come from raw text or from any
corpus babeltag reads (:func:`sentences_from_files`), and several languages can be mixed into one
corpus to train a single space for related languages (:func:`mix_corpora`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from babeltag.data.io import read_lines
from babeltag.data.readers import read_conll, read_conllu
from babeltag.embeddings.vectors import WordVectors
from babeltag.errors import ConfigError

METHODS = ("skipgram", "fasttext")
FORMATS = ("text", "conllu", "conll")


def train_embeddings(
    sentences: Iterable[list[str]],
    dim: int = 100,
    method: str = "skipgram",
    window: int = 5,
    min_count: int = 1,
    epochs: int = 5,
    seed: int = 1,
    workers: int = 1,
    sample: float = 1e-3,
) -> WordVectors:
    """Train ``dim``-dimensional vectors with skip-gram and negative sampling (``method="skipgram"``,
    gensim ``Word2Vec(sg=1)``) or its fastText variant, where a word is the sum of its character
    n-gram vectors (``method="fasttext"``, gensim ``FastText(sg=1)``, n-grams of 3 to 6 characters).

    Words are returned most frequent first, as in the ``.vec`` files of word2vec and fastText (the
    alignment methods in :mod:`babeltag.embeddings.align` rely on that order). A run is repeatable
    only with ``workers=1``: several worker threads see the sentences in an order that varies.

    ``sample`` is the threshold of Mikolov et al. (2013)'s downsampling of frequent words: a word of
    relative frequency ``f`` is kept with probability about ``sqrt(sample / f)``. On a corpus of a
    few thousand tokens every word is "frequent"; ``sample=0`` keeps them all.

    ``sentences`` is read ``epochs + 1`` times (once to count words); a one-shot iterator is first
    turned into a list, anything else (a list, :class:`SentenceFiles`) is read again each time.
    """
    if method not in METHODS:
        raise ConfigError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    for name, value in (("dim", dim), ("window", window), ("min_count", min_count), ("epochs", epochs)):
        if value < 1:
            raise ConfigError(f"{name} must be at least 1, not {value}")
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, not {workers}")
    corpus = list(sentences) if iter(sentences) is sentences else sentences

    from gensim.models import FastText, Word2Vec  # gensim is slow to import; only training needs it

    model_class = Word2Vec if method == "skipgram" else FastText
    model = model_class(
        vector_size=dim, window=window, min_count=min_count, sg=1, seed=seed, workers=workers, sample=sample
    )
    model.build_vocab(corpus)
    if len(model.wv) == 0:
        raise ConfigError(f"no word occurs at least min_count={min_count} times in the training sentences")
    model.train(corpus, total_examples=model.corpus_count, epochs=epochs)
    return WordVectors(list(model.wv.index_to_key), np.array(model.wv.vectors, dtype=np.float32))


# ---------------------------------------------------------------------------------------------------
# Corpora
# ---------------------------------------------------------------------------------------------------


@dataclass
class SentenceFiles:
    """The sentences of some files, read afresh each time they are iterated (so that gensim's several
    passes over a large corpus need not hold it in memory). Made by :func:`sentences_from_files`."""

    paths: list[Path]
    format: str = "text"
    options: dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[list[str]]:
        for path in self.paths:
            if self.format == "text":
                # Raw text is streamed line by line; the reader for ``text`` would build an Example per
                # line first, which is a waste on a Wikipedia dump.
                for _, line in read_lines(path, self.options.get("encoding", "utf-8")):
                    tokens = line.split()
                    if tokens:
                        yield tokens
            elif self.format == "conllu":
                for example in read_conllu(path, "und", "embeddings", label_field="none", **self.options):
                    yield example.tokens
            else:
                for example in read_conll(path, "und", "embeddings", label_column=None, **self.options):
                    yield example.tokens


def sentences_from_files(
    paths: str | Path | Sequence[str | Path], format: str = "text", **options: Any
) -> SentenceFiles:
    """The sentences of one or more files, as lists of tokens.

    ``format`` is ``"text"`` (one sentence per line, tokens split at whitespace, blank lines skipped:
    the format of raw corpora such as Wikipedia dumps), ``"conllu"`` (the FORM of every syntactic
    word) or ``"conll"`` (the token column of a CoNLL column file). ``.gz`` files are read
    transparently. ``options`` go to the reader: ``encoding`` for every format, ``token_column`` or
    ``separator`` for ``conll`` (see :func:`babeltag.data.readers.read_conll`).

    Nothing is read until the result is iterated; a missing file or an unknown format is reported
    at once, before hours of training are spent on the other files.
    """
    if format not in FORMATS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    if format == "text" and set(options) - {"encoding"}:
        raise ConfigError(f"format 'text' takes only the option 'encoding', not {sorted(set(options))}")
    path_list = [Path(paths)] if isinstance(paths, str | Path) else [Path(path) for path in paths]
    for path in path_list:
        if not path.is_file():
            raise ConfigError(f"{path}: file not found")
    return SentenceFiles(path_list, format, dict(options))


def mix_corpora(
    corpora: dict[str, list[list[str]]],
    prefix: bool = False,
    seed: int | None = 1,
) -> list[list[str]]:
    """One training corpus made of the sentences of several languages, to train one embedding space
    for related languages on their mixed text (cf. Lin et al., 2018, who share word-level parts
    between related languages).

    Without ``prefix`` a string that two languages share (names, numbers, cognates, loanwords) is one
    word with one vector, trained on the contexts of both languages; these shared words are what
    pulls the two languages' vectors into one space. Their price: a false friend (Dutch "room" is
    cream) gets one vector for two meanings.

    With ``prefix`` every token becomes ``"<language>:<token>"`` (``"nl:huis"``): every word has its
    own vector, and :func:`split_by_prefix` separates the vocabularies afterwards. What then ties the
    languages together is only fastText's character n-grams (``method="fasttext"``): ``nl:huis``
    and ``af:huis`` share ``hui``, ``uis``, ``huis>``, ... With plain skip-gram the prefixed languages
    share nothing and come out as unrelated spaces, to be aligned with :mod:`babeltag.embeddings.align`.

    The sentences are shuffled with ``seed`` (``None`` keeps them in order, language after language):
    the learning rate of word2vec decays linearly over the corpus, so the language that came last
    would otherwise be trained with the smallest steps.
    """
    mixed = [
        [f"{language}:{token}" for token in sentence] if prefix else list(sentence)
        for language, sentences in corpora.items()
        for sentence in sentences
    ]
    if seed is not None:
        order = np.random.default_rng(seed).permutation(len(mixed))
        mixed = [mixed[i] for i in order]
    return mixed


def split_by_prefix(vectors: WordVectors) -> dict[str, WordVectors]:
    """Undo the prefixes of :func:`mix_corpora`: ``{"nl": vectors of "nl:..." words without "nl:"}``.
    Words without a ``language:`` prefix are left out."""
    rows: dict[str, list[int]] = {}
    for index, word in enumerate(vectors.words):
        language, separator, rest = word.partition(":")
        if separator and language and rest:
            rows.setdefault(language, []).append(index)
    return {
        language: WordVectors([vectors.words[i].partition(":")[2] for i in indices], vectors.vectors[indices])
        for language, indices in rows.items()
    }
