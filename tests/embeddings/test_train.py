import gzip
from pathlib import Path

import numpy as np
import pytest

from babeltag.embeddings.train import mix_corpora, sentences_from_files, split_by_prefix, train_embeddings
from babeltag.errors import ConfigError, DataError


def topic_corpus(seed: int = 0, sentences: int = 300) -> list[list[str]]:
    """Three topics that never share a sentence: ``a0..a9`` co-occur with each other, ``b0..b9`` too, ..."""
    rng = np.random.default_rng(seed)
    corpus = []
    for _ in range(sentences):
        topic = "abc"[rng.integers(3)]
        corpus.append([f"{topic}{i}" for i in rng.integers(10, size=8)])
    return corpus


@pytest.mark.parametrize("method", ["skipgram", "fasttext"])
def test_words_that_co_occur_are_closer(method: str) -> None:
    corpus = topic_corpus()
    # sample=0: in a 30-word corpus every word counts as frequent and would be mostly dropped
    vectors = train_embeddings(corpus, dim=16, method=method, window=3, epochs=5, seed=1, workers=1, sample=0)
    assert vectors.dim == 16 and sorted(vectors.words) == sorted({w for s in corpus for w in s})
    unit = vectors.vectors / np.linalg.norm(vectors.vectors, axis=1, keepdims=True)
    cosines = unit @ unit.T
    topic = np.array([word[0] for word in vectors.words])
    same_topic = topic[:, None] == topic[None, :]
    different_words = ~np.eye(len(topic), dtype=bool)
    assert cosines[same_topic & different_words].min() > cosines[~same_topic].max()


def test_deterministic_with_seed_and_one_worker() -> None:
    corpus = topic_corpus(sentences=100)
    first = train_embeddings(iter(corpus), dim=8, epochs=2, seed=3)  # a one-shot iterator is fine too
    second = train_embeddings(corpus, dim=8, epochs=2, seed=3)
    other = train_embeddings(corpus, dim=8, epochs=2, seed=4)
    assert first.words == second.words
    np.testing.assert_array_equal(first.vectors, second.vectors)
    assert not np.allclose(first.vectors, other.vectors)


def test_words_come_most_frequent_first() -> None:
    vectors = train_embeddings([["rare", "common", "common"], ["common", "mid", "mid"]], dim=4, epochs=1)
    assert vectors.words == ["common", "mid", "rare"]


def test_bad_settings() -> None:
    with pytest.raises(ConfigError, match="method must be one of skipgram, fasttext"):
        train_embeddings([["a"]], method="glove")
    with pytest.raises(ConfigError, match="no word occurs at least min_count=5 times"):
        train_embeddings([["a", "b"]], min_count=5)


def test_sentences_from_text_conllu_and_conll(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "raw.txt.gz", "wt") as handle:
        handle.write("the cat  sat\n\nthe dog\n")
    (tmp_path / "a.conllu").write_text(
        "# text = Huizen.\n1-2\tHuizen.\t_\t_\t_\t_\t_\t_\t_\t_\n"
        "1\tHuizen\thuis\tNOUN\t_\t_\t0\troot\t_\t_\n2\t.\t.\tPUNCT\t_\t_\t1\tpunct\t_\t_\n\n"
    )
    (tmp_path / "a.conll").write_text("-DOCSTART- O\n\nJan B-PER\nwoont O\n\nHier O\n")
    assert list(sentences_from_files(tmp_path / "raw.txt.gz")) == [["the", "cat", "sat"], ["the", "dog"]]
    assert list(sentences_from_files([tmp_path / "a.conllu"], "conllu")) == [["Huizen", "."]]
    sentences = sentences_from_files([str(tmp_path / "a.conll"), tmp_path / "a.conll"], format="conll")
    assert list(sentences) == [["Jan", "woont"], ["Hier"]] * 2
    assert list(sentences) == [["Jan", "woont"], ["Hier"]] * 2  # can be read again, as gensim does


def test_sentences_from_files_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing.txt: file not found"):
        sentences_from_files(tmp_path / "missing.txt")
    (tmp_path / "a.txt").write_text("a b\n")
    with pytest.raises(ConfigError, match="format must be one of text, conllu, conll"):
        sentences_from_files(tmp_path / "a.txt", "xml")
    (tmp_path / "bad.conllu").write_text("1 Huizen\n")
    with pytest.raises(DataError, match=r"bad.conllu:1: expected 10 tab-separated columns"):
        list(sentences_from_files(tmp_path / "bad.conllu", "conllu"))


def test_mix_corpora_and_split_by_prefix() -> None:
    corpora = {"nl": [["huis", "Amsterdam"], ["boom"]], "af": [["huis"]]}
    plain = mix_corpora(corpora, seed=None)
    assert plain == [["huis", "Amsterdam"], ["boom"], ["huis"]]
    prefixed = mix_corpora(corpora, prefix=True, seed=1)
    assert sorted(prefixed) == sorted([["nl:huis", "nl:Amsterdam"], ["nl:boom"], ["af:huis"]])
    assert prefixed == mix_corpora(corpora, prefix=True, seed=1)

    vectors = train_embeddings(prefixed * 5, dim=4, epochs=1)
    by_language = split_by_prefix(vectors)
    assert sorted(by_language) == ["af", "nl"]
    assert sorted(by_language["nl"].words) == ["Amsterdam", "boom", "huis"]
    row = vectors.words.index("af:huis")
    np.testing.assert_array_equal(by_language["af"].vectors, vectors.vectors[[row]])
