"""babeltag: cross-lingual and multi-task transfer learning for sequence labelling and classification."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from babeltag.errors import BabeltagError, ConfigError, DataError

if TYPE_CHECKING:
    from babeltag.api import load

__version__ = "0.1.0"

__all__ = ["BabeltagError", "ConfigError", "DataError", "__version__", "load"]


def __getattr__(name: str) -> Any:
    # `import babeltag` stays light (no torch) for the CLI and for tools that only read __version__;
    # the model code is imported on first use of babeltag.load
    if name == "load":
        from babeltag.api import load

        return load
    raise AttributeError(f"module 'babeltag' has no attribute {name!r}")
