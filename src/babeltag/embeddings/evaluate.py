"""Bilingual lexicon induction (BLI): how often the nearest target words of a mapped source word
include one of its translations, the standard intrinsic test of cross-lingual embeddings
(Mikolov et al., 2013; Conneau et al., 2018).

Dictionaries are in the MUSE format: one ``source target`` pair per line; a source word with several
translations has several lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from babeltag.data.io import read_lines
from babeltag.embeddings.align import nearest
from babeltag.embeddings.vectors import WordVectors, word_index
from babeltag.errors import ConfigError, DataError


def read_dictionary(path: str | Path, encoding: str = "utf-8") -> list[tuple[str, str]]:
    """Read ``source target`` pairs, one per line, separated by a tab or spaces (MUSE's files use
    both). Blank lines are skipped; ``.gz`` files are read transparently."""
    pairs = []
    for number, line in read_lines(path, encoding):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2:
            raise DataError(
                path,
                number,
                f"expected a source word and a target word separated by whitespace, found {len(fields)} fields",
            )
        pairs.append((fields[0], fields[1]))
    return pairs


def split_dictionary(
    pairs: Sequence[tuple[str, str]],
    test_fraction: float | None = None,
    test_size: int | None = None,
    seed: int = 1,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Split ``pairs`` into ``(train, test)`` by **source word**: all translations of a source word
    fall on the same side, so no test word was seen in training under another translation.

    Give either ``test_fraction`` (of the distinct source words) or ``test_size`` (a number of source
    words; MUSE's test dictionaries have 1,500). The source words are shuffled with ``seed``; each
    side keeps the order of ``pairs``.
    """
    if (test_fraction is None) == (test_size is None):
        raise ConfigError("give exactly one of test_fraction and test_size")
    sources = list(dict.fromkeys(source for source, _ in pairs))
    if test_fraction is not None:
        if not 0 <= test_fraction <= 1:
            raise ConfigError(f"test_fraction must be between 0 and 1, not {test_fraction}")
        test_size = round(test_fraction * len(sources))
    assert test_size is not None
    if not 0 <= test_size <= len(sources):
        raise ConfigError(
            f"test_size must be between 0 and {len(sources)} (the source words), not {test_size}"
        )
    order = np.random.default_rng(seed).permutation(len(sources))
    test_sources = {sources[i] for i in order[:test_size]}
    train = [pair for pair in pairs if pair[0] not in test_sources]
    test = [pair for pair in pairs if pair[0] in test_sources]
    return train, test


def bli_precision(
    mapped_src: WordVectors,
    tgt: WordVectors,
    test_pairs: Iterable[tuple[str, str]],
    ks: Sequence[int] = (1, 5, 10),
    method: str = "nn",
    csls_k: int = 10,
) -> dict[str, float]:
    """Precision at ``k`` of word translation by nearest neighbour (``method="nn"``, cosine) or by
    CSLS (``"csls"``), for each ``k`` in ``ks``:

        P@k = |{x : some gold translation of x is among the k best targets of x}| / |{x}|

    over the source words ``x`` of ``test_pairs`` that are in ``mapped_src`` and have at least one
    translation in ``tgt`` (translations missing from ``tgt`` are dropped, as in MUSE).

    Returns ``{"p@1": ..., "p@5": ..., "covered": source words evaluated, "source_words": distinct
    source words in test_pairs, "coverage": their ratio}``. Precisions are fractions in [0, 1].
    """
    source_index, target_index = word_index(mapped_src.words), word_index(tgt.words)
    gold: dict[int, set[int]] = {}
    all_sources = set()
    for source, target in test_pairs:
        all_sources.add(source)
        if source in source_index and target in target_index:
            gold.setdefault(source_index[source], set()).add(target_index[target])
    if not gold:
        raise ConfigError(
            f"none of the {len(all_sources)} test source words is in the source vocabulary with a "
            "translation in the target vocabulary"
        )
    rows = np.fromiter(gold, dtype=np.int64)
    best = nearest(mapped_src.vectors, tgt.vectors, method, k=max(ks), csls_k=csls_k, rows=rows)
    # rank of the first correct translation in each row's list (max(ks) when there is none)
    first_hit = np.array(
        [
            next((r for r, j in enumerate(row) if j in gold[i]), len(row))
            for i, row in zip(rows, best, strict=True)
        ]
    )
    result: dict[str, float] = {f"p@{k}": float(np.mean(first_hit < k)) for k in ks}
    result["covered"] = len(gold)
    result["source_words"] = len(all_sources)
    result["coverage"] = len(gold) / len(all_sources)
    return result
