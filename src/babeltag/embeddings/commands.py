"""``babeltag embeddings train | align | evaluate``: the steps from raw text to aligned ``.vec`` files.

    text files ─ train ─> lang.vec ─┐
    text files ─ train ─> en.vec ───┴─ align ─> lang.aligned.vec + en.aligned.vec ─ evaluate (BLI P@k)

Every command writes ``.vec`` files that any tagger config can point to (``word_vectors:`` per
language, or ``model.word_embedding.pretrained``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from babeltag.embeddings.align import AdversarialSettings, learn_map, normalise
from babeltag.embeddings.evaluate import bli_precision, read_dictionary, split_dictionary
from babeltag.embeddings.train import FORMATS, sentences_from_files, train_embeddings
from babeltag.embeddings.transliterate import transliterate_vectors
from babeltag.embeddings.vectors import WordVectors, read_vectors, write_vec
from babeltag.errors import ConfigError


class Corpora:
    """Several corpora read one after the other, afresh on every pass (gensim makes several)."""

    def __init__(self, parts: Sequence[Iterable[list[str]]]) -> None:
        self.parts = parts

    def __iter__(self) -> Iterator[list[str]]:
        for part in self.parts:
            yield from part


def train_command(
    inputs: Sequence[str],
    out: str,
    file_format: str = "text",
    dim: int = 100,
    method: str = "skipgram",
    epochs: int = 5,
    min_count: int = 1,
    window: int = 5,
    seed: int = 1,
    token_column: int | None = None,
) -> dict[str, Any]:
    """Train monolingual vectors on the text of ``inputs`` (raw text or any corpus babeltag reads)."""
    by_format: dict[str, list[str]] = {}
    for item in inputs:  # FORMAT:PATH overrides --format for one file (e.g. conllu:ud/en/train.conllu)
        prefix, colon, rest = item.partition(":")
        chosen, path = (prefix, rest) if colon and prefix in FORMATS else (file_format, item)
        by_format.setdefault(chosen, []).append(path)
    if token_column is not None and set(by_format) != {"conll"}:
        raise ConfigError("--token-column applies to conll files only")
    options: dict[str, Any] = {} if token_column is None else {"token_column": token_column}
    sentences = Corpora([sentences_from_files(paths, f, **options) for f, paths in by_format.items()])
    start = time.perf_counter()
    vectors = train_embeddings(
        sentences, dim=dim, method=method, window=window, min_count=min_count, epochs=epochs, seed=seed
    )
    write_vec(vectors, out)
    return {
        "out": out,
        "words": len(vectors.words),
        "dim": vectors.dim,
        "method": method,
        "seconds": round(time.perf_counter() - start, 1),
    }


def split_command(
    dictionary: str, train_out: str, test_out: str, test_size: int, seed: int
) -> dict[str, Any]:
    """Split a bilingual dictionary into disjoint train / test source words (seeded)."""
    pairs = read_dictionary(dictionary)
    train, test = split_dictionary(pairs, test_size=test_size, seed=seed)
    for path, part in ((train_out, train), (test_out, test)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text("".join(f"{s} {t}\n" for s, t in part), encoding="utf-8")
    return {"train_pairs": len(train), "test_pairs": len(test), "test_source_words": test_size}


def align_command(
    source: str,
    target: str,
    out: str,
    target_out: str | None = None,
    method: str = "identical",
    dictionary: str | None = None,
    refine_iterations: int = 5,
    normalisation: Sequence[str] = ("unit", "center", "unit"),
    max_words: int | None = None,
    transliterate: str | None = None,
    seed: int = 1,
    adversarial: AdversarialSettings | None = None,
) -> dict[str, Any]:
    """Map ``source`` into the space of ``target``. Both are normalised the same way first, so the
    mapped source and the normalised target (``target_out``) are what belong together."""
    src = read_vectors(source, max_words=max_words)
    tgt = read_vectors(target, max_words=max_words)
    if transliterate:
        src = transliterate_vectors(src, transliterate)
    src = WordVectors(src.words, normalise(src.vectors, normalisation))
    tgt = WordVectors(tgt.words, normalise(tgt.vectors, normalisation))
    pairs = read_dictionary(dictionary) if dictionary else None
    start = time.perf_counter()
    W = learn_map(
        src,
        tgt,
        method,
        pairs,
        refine_iterations,
        adversarial=adversarial,
        seed=seed,
        names=(Path(source).name, Path(target).name),
    )
    write_vec(WordVectors(src.words, (src.vectors @ W.T).astype(np.float32)), out)
    if target_out:
        write_vec(tgt, target_out)
    return {
        "out": out,
        "target_out": target_out,
        "method": method,
        "seconds": round(time.perf_counter() - start, 1),
    }


def evaluate_command(
    source: str, target: str, dictionary: str, max_words: int | None = None, csls_k: int = 10
) -> dict[str, Any]:
    """Bilingual lexicon induction precision@1/5/10, by nearest neighbour and by CSLS."""
    src = read_vectors(source, max_words=max_words)
    tgt = read_vectors(target, max_words=max_words)
    pairs = read_dictionary(dictionary)
    result: dict[str, Any] = {"source": source, "target": target, "dictionary": dictionary}
    for method in ("nn", "csls"):
        result[method] = bli_precision(src, tgt, pairs, method=method, csls_k=csls_k)
    return result
