"""Transliteration into Latin script, so that languages written in different scripts share strings.

Identical strings are the seed dictionary of :func:`babeltag.embeddings.align.identical_string_pairs`
and the shared words of a mixed training corpus; between Serbian in Cyrillic and Croatian in Latin
letters there are none until one side is transliterated.

``TRANSLITERATORS`` maps a scheme name to a function ``str -> str``; another script is added by
registering one more function there.
"""

from __future__ import annotations

from collections.abc import Callable

from babeltag.embeddings.vectors import WordVectors, word_index
from babeltag.errors import ConfigError

#: Cyrillic -> Latin: the scientific (linguistic) transliteration of the Slavic languages, which
#: ISO 9 follows for most letters, except that х is "h" (as in ISO 9 and in the Latin alphabet of
#: Serbo-Croatian, so that Serbian Cyrillic comes out in Gaj's Latin alphabet letter for letter).
#: One table for every language: Ukrainian and Belarusian г (pronounced [ɦ]) is also "g".
CYRILLIC_TO_LATIN = {
    # Russian (and the letters shared with the other languages)
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "ë", "ж": "ž", "з": "z",
    "и": "i", "й": "j", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "c", "ч": "č", "ш": "š", "щ": "šč",
    "ъ": "ʺ", "ы": "y", "ь": "ʹ", "э": "è", "ю": "ju", "я": "ja",
    # Ukrainian, Belarusian
    "є": "je", "і": "i", "ї": "ji", "ґ": "g", "ў": "ŭ",
    # Serbian, Macedonian
    "ђ": "đ", "ј": "j", "љ": "lj", "њ": "nj", "ћ": "ć", "џ": "dž", "ѓ": "ǵ", "ќ": "ḱ", "ѕ": "dz",
}  # fmt: skip

_CYRILLIC_UPPER_TO_LATIN = {
    cyrillic.upper(): latin for cyrillic, latin in CYRILLIC_TO_LATIN.items() if cyrillic.upper() != cyrillic
}


def cyrillic_to_latin(text: str) -> str:
    """Transliterate the Cyrillic letters of ``text`` by :data:`CYRILLIC_TO_LATIN`; everything else
    is left as it is. Case is kept: an upper-case letter written with two Latin letters is
    capitalised ("Щука" -> "Ščuka") unless a neighbouring letter is upper case too ("ЩИ" -> "ŠČI")."""
    out = []
    for i, character in enumerate(text):
        latin = CYRILLIC_TO_LATIN.get(character)
        if latin is not None:
            out.append(latin)
            continue
        latin = _CYRILLIC_UPPER_TO_LATIN.get(character)
        if latin is None:
            out.append(character)
        elif len(latin) > 1 and _in_upper_case_word(text, i):
            out.append(latin.upper())
        else:
            out.append(latin[0].upper() + latin[1:])
    return "".join(out)


def _in_upper_case_word(text: str, i: int) -> bool:
    """Whether the letter at ``i`` is part of an all-capitals word: judged by the next letter, or by
    the previous one at the end of a word."""
    for neighbour in (i + 1, i - 1):
        if 0 <= neighbour < len(text) and text[neighbour].isalpha():
            return text[neighbour].isupper()
    return False


#: Scheme name -> transliteration function; the hook for other scripts.
TRANSLITERATORS: dict[str, Callable[[str], str]] = {
    "cyrillic-latin": cyrillic_to_latin,
}


def transliterate(text: str, scheme: str = "cyrillic-latin") -> str:
    """Transliterate ``text`` with the registered ``scheme`` (see :data:`TRANSLITERATORS`)."""
    if scheme not in TRANSLITERATORS:
        raise ConfigError(f"unknown transliteration scheme {scheme!r}; known: {', '.join(TRANSLITERATORS)}")
    return TRANSLITERATORS[scheme](text)


def transliterate_vectors(vectors: WordVectors, scheme: str = "cyrillic-latin") -> WordVectors:
    """The same vectors under transliterated words. Two words that become one string (a word and its
    transliteration both listed, say) keep the row that came first, the more frequent."""
    words = [transliterate(word, scheme) for word in vectors.words]
    rows = list(word_index(words).values())
    return WordVectors([words[i] for i in rows], vectors.vectors[rows])
