import gzip
from pathlib import Path

import numpy as np
import pytest

from babeltag.embeddings.evaluate import bli_precision, read_dictionary, split_dictionary
from babeltag.embeddings.vectors import WordVectors
from babeltag.errors import ConfigError, DataError


def test_read_dictionary(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "nl-en.txt.gz", "wt") as handle:
        handle.write("huis house\nhuis home\n\nboom\ttree\n")
    assert read_dictionary(tmp_path / "nl-en.txt.gz") == [
        ("huis", "house"),
        ("huis", "home"),
        ("boom", "tree"),
    ]
    (tmp_path / "bad.txt").write_text("huis house\nboom\n")
    with pytest.raises(
        DataError, match=r"bad.txt:2: expected a source word and a target word .* found 1 fields"
    ):
        read_dictionary(tmp_path / "bad.txt")


def test_split_dictionary_keeps_source_words_on_one_side() -> None:
    pairs = [(f"s{i}", f"t{i}{j}") for i in range(20) for j in range(i % 3 + 1)]
    train, test = split_dictionary(pairs, test_fraction=0.25, seed=1)
    train_sources, test_sources = {s for s, _ in train}, {s for s, _ in test}
    assert len(test_sources) == 5 and not train_sources & test_sources
    assert sorted(train + test) == sorted(pairs)
    assert train == [pair for pair in pairs if pair in train]  # original order kept
    assert split_dictionary(pairs, test_fraction=0.25, seed=1) == (train, test)
    assert split_dictionary(pairs, test_fraction=0.25, seed=2) != (train, test)
    _, test = split_dictionary(pairs, test_size=3)
    assert len({s for s, _ in test}) == 3
    with pytest.raises(ConfigError, match="exactly one of test_fraction and test_size"):
        split_dictionary(pairs)
    with pytest.raises(ConfigError, match="test_size must be between 0 and 20"):
        split_dictionary(pairs, test_size=21)


def vectors(words: str, rows: list[list[float]]) -> WordVectors:
    return WordVectors(words.split(), np.array(rows, dtype=np.float32))


def test_bli_precision_by_hand() -> None:
    # targets on the unit circle at 0, 30, 60, 90 degrees; each source row's ranking is easy to see
    angles = np.radians([0, 30, 60, 90])
    tgt = vectors("t0 t30 t60 t90", np.stack([np.cos(angles), np.sin(angles)], axis=1).tolist())
    src = vectors("a b c d", [[1, 0.01], [1, 1.1], [0, 1], [1, 0.2]])
    # rankings by angle: a (0.6 deg): t0 t30 t60 t90; b (47.7 deg): t60 t30 t90 t0; c (90 deg): t90 t60 t30 t0
    pairs = [("a", "t0"), ("b", "t30"), ("c", "t0"), ("c", "t30"), ("d", "missing"), ("zzz", "t0")]
    result = bli_precision(src, tgt, pairs, ks=(1, 2, 3))
    # covered: a (rank 1), b (rank 2), c (best gold t30 at rank 3); d has no translation in tgt, zzz no vector
    assert result == {
        "p@1": pytest.approx(1 / 3),
        "p@2": pytest.approx(2 / 3),
        "p@3": pytest.approx(1.0),
        "covered": 3,
        "source_words": 5,
        "coverage": pytest.approx(3 / 5),
    }


def test_bli_precision_csls_discounts_a_hub() -> None:
    e = np.eye(5)
    hub = e[:4].sum(axis=0) / 2
    tgt = WordVectors(["t0", "t1", "t2", "t3", "hub"], np.vstack([e[:4], hub]).astype(np.float32))
    src = WordVectors(["s0", "s1", "s2", "s3"], (e[:4] + 1.2 * hub).astype(np.float32))
    pairs = [(f"s{i}", f"t{i}") for i in range(4)]
    assert bli_precision(src, tgt, pairs, ks=(1,), method="nn")["p@1"] == 0
    assert bli_precision(src, tgt, pairs, ks=(1,), method="csls", csls_k=2)["p@1"] == 1


def test_bli_precision_needs_covered_pairs() -> None:
    src = vectors("a", [[1, 0]])
    with pytest.raises(ConfigError, match="none of the 1 test source words"):
        bli_precision(src, src, [("a", "b")])
