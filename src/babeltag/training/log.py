"""Training logs: one readable line per epoch on stderr, one JSON object per line in a file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO


class RunLog:
    def __init__(self, path: Path | None, stream: TextIO | None = None, append: bool = False) -> None:
        self.path = path
        self.stream = stream if stream is not None else sys.stderr
        if path is not None and not (append and path.exists()):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("", encoding="utf-8")

    def record(self, entry: dict[str, Any], line: str | None = None) -> None:
        if line:
            print(line, file=self.stream, flush=True)
        if self.path is not None:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
