"""Opening text files: gzip transparently, a chosen encoding, and errors that name the file and line."""

from __future__ import annotations

import gzip
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from babeltag.errors import DataError


def open_binary(path: str | Path) -> BinaryIO:
    """Open ``path`` for reading bytes; ``.gz`` files are decompressed on the fly."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, "file not found")
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


#: The name standard input goes by in error messages and ``Example.origin``.
STDIN = "<stdin>"


def read_lines(path: str | Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, line)`` with line ends stripped; line numbers start at 1. ``"-"``
    reads standard input (named ``<stdin>`` in errors).

    Lines are decoded one at a time so that an undecodable byte becomes a :class:`DataError`
    naming the exact line and the encoding, instead of a ``UnicodeDecodeError`` with a byte offset
    into some internal buffer. A UTF-8 byte-order mark at the start of the file is dropped.
    """
    if str(path) == "-":
        yield from _decoded_lines(sys.stdin.buffer, STDIN, encoding)
        return
    line_number = 0
    try:
        with open_binary(path) as handle:
            for line_number, line in _decoded_lines(handle, path, encoding):  # noqa: B007
                yield line_number, line
    except (OSError, EOFError) as error:  # truncated or corrupt .gz, unreadable file
        raise DataError(path, line_number + 1, f"cannot read file: {error}") from None


def _decoded_lines(handle: Iterable[bytes], path: str | Path, encoding: str) -> Iterator[tuple[int, str]]:
    for line_number, raw in enumerate(handle, start=1):
        if line_number == 1 and raw.startswith(b"\xef\xbb\xbf") and encoding.lower().startswith("utf"):
            raw = raw[3:]
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as error:
            bad = raw[error.start : error.start + 1]
            raise DataError(
                path,
                line_number,
                f"cannot decode byte {bad!r} at column {error.start + 1} as {encoding}; "
                "set the dataset's `encoding` (e.g. latin-1 for the German CoNLL-2003 files)",
            ) from None
        yield line_number, text.rstrip("\r\n")
