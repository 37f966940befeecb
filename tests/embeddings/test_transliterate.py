import numpy as np
import pytest

from babeltag.data.synthetic import SCRIPTS
from babeltag.embeddings.transliterate import (
    CYRILLIC_TO_LATIN,
    TRANSLITERATORS,
    transliterate,
    transliterate_vectors,
)
from babeltag.embeddings.vectors import WordVectors
from babeltag.errors import ConfigError


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [
        ("Москва", "Moskva"),
        ("щука", "ščuka"),
        ("Щука", "Ščuka"),  # a capital written with two letters: only the first is a capital
        ("ЩУКА", "ŠČUKA"),  # ... unless the word is in capitals
        ("ЦСКА-ЩИТ", "CSKA-ŠČIT"),
        ("Ю. Щ. Ч.", "Ju. Šč. Č."),  # initials: no neighbouring letter, so capitalised
        ("Юрий Гагарин", "Jurij Gagarin"),
        ("объём", "obʺëm"),
        ("Київ", "Kijiv"),
        ("Љубљана, Ђурђевак, Џеп", "Ljubljana, Đurđevak, Džep"),
        ("хорошо", "horošo"),
    ],
)
def test_cyrillic_to_latin(cyrillic: str, latin: str) -> None:
    assert transliterate(cyrillic) == latin


def test_everything_outside_the_table_is_unchanged() -> None:
    text = "Hello, Ελλάδα 123 ümlaut — 東京\t!"
    assert transliterate(text) == text
    assert transliterate("Tom и Jerry") == "Tom i Jerry"


def test_every_lower_case_letter_has_an_upper_case_partner() -> None:
    for letter, latin in CYRILLIC_TO_LATIN.items():
        assert transliterate(letter.upper()) == latin[0].upper() + latin[1:]


def test_synthetic_cyrillic_language_comes_back_to_latin() -> None:
    # babeltag.data.synthetic writes its Cyrillic language letter for letter; for the letters the
    # two tables agree on, transliteration undoes it, so identical-string alignment finds the words.
    to_cyrillic = str.maketrans(SCRIPTS["latin"], SCRIPTS["cyrillic"])
    for word in ["pataka", "bidugo", "mensorvil"]:
        assert transliterate(word.translate(to_cyrillic)) == word


def test_registry_and_vectors() -> None:
    assert TRANSLITERATORS["cyrillic-latin"]("Да") == "Da"
    with pytest.raises(
        ConfigError, match="unknown transliteration scheme 'greek-latin'; known: cyrillic-latin"
    ):
        transliterate("Αθήνα", "greek-latin")
    vectors = WordVectors(["дом", "dom", "кот"], np.arange(6, dtype=np.float32).reshape(3, 2))
    latin = transliterate_vectors(vectors)
    assert latin.words == ["dom", "kot"]  # "дом" and "dom" become one word: the first row is kept
    np.testing.assert_array_equal(latin.vectors, vectors.vectors[[0, 2]])
