"""babeltag: cross-lingual and multi-task transfer learning for sequence labelling and classification."""

from babeltag.errors import BabeltagError, ConfigError, DataError

__version__ = "0.1.0"

__all__ = ["BabeltagError", "ConfigError", "DataError", "__version__"]
