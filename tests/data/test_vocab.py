from collections import Counter

import pytest

from babeltag.data.normalise import Normaliser
from babeltag.data.vocab import Vocabulary


def test_min_count_order_and_specials() -> None:
    vocab = Vocabulary.from_counts(Counter({"b": 3, "a": 3, "c": 1, "d": 2}), min_count=2)
    assert vocab.itos == ["<pad>", "<unk>", "a", "b", "d"]
    assert vocab.id("c") == vocab.unk_id == 1
    assert "c" not in vocab


def test_labels_have_no_unk() -> None:
    labels = Vocabulary.of_labels(["NOUN", "DET", "NOUN"])
    assert labels.itos == ["DET", "NOUN"]
    with pytest.raises(KeyError):
        labels.id("VERB")


def test_json_round_trip() -> None:
    vocab = Vocabulary.from_counts(Counter("abracadabra"))
    again = Vocabulary.from_json(vocab.to_json())
    assert again.itos == vocab.itos and again.with_specials


def test_normaliser() -> None:
    n = Normaliser(digits_to_zero=True, lowercase_chars=True, max_word_chars=4)
    assert n.word("Year1987") == "Year0000"
    assert n.chars("ABCDEF") == "abcd"
    assert Normaliser(lowercase_words=True).word("Paris") == "paris"


def test_normaliser_transliterates_before_the_other_steps() -> None:
    n = Normaliser(
        digits_to_zero=True, lowercase_words=True, max_word_chars=5, transliterate="cyrillic-latin"
    )
    assert n.written("Щука") == "Ščuka"
    assert n.word("Щука1") == "ščuka0"
    assert n.chars("Щукатор") == "Ščuka"  # cut after transliteration: the model's characters
    assert Normaliser().written("Щука") == "Щука"
