"""One exception family for everything a user can get wrong.

The CLI prints ``str(error)`` and exits; a traceback is shown only with ``--debug``. So every
message must stand on its own: which file, which line, what was found and what was expected.
"""

from __future__ import annotations

from pathlib import Path


class BabeltagError(Exception):
    """Base class of every error babeltag raises on purpose."""


class DataError(BabeltagError):
    """Bad input data. Names the file and, where it applies, the 1-based line number."""

    def __init__(self, path: str | Path | None, line: int | None, message: str) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.message = message
        where = self.path or "<input>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")


class ConfigError(BabeltagError):
    """A configuration that cannot be used: unknown key, wrong type, impossible combination."""


class ModelArchiveError(BabeltagError):
    """A saved model directory that is missing files, has the wrong format version, or does not match."""
