"""Every signal of one (source, target) pair, from typology and from the data, by name.

The signals are what the ranker combines and what ``babeltag sources analyse`` plots scores against.
Typology needs only the two language codes; the data signals need each language's text (the pool a
source model would train on, the target's own text), read through a transfer spec's readers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babeltag.data.datasets import check_tags, read_file, resolve_path
from babeltag.errors import BabeltagError, DataError
from babeltag.sources.overlap import CorpusProfile, SharedSubwords, profile_corpus, signals_between
from babeltag.sources.ranker import Signals
from babeltag.sources.transfer import TransferSpec
from babeltag.sources.typology import knows, prefetch, typology_signals


@dataclass(frozen=True)
class Signal:
    description: str
    higher_is_better: bool  # the direction one expects before looking at any transfer result
    needs_data: bool


SIGNALS: dict[str, Signal] = {
    "word_overlap": Signal("share of the target's running words whose form occurs in the source", True, True),
    "subword_overlap": Signal(
        "the same for subword units of one BPE vocabulary learned over all languages", True, True
    ),
    "char_ngram_overlap": Signal("the same for character trigrams within words", True, True),
    "entity_overlap": Signal(
        "share of the target's entity mentions also an entity in the source (NER)", True, True
    ),
    "source_size": Signal("log10 of the source's training tokens", True, True),
    "same_script": Signal("1 when source and target are mostly written in the same script", True, True),
    "syntactic_distance": Signal("URIEL: cosine distance of syntax feature vectors", False, False),
    "phonological_distance": Signal("URIEL: cosine distance of phonology feature vectors", False, False),
    "inventory_distance": Signal("URIEL: cosine distance of phoneme inventory vectors", False, False),
    "genetic_distance": Signal("URIEL: cosine distance of language family membership", False, False),
    "geographic_distance": Signal("URIEL: cosine distance of geographic position vectors", False, False),
    "featural_distance": Signal("URIEL: cosine distance of syntax+phonology+inventory", False, False),
    "word_order_shared": Signal(
        "WALS word-order features with the same value (Pires et al.: 0-6)", True, False
    ),
}


def profiles_from_spec(
    spec: TransferSpec, data_dir: str | Path | None, languages: Sequence[str] | None = None
) -> dict[str, CorpusProfile]:
    """Each language's training pool as a profile (capped as its source model would be trained)."""
    profiles = {}
    for language in languages or list(spec.languages):
        reader = spec.reader(language)
        reader.train = spec.languages[language].train
        path = resolve_path(spec.languages[language].train, data_dir)
        if not path.is_file():
            raise DataError(path, None, f"training pool of {language} not found")
        examples = read_file(reader, path)
        check_tags(examples, reader.tag_scheme, reader.repair_tags, path)
        profiles[language] = profile_corpus(
            examples, language, reader.tag_scheme, max_sentences=spec.languages[language].max_train_sentences
        )
    return profiles


def data_signals(
    source: CorpusProfile, target: CorpusProfile, shared: SharedSubwords | None
) -> dict[str, float | None]:
    raw = signals_between(source, target, shared)
    return {
        "word_overlap": raw["word_overlap"],
        "subword_overlap": raw["subword_overlap"],
        "char_ngram_overlap": raw["char_ngram_overlap"],
        "entity_overlap": raw["entity_overlap"],
        "source_size": math.log10(max(1.0, raw["source_tokens"] or 1.0)),
        "same_script": raw["same_script"],
    }


def pair_signals(
    sources: Sequence[str],
    targets: Sequence[str],
    profiles: Mapping[str, CorpusProfile] | None = None,
    subword_vocab: int = 8000,
) -> dict[tuple[str, str], dict[str, float | None]]:
    """Signals of every (source, target) pair with source != target. Data signals are None for a
    language without a profile; the subword vocabulary is learned over every profiled language."""
    profiles = profiles or {}
    known = [language for language in dict.fromkeys([*sources, *targets]) if knows(language)]
    prefetch(known)
    shared = SharedSubwords(list(profiles.values()), vocab_size=subword_vocab) if len(profiles) > 1 else None
    table: dict[tuple[str, str], dict[str, float | None]] = {}
    for target in targets:
        for source in sources:
            if source == target:
                continue
            values: dict[str, float | None] = {name: None for name in SIGNALS}
            if source in known and target in known:  # URIEL lacks the language: data signals only
                values.update(typology_signals(source, target))
            if source in profiles and target in profiles:
                values.update(data_signals(profiles[source], profiles[target], shared))
            table[(source, target)] = values
    return table


def signals_to_json(table: Signals) -> list[dict[str, Any]]:
    return [{"source": s, "target": t, **dict(values)} for (s, t), values in table.items()]


def signals_from_json(
    rows: Sequence[Mapping[str, Any]], where: str
) -> dict[tuple[str, str], dict[str, float | None]]:
    table = {}
    for i, row in enumerate(rows):
        if "source" not in row or "target" not in row:
            raise BabeltagError(f"{where}: signal row {i} has no source/target")
        table[(str(row["source"]), str(row["target"]))] = {
            k: None if v is None else float(v) for k, v in row.items() if k not in ("source", "target")
        }
    return table


def write_signals(table: Signals, path: Path) -> Path:
    path.write_text(json.dumps({"signals": signals_to_json(table)}, indent=1), encoding="utf-8")
    return path


def read_signals(path: Path) -> dict[tuple[str, str], dict[str, float | None]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BabeltagError(f"{path}: cannot read signals ({error})") from None
    return signals_from_json(data.get("signals", []), str(path))
