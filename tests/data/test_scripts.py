from __future__ import annotations

import random
import sys
from collections import Counter

import pytest

from babeltag.data.scripts import dominant_script, script_of


@pytest.mark.parametrize(
    ("char", "script"),
    [
        ("a", "LATIN"),
        ("É", "LATIN"),
        ("ß", "LATIN"),
        ("Ａ", "LATIN"),  # fullwidth
        ("Ж", "CYRILLIC"),
        ("λ", "GREEK"),
        ("中", "HAN"),
        ("々", "HAN"),
        ("あ", "HIRAGANA"),
        ("ア", "KATAKANA"),
        ("한", "HANGUL"),
        ("ก", "THAI"),
        ("ب", "ARABIC"),
        ("א", "HEBREW"),
        ("क", "DEVANAGARI"),
        ("ा", "DEVANAGARI"),  # a vowel sign (a mark) belongs to its script
        ("7", "COMMON"),
        ("١", "COMMON"),  # Arabic-Indic digit
        (",", "COMMON"),
        ("،", "COMMON"),  # Arabic comma
        ("€", "COMMON"),
        (" ", "COMMON"),
        ("\u0301", "COMMON"),  # combining acute accent
        ("ー", "COMMON"),  # katakana-hiragana length mark
        ("\ue000", "COMMON"),  # private use, no name
    ],
)
def test_script_of(char: str, script: str) -> None:
    assert script_of(char) == script


def test_no_character_gets_a_word_that_is_not_a_script() -> None:
    scripts = {script_of(chr(code)) for code in range(sys.maxunicode + 1)}
    not_scripts = {
        "CJK",
        "COMBINING",
        "MODIFIER",
        "FULLWIDTH",
        "HALFWIDTH",
        "MATHEMATICAL",
        "SCRIPT",
        "KELVIN",
    }
    assert not scripts & not_scripts
    assert {"OLD ITALIC", "OLD TURKIC", "TAI THAM", "TAI LE"} <= scripts


def test_dominant_script() -> None:
    assert dominant_script(["The", "cat", "sat", "."]) == "LATIN"
    assert dominant_script(["Москва", "—", "столица", "России", "."]) == "CYRILLIC"
    assert dominant_script(["Η", "Αθήνα", "είναι", "2024"]) == "GREEK"
    assert dominant_script(["北京", "是", "中国", "的", "首都", "。"]) == "HAN"
    assert dominant_script(["iPhone", "в", "Москве", "продаётся"]) == "CYRILLIC"
    assert dominant_script(["東京", "tokyo", "Tokyo", "city"]) == "LATIN"
    assert dominant_script(["123", "4,5", "%"]) == "COMMON"
    assert dominant_script([]) == "COMMON"
    # a tie goes to the script seen first, however the characters repeat
    assert dominant_script(["ab", "αβ"]) == "LATIN" and dominant_script(["αβ", "ab"]) == "GREEK"
    assert dominant_script(["a", "αβ", "b"]) == "LATIN"


def test_dominant_script_counts_as_one_character_at_a_time_would() -> None:
    """The counting by distinct characters agrees with the slow obvious count over every character."""
    rng = random.Random(0)
    alphabet = "abcxyzαβγδабвг北京。.1 ́"
    for _ in range(200):
        tokens = ["".join(rng.choices(alphabet, k=rng.randint(0, 5))) for _ in range(rng.randint(0, 8))]
        slow = Counter(script_of(c) for token in tokens for c in token)
        slow.pop("COMMON", None)
        assert dominant_script(tokens) == (slow.most_common(1)[0][0] if slow else "COMMON")
