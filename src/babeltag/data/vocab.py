"""Vocabularies: strings <-> integer ids, saved as JSON with every model."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

PAD = "<pad>"
UNK = "<unk>"


class Vocabulary:
    """An ordered list of symbols. Word and character vocabularies reserve 0 = <pad>, 1 = <unk>;
    label vocabularies have no specials (a label id is always a real label)."""

    def __init__(self, symbols: Sequence[str], with_specials: bool) -> None:
        self.with_specials = with_specials
        specials = [PAD, UNK] if with_specials else []
        self.itos: list[str] = list(specials)
        self.stoi: dict[str, int] = {s: i for i, s in enumerate(self.itos)}
        for symbol in symbols:
            self.add(symbol)

    @classmethod
    def from_counts(
        cls, counts: Counter[str], min_count: int = 1, max_size: int | None = None, with_specials: bool = True
    ) -> Vocabulary:
        """Most frequent first (ties alphabetical, so the order does not depend on reading order)."""
        kept = sorted((s for s, c in counts.items() if c >= min_count), key=lambda s: (-counts[s], s))
        if max_size is not None:
            kept = kept[:max_size]
        return cls(kept, with_specials)

    @classmethod
    def of_labels(cls, labels: Iterable[str]) -> Vocabulary:
        """Label vocabulary in sorted order (stable across runs and readers)."""
        return cls(sorted(set(labels)), with_specials=False)

    def add(self, symbol: str) -> int:
        if symbol not in self.stoi:
            self.stoi[symbol] = len(self.itos)
            self.itos.append(symbol)
        return self.stoi[symbol]

    @property
    def unk_id(self) -> int:
        if not self.with_specials:
            raise KeyError("a label vocabulary has no <unk>")
        return 1

    def id(self, symbol: str) -> int:
        found = self.stoi.get(symbol)
        if found is not None:
            return found
        if self.with_specials:
            return 1
        raise KeyError(symbol)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self.stoi

    def to_json(self) -> dict[str, object]:
        return {"with_specials": self.with_specials, "symbols": self.itos[2 if self.with_specials else 0 :]}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Vocabulary:
        symbols = data["symbols"]
        assert isinstance(symbols, list)
        return cls([str(s) for s in symbols], bool(data["with_specials"]))
