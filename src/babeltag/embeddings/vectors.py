"""Reading word vectors in word2vec/fastText text format (``.vec``, optionally gzipped).

Only the rows a model needs are kept (``keep``), or the first ``max_words``: a 2-million-word
file need not be held in memory to initialise a 20,000-word vocabulary.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from babeltag.data.io import read_lines
from babeltag.errors import DataError


@dataclass
class WordVectors:
    words: list[str]
    vectors: np.ndarray  # [len(words), dim] float32

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


def read_vec(
    path: str | Path,
    keep: Container[str] | None = None,
    max_words: int | None = None,
    encoding: str = "utf-8",
) -> WordVectors:
    """Read a ``.vec`` file with or without the ``count dim`` header line.

    Every row must have the same dimension as the header (or the first row): a mismatch names the
    line, since a file cut mid-write or with spaces inside words is the usual cause.
    """
    words: list[str] = []
    rows: list[np.ndarray] = []
    dim: int | None = None
    seen: set[str] = set()
    for line_number, line in read_lines(path, encoding):
        parts = line.rstrip().split(" ")
        if line_number == 1 and len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            dim = int(parts[1])
            continue
        if not line.strip():
            continue
        if dim is None:
            dim = len(parts) - 1
            if dim < 1:
                raise DataError(path, line_number, "expected a word followed by its vector components")
        if len(parts) != dim + 1:
            raise DataError(
                path, line_number, f"expected a word and {dim} numbers, found {len(parts) - 1} numbers"
            )
        word = parts[0]
        if word in seen or (keep is not None and word not in keep):
            continue
        try:
            rows.append(np.asarray(parts[1:], dtype=np.float32))
        except ValueError:
            raise DataError(path, line_number, "vector components must be numbers") from None
        words.append(word)
        seen.add(word)
        if max_words is not None and len(words) >= max_words:
            break
    if dim is None:
        raise DataError(path, None, "no vectors found")
    vectors = np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32)
    return WordVectors(words, vectors)
