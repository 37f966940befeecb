"""URIEL look-ups through lang2vec: codes, the documented vectors, distances, word-order features."""

from __future__ import annotations

from pathlib import Path

import pytest

from babeltag.errors import ConfigError
from babeltag.sources import typology
from babeltag.sources.typology import (
    WORD_ORDER_FEATURES,
    distances,
    feature_vector,
    language,
    shared_word_order_features,
)

# the languages of ../shared/data and the URIEL row each is looked up by (docs/sources.md)
PROJECT_LANGUAGES = {
    "en": "eng", "de": "deu", "nl": "nld", "sv": "swe", "da": "dan", "sl": "slv", "pl": "pol", "sk": "slk",
    "bg": "bul", "ro": "ron", "pt": "por", "it": "ita", "es": "spa", "hu": "hun", "hi": "hin", "ko": "kor",
    "ru": "rus", "uk": "ukr", "fa": "pes", "ar": "arb", "zh": "cmn", "ar_dz": "arq", "el": "ell",
    "eu": "eus", "fi": "fin", "he": "heb", "hr": "hrv", "id": "ind", "mt": "mlt", "th": "tha",
    "tr": "tur", "vi": "vie", "no": "nor",
}  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def _loaded() -> None:
    # lang2vec reads a whole table per call; one batched read serves every test of this module
    typology.prefetch(PROJECT_LANGUAGES)


def test_every_project_language_has_its_documented_uriel_row() -> None:
    assert {code: language(code).uriel for code in PROJECT_LANGUAGES} == PROJECT_LANGUAGES
    assert language("nl").name == "Dutch"
    assert language("fa").iso3 == "fas"  # the macrolanguage, looked up as Iranian Persian


@pytest.mark.parametrize("code", ["xx", "not a code"])
def test_an_unknown_code_is_an_error_naming_it(code: str) -> None:
    with pytest.raises(ConfigError, match=repr(code)):
        language(code)


def test_a_language_uriel_lacks_is_an_error_saying_so() -> None:
    with pytest.raises(ConfigError, match="no data"):
        language("tlh")  # Klingon has an ISO 639-3 code but no URIEL row
    assert not typology.knows("tlh") and typology.knows("nl")


def test_documented_wals_word_order_values() -> None:
    names, english = feature_vector("en", "syntax_wals")
    values = dict(zip(names, english, strict=True))
    assert values["S_SVO"] == 1.0 and values["S_SOV"] == 0.0
    assert values["S_ADPOSITION_BEFORE_NOUN"] == 1.0 and values["S_ADJECTIVE_BEFORE_NOUN"] == 1.0
    names, hindi = feature_vector("hi", "syntax_wals")
    values = dict(zip(names, hindi, strict=True))
    assert values["S_SOV"] == 1.0 and values["S_ADPOSITION_AFTER_NOUN"] == 1.0


def test_distances_are_zero_to_oneself_symmetric_and_family_aware() -> None:
    assert all(d == pytest.approx(0.0, abs=1e-12) for d in distances("nl", "nl").values())
    assert distances("nl", "de") == pytest.approx(distances("de", "nl"))
    # Dutch is genetically closer to German than to Hungarian (Uralic) or Persian
    assert (
        distances("nl", "de")["genetic"] < distances("nl", "fa")["genetic"] < distances("nl", "hu")["genetic"]
    )
    assert distances("nl", "de")["syntactic"] < distances("nl", "hi")["syntactic"]


def test_shared_word_order_features_count_agreeing_groups() -> None:
    assert len(shared_word_order_features("en", "en")) == len(WORD_ORDER_FEATURES)
    # English and Hindi: SVO vs SOV, prepositions vs postpositions, differ on those two at least
    shared = shared_word_order_features("en", "hi")
    assert "81A subject-object-verb" not in shared and "85A adposition-noun" not in shared
    assert "87A adjective-noun" in shared  # both put adjectives before nouns
    assert typology.typology_signals("en", "hi")["word_order_shared"] == float(len(shared))


def test_gate_weights_beside_genetic_distance(tmp_path: Path) -> None:
    from babeltag.sources.analyse import gates_vs_genetic_distance

    gates = {"features": {"nl": {"de": 0.7, "es": 0.2, "syn_x": 0.1}, "de": {"nl": 0.6, "es": 0.4}}}
    result = gates_vs_genetic_distance(gates, tmp_path / "gates.png")
    pairs = {(p[0], p[1]): p for p in result["points"]["features"]}
    assert set(pairs) == {("nl", "de"), ("nl", "es"), ("de", "nl"), ("de", "es")}  # syn_x: not in URIEL
    assert pairs[("nl", "de")][2] == pytest.approx(distances("nl", "de")["genetic"])
    assert pairs[("nl", "de")][3] == 0.7
    assert (tmp_path / "gates.png").stat().st_size > 1000
