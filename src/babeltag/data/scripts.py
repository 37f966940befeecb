"""Which writing system text is in, so that languages written alike can share a character encoder.

A character's script is read off its Unicode name ("CYRILLIC SMALL LETTER A" -> "CYRILLIC"), for
letters and marks only: digits, punctuation, symbols, spaces and characters without a name are
"COMMON", as they are shared by every script. Python's ``unicodedata`` has no script property;
the names agree with it for the letters of living languages, and the tables below fix the names
whose first word is not a script.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable

COMMON = "COMMON"

# First words that stand for another script's name.
_ALIASES = {"CJK": "HAN", "IDEOGRAPHIC": "HAN", "OLD CHINESE": "HAN", "HENTAIGANA": "HIRAGANA"}
# Scripts whose names take more than one word (OLD ITALIC and OLD TURKIC are different scripts).
_NAME_WORDS = {"OLD": 2, "TAI": 2, "LINEAR": 2, "INSCRIPTIONAL": 2, "NEW": 3}
# Words in front of the script's name: "FULLWIDTH LATIN CAPITAL LETTER A" is Latin.
_PREFIXES = {"FULLWIDTH", "HALFWIDTH", "SUPERSCRIPT"}
# Letters and marks that belong to no one script: combining accents, variation selectors, spacing
# modifiers, mathematical letters, ordinal indicators, the Japanese length mark.
_NOT_SCRIPTS = {
    "COMBINING",
    "VARIATION",
    "MODIFIER",
    "CARON",
    "MATHEMATICAL",
    "MUSICAL",
    "VERTICAL",
    "VEDIC",
    "VIETNAMESE",
    "FEMININE",
    "MASCULINE",
    "MICRO",
    "ROMAN",
    "MASU",
    "KATAKANA-HIRAGANA",
}
# The Letterlike Symbols block (KELVIN SIGN, SCRIPT SMALL L, ALEF SYMBOL, ...): letters used as symbols.
_LETTERLIKE = range(0x2100, 0x2150)


def script_of(char: str) -> str:
    """The script of one character: "LATIN", "CYRILLIC", "GREEK", "HAN", ... or "COMMON"."""
    if unicodedata.category(char)[0] not in "LM" or ord(char) in _LETTERLIKE:
        return COMMON
    words = unicodedata.name(char, "").split()
    while words and words[0] in _PREFIXES:
        words = words[1:]
    if not words or words[0] in _NOT_SCRIPTS:
        return COMMON
    script = " ".join(words[: _NAME_WORDS.get(words[0], 1)])
    return _ALIASES.get(script, script)


def dominant_script(tokens: Iterable[str]) -> str:
    """The most frequent script other than COMMON over all characters of the tokens; COMMON if none.
    Ties go to the script seen first."""
    chars: Counter[str] = Counter()
    for token in tokens:
        chars.update(token)  # counted in C; a corpus has millions of characters but few distinct ones
    counts: Counter[str] = Counter()
    for char, n in chars.items():  # in order of first appearance, so ties still go to the first seen
        counts[script_of(char)] += n
    counts.pop(COMMON, None)
    return counts.most_common(1)[0][0] if counts else COMMON
