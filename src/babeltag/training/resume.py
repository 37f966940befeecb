"""Which configuration changes a checkpoint survives.

A checkpoint continues only the run that wrote it: anything that changes what is computed must be
the same, and a run directory holding a checkpoint of another configuration is refused with the
keys that differ. Where and how fast it runs (device, threads) and how long (epochs, steps) may
change.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from babeltag.errors import ConfigError


def differences(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested mappings."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = set(a) | set(b)
        return [d for k in keys for d in differences(a.get(k), b.get(k), f"{prefix}{k}.")]
    return [] if a == b else [prefix.rstrip(".")]


def check_resumable(
    out_dir: Path, saved: dict[str, Any] | None, current: dict[str, Any], may_change: Sequence[str]
) -> None:
    """Refuse to resume ``out_dir``'s checkpoint unless ``saved`` (its config.yaml, as plain data)
    and ``current`` agree on every key but ``may_change`` (dotted keys)."""
    if saved is None:
        raise ConfigError(f"{out_dir}: has a checkpoint but no config.yaml; give a new --out")
    found = sorted(d for d in differences(saved, current) if d not in may_change)
    if found:
        raise ConfigError(
            f"{out_dir} holds a checkpoint of a different configuration ({', '.join(found)} differ); "
            "give a new --out, or the same configuration to resume"
        )
