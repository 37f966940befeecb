"""Shared subword vocabulary: temperature sampling, training, word alignment, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from babeltag.data.mixing import temperature
from babeltag.data.subwords import (
    SPECIALS,
    SubwordVocabulary,
    WordPieces,
    format_shares,
    sample_by_temperature,
    train_subwords,
)
from babeltag.data.synthetic import LanguageSpec, generate
from babeltag.errors import ConfigError, ModelArchiveError


@pytest.fixture(scope="module")
def corpus(synthetic_languages: dict[str, LanguageSpec]) -> dict[str, list[list[str]]]:
    sizes = {"source": 400, "related": 100, "related_cyrillic": 50, "unrelated": 25}
    return {
        spec.code: [list(e.tokens) for e in generate(spec, sizes[name], seed=3)]
        for name, spec in synthetic_languages.items()
    }


@pytest.fixture(scope="module")
def vocabulary(corpus: dict[str, list[list[str]]]) -> SubwordVocabulary:
    return train_subwords(corpus, 300, "bpe", alpha=0.5)[0]


def test_temperature_sampling_matches_its_formula_on_counts() -> None:
    corpus = {"big": [["a"]] * 9000, "mid": [["b"]] * 900, "small": [["c"]] * 100}
    sample, shares = sample_by_temperature(corpus, 0.5, 200_000, np.random.default_rng(0))
    q = temperature([9000, 900, 100], 0.5)  # q_i = p_i^0.5 / sum_j p_j^0.5
    counts = np.array([len(sample[x]) for x in ("big", "mid", "small")])
    assert counts.sum() == 200_000
    # multinomial: each share within 5 standard deviations of q_i
    assert np.all(np.abs(counts / 200_000 - q) < 5 * np.sqrt(q * (1 - q) / 200_000))
    by_language = {s.language: s for s in shares}
    assert by_language["small"].share == pytest.approx(0.01)
    assert by_language["small"].sampled_share == pytest.approx(q[2], abs=0.005)
    assert "small" in format_shares(shares)


def test_alpha_one_is_proportional_and_alpha_zero_uniform() -> None:
    assert temperature([30, 10], 1.0) == pytest.approx([0.75, 0.25])
    assert temperature([30, 10], 0.0) == pytest.approx([0.5, 0.5])


def test_upsampled_language_repeats_every_sentence_before_any_twice() -> None:
    corpus = {"big": [["x", str(i)] for i in range(1000)], "small": [["y", str(i)] for i in range(10)]}
    sample, _ = sample_by_temperature(corpus, 0.0, 2000, np.random.default_rng(1))
    seen = [tuple(s) for s in sample["small"]]
    counts = {s: seen.count(s) for s in set(seen)}
    assert len(counts) == 10 and max(counts.values()) - min(counts.values()) <= 1


@pytest.mark.parametrize("kind", ["bpe", "unigram"])
def test_training_gives_specials_first_and_the_requested_size(
    corpus: dict[str, list[list[str]]], kind: str
) -> None:
    vocabulary, shares = train_subwords(corpus, 250, kind, alpha=0.3)
    assert len(vocabulary) <= 250
    assert [vocabulary.tokenizer.token_to_id(t) for t in SPECIALS] == [0, 1, 2, 3, 4]
    assert sorted(s.language for s in shares) == sorted(corpus)


def test_word_alignment_covers_every_word(vocabulary: SubwordVocabulary) -> None:
    words = ["Suqxazwymikywaq", "ka", "Zürich", "\u200b", "😀", "."]
    ids, word_index = vocabulary.encode_words(words)
    assert ids[0] == vocabulary.bos_id and ids[-1] == vocabulary.eos_id
    assert word_index[0] == -1 and word_index[-1] == -1
    inner = word_index[1:-1]
    assert sorted(set(inner)) == list(range(len(words)))  # every word has >= 1 piece
    assert inner == sorted(inner)  # pieces come in word order
    assert inner.count(0) > 1  # a long unseen word is cut into several pieces
    assert vocabulary.unk_id in ids  # characters never seen in training


def test_a_word_the_normaliser_removes_still_gets_a_piece(vocabulary: SubwordVocabulary) -> None:
    ids, word_index = vocabulary.encode_words(["ka", "", "ka"])
    assert word_index[1:-1].count(1) == 1
    assert ids[word_index.index(1)] == vocabulary.unk_id


def test_it_is_a_word_pieces(vocabulary: SubwordVocabulary) -> None:
    pieces: WordPieces = vocabulary
    assert pieces.pad_id == 0


def test_save_and_load_give_the_same_pieces(vocabulary: SubwordVocabulary, tmp_path: Path) -> None:
    vocabulary.save(tmp_path / "subwords.json")
    loaded = SubwordVocabulary.load(tmp_path / "subwords.json")
    words = ["Suqxazwym", "wu", "haxyhqumu", "Zürich"]
    assert loaded.encode_words(words) == vocabulary.encode_words(words)
    assert loaded.encode_batch([words]) == vocabulary.encode_batch([words])


def test_a_corrupt_vocabulary_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "subwords.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelArchiveError, match="subwords.json"):
        SubwordVocabulary.load(path)


def test_bad_settings_are_config_errors(corpus: dict[str, list[list[str]]]) -> None:
    with pytest.raises(ConfigError, match="kind"):
        train_subwords(corpus, 100, "wordpiece")
    with pytest.raises(ConfigError, match="vocab_size"):
        train_subwords(corpus, 3)
    with pytest.raises(ConfigError, match="no sentences"):
        train_subwords({"xx": []}, 100)
