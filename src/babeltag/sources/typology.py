"""What is known about a language before any of its data is read: URIEL typology, family and geography.

URIEL (Littell et al. 2017) comes from the ``lang2vec`` package, which ships its feature tables. Codes
are ISO 639: two-letter codes as the data folders use them (``nl``) are turned into the ISO 639-3 codes
URIEL uses (``nld``) with ``langcodes``; a macrolanguage URIEL has no entry for (``fas``, ``ara``,
``zho``) falls back to its most used member (Iranian Persian, Standard Arabic, Mandarin).

Distances follow lang2vec's own recipe: the cosine distance between two languages' vectors, over the
kNN-imputed syntax, phonology and inventory tables (so every language has a full vector), the family
membership vector (genetic) and the geographic vector (distances to fixed points on the globe). The
lang2vec release on PyPI does not ship the precomputed distance tables (later releases download them),
so they are computed here from the same vectors.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import math
import re
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from babeltag.errors import ConfigError

# URIEL has no row for these macrolanguages; their most used member stands in (and is named in the output)
MACROLANGUAGE_MEMBER = {"fas": "pes", "ara": "arb", "zho": "cmn", "msa": "zsm", "est": "ekk", "nor": "nob"}

# name -> the lang2vec feature sets whose vectors the distance compares
DISTANCE_FEATURE_SETS = {
    "syntactic": ("syntax_knn",),
    "phonological": ("phonology_knn",),
    "inventory": ("inventory_knn",),
    "genetic": ("fam",),
    "geographic": ("geo",),
    "featural": ("syntax_knn", "phonology_knn", "inventory_knn"),
}

# The word-order features of Pires et al. (2019, Fig. 3): WALS 81A (order of subject, object and verb),
# 85A (adposition and noun phrase), 86A (genitive and noun), 87A (adjective and noun), 88A (demonstrative
# and noun) and 89A (numeral and noun), as URIEL's binary columns. Two languages share a feature when
# their columns of that group have the same values.
WORD_ORDER_FEATURES = {
    "81A subject-object-verb": ("S_SVO", "S_SOV", "S_VSO", "S_VOS", "S_OVS"),
    "85A adposition-noun": ("S_ADPOSITION_BEFORE_NOUN", "S_ADPOSITION_AFTER_NOUN"),
    "86A genitive-noun": ("S_POSSESSOR_BEFORE_NOUN", "S_POSSESSOR_AFTER_NOUN"),
    "87A adjective-noun": ("S_ADJECTIVE_BEFORE_NOUN", "S_ADJECTIVE_AFTER_NOUN"),
    "88A demonstrative-noun": ("S_DEMONSTRATIVE_WORD_BEFORE_NOUN", "S_DEMONSTRATIVE_WORD_AFTER_NOUN"),
    "89A numeral-noun": ("S_NUMERAL_BEFORE_NOUN", "S_NUMERAL_AFTER_NOUN"),
}


def _lang2vec() -> Any:
    if "lang2vec.lang2vec" in sys.modules:
        return sys.modules["lang2vec.lang2vec"]
    # pip installs lang2vec's command-line script as bin/lang2vec.py, and the directory of a running
    # script (bin/babeltag, bin/pytest) is first on sys.path, so `import lang2vec` would find that script
    # instead of the package: import the package from where its distribution put it
    try:
        package = Path(str(importlib.metadata.distribution("lang2vec").locate_file("lang2vec")))
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError("typology signals need the lang2vec package (pip install lang2vec)") from None
    current = sys.modules.get("lang2vec")
    if current is None or not hasattr(current, "__path__"):
        spec = importlib.util.spec_from_file_location(
            "lang2vec", package / "__init__.py", submodule_search_locations=[str(package)]
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["lang2vec"] = module
        spec.loader.exec_module(module)
    # lang2vec imports pkg_resources, whose import warns that it is deprecated; not ours to fix
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lang2vec.lang2vec as l2v
    return l2v


@cache
def _available() -> frozenset[str]:
    return frozenset(_lang2vec().available_uriel_languages())


@dataclass(frozen=True)
class Language:
    """A language as the user named it, with the ISO 639-3 code URIEL knows it by."""

    code: str  # as given: "nl", "fa", "ar_dz"
    iso3: str  # "nld"
    uriel: str  # the URIEL row used: usually iso3, a member language for a macrolanguage ("pes")
    name: str  # "Dutch"


@cache
def language(code: str) -> Language:
    """Look ``code`` up: ISO 639-1/2/3 codes and BCP 47 tags (``ar-DZ``, also ``ar_dz`` as the data spells
    it). A code langcodes cannot read, or one URIEL has no data for, is a ConfigError saying so."""
    import langcodes

    tag = code.replace("_", "-")
    # langcodes reads almost anything as some tag ("syn-src": Senaya with a variant); only a language
    # code, optionally with a region, names a language here
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z]{2}|-[0-9]{3})?", tag):
        raise ConfigError(f"language {code!r}: not an ISO 639 code (optionally with a region, e.g. ar_dz)")
    try:
        parsed = langcodes.Language.get(tag)
        iso3 = parsed.to_alpha3()
    except (LookupError, ValueError) as error:
        raise ConfigError(f"language {code!r}: not an ISO 639 code or language tag ({error})") from None
    # a regional tag names its own language where ISO 639-3 has one (ar-DZ: Algerian Arabic, arq)
    regional = {"ara-DZ": "arq"}.get(f"{iso3}-{parsed.territory}") if parsed.territory else None
    uriel = regional or iso3
    if uriel not in _available():
        uriel = MACROLANGUAGE_MEMBER.get(uriel, uriel)
    if uriel not in _available():
        raise ConfigError(f"language {code!r} ({iso3}): URIEL (lang2vec) has no data for it")
    return Language(code=code, iso3=iso3, uriel=uriel, name=parsed.display_name())


def knows(code: str) -> bool:
    """Whether ``code`` is a language URIEL has data for."""
    try:
        language(code)
    except ConfigError:
        return False
    return True


# feature set -> URIEL row -> values, and each set's column names: lang2vec reads its whole table from
# disk on every call (seconds for the family and geography tables), so rows are fetched in batches
_ROWS: dict[str, dict[str, np.ndarray]] = {}
_COLUMNS: dict[str, tuple[str, ...]] = {}
_FEATURE_SETS = sorted({s for sets in DISTANCE_FEATURE_SETS.values() for s in sets} | {"syntax_wals"})


def prefetch(codes: Iterable[str], feature_sets: Iterable[str] = _FEATURE_SETS) -> None:
    """Load every feature set these languages will need, one lang2vec call per set."""
    l2v = _lang2vec()
    rows = sorted({language(code).uriel for code in codes})
    for feature_set in feature_sets:
        cached = _ROWS.setdefault(feature_set, {})
        missing = [row for row in rows if row not in cached]
        if not missing:
            continue
        table = l2v.get_features(missing, feature_set, header=True)
        _COLUMNS[feature_set] = tuple(str(name) for name in table["CODE"])
        for row in missing:
            cached[row] = np.array(
                [math.nan if v == "--" else float(v) for v in table[row]], dtype=np.float64
            )


def feature_vector(code: str, feature_set: str) -> tuple[tuple[str, ...], np.ndarray]:
    """(column names, values) of one lang2vec feature set for a language; unknown values are NaN (only
    the raw WALS-style sets have gaps, the ``_knn`` sets are complete)."""
    row = language(code).uriel
    if row not in _ROWS.get(feature_set, {}):
        prefetch([code], [feature_set])
    return _COLUMNS[feature_set], _ROWS[feature_set][row]


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    """1 - cos(a, b); 1.0 when either vector is all zeros (nothing known in common)."""
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    if norm == 0.0:
        return 1.0
    return float(1.0 - np.dot(a, b) / norm)


def distance(kind: str, a: str, b: str) -> float:
    """URIEL distance of one kind (:data:`DISTANCE_FEATURE_SETS`) between languages ``a`` and ``b``."""
    if kind not in DISTANCE_FEATURE_SETS:
        raise ConfigError(f"distance {kind!r}: expected one of {sorted(DISTANCE_FEATURE_SETS)}")
    sets = DISTANCE_FEATURE_SETS[kind]
    va = np.concatenate([feature_vector(a, s)[1] for s in sets])
    vb = np.concatenate([feature_vector(b, s)[1] for s in sets])
    return cosine_distance(va, vb)


def distances(a: str, b: str) -> dict[str, float]:
    """Every URIEL distance between ``a`` and ``b``, by name."""
    return {kind: distance(kind, a, b) for kind in DISTANCE_FEATURE_SETS}


def _word_order_values(code: str) -> dict[str, tuple[float, ...]]:
    """Each word-order feature's columns: WALS where WALS knows the language, else URIEL's kNN estimate."""
    wals_names, wals = feature_vector(code, "syntax_wals")
    knn_names, knn = feature_vector(code, "syntax_knn")
    wals_at = dict(zip(wals_names, wals, strict=True))
    knn_at = dict(zip(knn_names, knn, strict=True))
    values = {}
    for feature, columns in WORD_ORDER_FEATURES.items():
        observed = [wals_at[c] for c in columns]
        chosen = observed if not any(math.isnan(v) for v in observed) else [knn_at[c] for c in columns]
        values[feature] = tuple(round(v) for v in chosen)
    return values


def shared_word_order_features(a: str, b: str) -> list[str]:
    """The word-order features of :data:`WORD_ORDER_FEATURES` on which ``a`` and ``b`` agree."""
    va, vb = _word_order_values(a), _word_order_values(b)
    return [feature for feature in WORD_ORDER_FEATURES if va[feature] == vb[feature]]


def typology_signals(source: str, target: str) -> dict[str, float]:
    """The signals of :mod:`babeltag.sources.signals` known before reading any data."""
    signals: dict[str, float] = {f"{kind}_distance": d for kind, d in distances(source, target).items()}
    signals["word_order_shared"] = float(len(shared_word_order_features(source, target)))
    return signals
