"""Reading and writing word vectors: word2vec/fastText text (``.vec``) and word2vec binary (``.bin``).

Only the rows a model needs are kept (``keep``), or the first ``max_words``: a 2-million-word
file need not be held in memory to initialise a 20,000-word vocabulary. Files may be gzipped.

Both formats start with a ``count dim`` header (optional in text files) and hold one word per row,
most frequent first. The first row of a duplicated word is kept, as gensim and fastText do.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from babeltag.data.io import open_binary, read_lines
from babeltag.errors import DataError


@dataclass
class WordVectors:
    words: list[str]
    vectors: np.ndarray  # [len(words), dim] float32

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


def word_index(words: Iterable[str]) -> dict[str, int]:
    """word -> its row (the first one, should a word be listed twice)."""
    index: dict[str, int] = {}
    for i, word in enumerate(words):
        index.setdefault(word, i)
    return index


def read_vectors(
    path: str | Path,
    keep: Container[str] | None = None,
    max_words: int | None = None,
    encoding: str = "utf-8",
) -> WordVectors:
    """Read word vectors in the format the name says: ``*.bin[.gz]`` is word2vec binary, anything
    else is text (:func:`read_vec`)."""
    suffixes = Path(path).suffixes
    if suffixes[-1:] == [".bin"] or suffixes[-2:] == [".bin", ".gz"]:
        return read_word2vec_binary(path, keep=keep, max_words=max_words, encoding=encoding)
    return read_vec(path, keep=keep, max_words=max_words, encoding=encoding)


# ---------------------------------------------------------------------------------------------------
# Text format
# ---------------------------------------------------------------------------------------------------


def read_vec(
    path: str | Path,
    keep: Container[str] | None = None,
    max_words: int | None = None,
    encoding: str = "utf-8",
) -> WordVectors:
    """Read a ``.vec`` file with or without the ``count dim`` header line.

    A first line of exactly two whole numbers is the header (a 1-dimensional vector of a numeric
    word is not worth the ambiguity). Every row must have the dimension of the header, or else of the
    first row: a mismatch names the line, since a file cut mid-write or with spaces inside words is
    the usual cause. Every row is checked, also those not kept.
    """
    words: list[str] = []
    # rows go straight into one float32 matrix (grown by doubling, or sized from the header), not a
    # list of small arrays stacked at the end: that held every row twice at the peak
    matrix = np.empty((0, 0), dtype=np.float32)
    declared_count: int | None = None
    dim: int | None = None
    dim_from = ""  # where the expected dimension came from, for error messages
    seen: set[str] = set()
    for line_number, line in read_lines(path, encoding):
        # fastText ends each row with a space before the newline; words never contain spaces.
        parts = line.rstrip().split(" ")
        if line_number == 1 and len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
            declared_count, dim = int(parts[0]), int(parts[1])
            if dim < 1:
                raise DataError(path, 1, f"expected a 'count dim' header with dim >= 1, found {line!r}")
            dim_from = "as declared by the 'count dim' header on line 1"
            continue
        if not line.strip():
            continue
        if dim is None:
            dim = len(parts) - 1
            if dim < 1:
                raise DataError(path, line_number, "expected a word followed by its vector components")
            dim_from = f"as on line {line_number}"
            if line_number == 1 and dim == 1:
                dim_from += "; a 'count dim' header must be two whole numbers"
        if len(parts) != dim + 1:
            raise DataError(
                path,
                line_number,
                f"expected a word and {dim} numbers, found {len(parts) - 1} numbers ({dim_from})",
            )
        word = parts[0]
        if word in seen or (keep is not None and word not in keep):
            continue
        if len(words) == len(matrix):
            matrix = _grown(matrix, dim, declared_count if keep is None else None, max_words)
        try:
            matrix[len(words)] = np.asarray(parts[1:], dtype=np.float32)
        except ValueError:
            hint = "; a 'count dim' header must be two whole numbers" if line_number == 1 and dim == 1 else ""
            raise DataError(path, line_number, f"vector components must be numbers{hint}") from None
        words.append(word)
        seen.add(word)
        if max_words is not None and len(words) >= max_words:
            break
    if dim is None:
        raise DataError(path, None, "no vectors found")
    vectors = matrix[: len(words)] if len(words) == len(matrix) else matrix[: len(words)].copy()
    return WordVectors(words, vectors.reshape(len(words), dim))


def _grown(matrix: np.ndarray, dim: int, expected: int | None, cap: int | None) -> np.ndarray:
    """A larger row buffer with the rows of ``matrix``: the expected row count when it is known
    (header, no ``keep`` filter), otherwise double the size; never more than ``cap`` rows."""
    rows = expected if expected and expected > len(matrix) else max(1024, 2 * len(matrix))
    if cap is not None:
        rows = min(rows, cap)
    grown = np.empty((rows, dim), dtype=np.float32)
    if len(matrix):
        grown[: len(matrix)] = matrix
    return grown


def write_vec(vectors: WordVectors, path: str | Path, digits: int = 9) -> None:
    """Write ``vectors`` as a ``.vec`` text file with a ``count dim`` header (gzipped if the name ends
    in ``.gz``).

    The file appears whole or not at all: it is written to a temporary file in the same folder and
    renamed over ``path``, so an interrupted run never leaves a truncated file that a later run would
    read. ``digits=9`` significant digits bring every float32 back bit for bit.
    """
    path = Path(path)
    if vectors.vectors.ndim != 2 or len(vectors.vectors) != len(vectors.words):
        raise ValueError(f"{len(vectors.words)} words but a vectors array of shape {vectors.vectors.shape}")
    for word in vectors.words:
        # Readers split rows at " " and lines at "\n"; other spaces (e.g. U+00A0) are fine in a word.
        if not word or " " in word or "\n" in word:
            raise DataError(
                path,
                None,
                f"cannot write the word {word!r}: a .vec word must be non-empty, without ' ' or newline",
            )
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as raw:
            if path.suffix == ".gz":
                with gzip.GzipFile(filename=path.name, fileobj=raw, mode="wb") as compressed:
                    _write_vec_rows(compressed.write, vectors, digits)
            else:
                _write_vec_rows(raw.write, vectors, digits)
            raw.flush()
            os.fsync(raw.fileno())
        # mkstemp makes the file private (0600); give it the permissions of the file it replaces, or
        # ordinary ones.
        os.chmod(temporary, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_vec_rows(write: Callable[[bytes], object], vectors: WordVectors, digits: int) -> None:
    count, dim = vectors.vectors.shape
    write(f"{count} {dim}\n".encode())
    number = f"%.{digits}g"
    for word, row in zip(vectors.words, vectors.vectors.tolist(), strict=True):
        write((word + " " + " ".join(number % x for x in row) + "\n").encode())


# ---------------------------------------------------------------------------------------------------
# word2vec binary format
# ---------------------------------------------------------------------------------------------------

#: The first four bytes of a fastText ``.bin`` model (a different format: a whole model, not vectors).
_FASTTEXT_MAGIC = np.int32(793712314).tobytes()
#: No word is this long; a missing space this far means the header's dim is wrong or the file is not
#: word2vec binary, and reading on would only buffer the whole file.
_MAX_WORD_BYTES = 10_000


def read_word2vec_binary(
    path: str | Path,
    keep: Container[str] | None = None,
    max_words: int | None = None,
    encoding: str = "utf-8",
    unicode_errors: str = "strict",
) -> WordVectors:
    """Read the binary format of the original word2vec tool (``-binary 1``).

    Layout: an ASCII ``count dim\\n`` header, then ``count`` records ``word<space><dim float32,
    little-endian>``, each usually followed by ``\\n``. The file is streamed: rows that are not kept
    are read past and never become arrays. Errors name the record (1-based), as a binary file has no
    lines. Some old files hold words cut inside a UTF-8 character; ``unicode_errors="ignore"`` reads
    them anyway.
    """
    with open_binary(path) as handle:
        stream = _ByteStream(handle, path)
        if stream.peek(len(_FASTTEXT_MAGIC)) == _FASTTEXT_MAGIC:
            raise DataError(
                path, 1, "this is a fastText model (.bin), not word2vec vectors; use its .vec file instead"
            )
        header = stream.read_until(b"\n", what="the 'count dim' header line", limit=100)
        fields = header.split()
        if len(fields) != 2 or not all(field.isdigit() for field in fields) or int(fields[1]) < 1:
            raise DataError(path, 1, f"expected a 'count dim' header line, found {header[:40]!r}")
        count, dim = int(fields[0]), int(fields[1])
        row_bytes = 4 * dim
        words: list[str] = []
        rows: list[np.ndarray] = []
        seen: set[str] = set()
        for record in range(1, count + 1):
            # The newline that ends the previous record is optional; it is never part of a word.
            raw_word = stream.read_until(
                b" ", what=f"the word of record {record} of {count}", limit=_MAX_WORD_BYTES
            ).lstrip(b"\n")
            data = stream.read_exact(
                row_bytes, what=f"the {dim} float32 numbers of record {record} of {count}"
            )
            try:
                word = raw_word.decode(encoding, errors=unicode_errors)
            except UnicodeDecodeError:
                raise DataError(
                    path,
                    None,
                    f"record {record}: cannot decode the word {raw_word!r} as {encoding} "
                    "(unicode_errors='ignore' reads it anyway)",
                ) from None
            if not word:
                raise DataError(path, None, f"record {record}: empty word (is the header's dim {dim} right?)")
            if word in seen or (keep is not None and word not in keep):
                continue
            rows.append(np.frombuffer(data, dtype="<f4").astype(np.float32))
            words.append(word)
            seen.add(word)
            if max_words is not None and len(words) >= max_words:
                break
    vectors = np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32)
    return WordVectors(words, vectors)


class _ByteStream:
    """Reads a binary file in large chunks and hands out pieces; avoids a Python call per byte."""

    def __init__(self, handle: BinaryIO, path: str | Path, chunk_size: int = 1 << 20) -> None:
        self.handle, self.path, self.chunk_size = handle, path, chunk_size
        self.buffer = b""
        self.position = 0

    def _fill(self) -> bool:
        try:
            chunk = self.handle.read(self.chunk_size)
        except (OSError, EOFError) as error:  # truncated or corrupt .gz
            raise DataError(self.path, None, f"cannot read file: {error}") from None
        if not chunk:
            return False
        self.buffer = self.buffer[self.position :] + chunk
        self.position = 0
        return True

    def peek(self, size: int) -> bytes:
        """Up to ``size`` bytes from the current position, not consumed."""
        while len(self.buffer) - self.position < size and self._fill():
            pass
        return self.buffer[self.position : self.position + size]

    def read_until(self, delimiter: bytes, what: str, limit: int) -> bytes:
        """The bytes up to ``delimiter`` (consumed, not returned), at most ``limit`` of them."""
        while True:
            end = self.buffer.find(delimiter, self.position, self.position + limit + len(delimiter))
            if end >= 0:
                piece = self.buffer[self.position : end]
                self.position = end + len(delimiter)
                return piece
            if len(self.buffer) - self.position > limit:
                raise DataError(
                    self.path, None, f"no {delimiter!r} within {limit} bytes where {what} should end"
                )
            if not self._fill():
                raise DataError(self.path, None, f"the file ends before {what}")

    def read_exact(self, size: int, what: str) -> bytes:
        while len(self.buffer) - self.position < size:
            if not self._fill():
                raise DataError(self.path, None, f"the file ends before {what}")
        piece = self.buffer[self.position : self.position + size]
        self.position += size
        return piece
