import gzip
from pathlib import Path

import numpy as np
import pytest

from babeltag.embeddings.vectors import (
    WordVectors,
    read_vec,
    read_vectors,
    read_word2vec_binary,
    write_vec,
)
from babeltag.errors import DataError


def test_reads_with_and_without_header_and_gzip(tmp_path: Path) -> None:
    body = "cat 0.1 0.2 0.3\ndog -1 0 1e-2\n"
    (tmp_path / "a.vec").write_text("2 3\n" + body)
    (tmp_path / "b.vec").write_text(body)
    with gzip.open(tmp_path / "c.vec.gz", "wt") as handle:
        handle.write("2 3\n" + body)
    for name in ("a.vec", "b.vec", "c.vec.gz"):
        vectors = read_vec(tmp_path / name)
        assert vectors.words == ["cat", "dog"] and vectors.dim == 3
        np.testing.assert_allclose(vectors.vectors[1], [-1, 0, 0.01])


def test_keeps_only_needed_words_and_caps(tmp_path: Path) -> None:
    path = tmp_path / "v.vec"
    path.write_text("".join(f"w{i} {i} {i}\n" for i in range(100)))
    assert read_vec(path, keep={"w3", "w50"}).words == ["w3", "w50"]
    assert len(read_vec(path, max_words=10).words) == 10


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("2 3\ncat 0.1 0.2 0.3\ndog 0.1 0.2\n", 3, "expected a word and 3 numbers, found 2"),
        ("cat 0.1 0.2\ndog 0.1 0.2 0.3\n", 2, "expected a word and 2 numbers, found 3"),
        ("cat 0.1 abc\n", 1, "vector components must be numbers"),
    ],
)
def test_bad_rows_name_the_line(tmp_path: Path, text: str, line: int, expected: str) -> None:
    path = tmp_path / "bad.vec"
    path.write_text(text)
    with pytest.raises(DataError, match=f"bad.vec:{line}: {expected}"):
        read_vec(path)


def test_bad_header_and_one_dimensional_first_row_are_explained(tmp_path: Path) -> None:
    path = tmp_path / "v.vec"
    path.write_text("2 0\ncat 0.1\n")
    with pytest.raises(DataError, match=r"v.vec:1: expected a 'count dim' header with dim >= 1"):
        read_vec(path)
    path.write_text("2 3.0\ncat 0.1 0.2 0.3\n")  # not a header: a 1-d row of the word "2"
    with pytest.raises(DataError, match=r"v.vec:2: expected a word and 1 numbers.*header must be two whole"):
        read_vec(path)
    path.write_text("2 x3\ncat 0.1 0.2 0.3\n")
    with pytest.raises(DataError, match=r"v.vec:1: vector components must be numbers; a 'count dim' header"):
        read_vec(path)
    path.write_text("")
    with pytest.raises(DataError, match="no vectors found"):
        read_vec(path)


def test_duplicate_words_keep_the_first_row(tmp_path: Path) -> None:
    path = tmp_path / "v.vec"
    path.write_text("3 2\ncat 1 2\ndog 3 4\ncat 5 6\n")
    vectors = read_vec(path)
    assert vectors.words == ["cat", "dog"]
    np.testing.assert_array_equal(vectors.vectors[0], [1, 2])


def test_fasttext_trailing_space_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "v.vec"
    path.write_text("2 2\ncat 1 2 \n\ndog 3 4 \n")
    assert read_vec(path).words == ["cat", "dog"]


def _random_vectors(count: int = 5, dim: int = 4) -> WordVectors:
    rng = np.random.default_rng(0)
    words = ["cat", "dog", "Ünïcode", "a\u00a0b", "x-y"][:count]
    return WordVectors(words, rng.normal(size=(count, dim)).astype(np.float32))


@pytest.mark.parametrize("name", ["out.vec", "out.vec.gz"])
def test_write_vec_round_trip_is_exact(tmp_path: Path, name: str) -> None:
    vectors = _random_vectors()
    write_vec(vectors, tmp_path / name)
    back = read_vec(tmp_path / name)
    assert back.words == vectors.words
    np.testing.assert_array_equal(back.vectors, vectors.vectors)  # bit for bit
    assert [path.name for path in tmp_path.iterdir()] == [name]  # no temporary file left behind


def test_write_vec_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "out.vec"
    path.write_text("old contents\n")
    bad = WordVectors(["fine", "two words"], np.zeros((2, 3), dtype=np.float32))
    with pytest.raises(DataError, match="cannot write the word 'two words'"):
        write_vec(bad, path)
    assert path.read_text() == "old contents\n"

    class Boom(Exception):
        pass

    class Exploding(np.ndarray):
        def tolist(self) -> list:  # type: ignore[override]
            raise Boom

    exploding = WordVectors(["a"], np.zeros((1, 3), dtype=np.float32).view(Exploding))
    with pytest.raises(Boom):
        write_vec(exploding, path)
    assert path.read_text() == "old contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.vec"]


def _write_word2vec_binary(path: Path, words: list[str], vectors: np.ndarray, newline: bool = True) -> None:
    """The layout of word2vec.c's ``-binary 1`` output, written by hand (not by the reader's inverse)."""
    data = f"{len(words)} {vectors.shape[1]}\n".encode()
    for word, row in zip(words, vectors, strict=True):
        data += word.encode() + b" " + row.astype("<f4").tobytes() + (b"\n" if newline else b"")
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as handle:
            handle.write(data)
    else:
        path.write_bytes(data)


@pytest.mark.parametrize(("name", "newline"), [("v.bin", True), ("v.bin", False), ("v.bin.gz", True)])
def test_word2vec_binary(tmp_path: Path, name: str, newline: bool) -> None:
    vectors = _random_vectors()
    # a vector whose bytes contain b" " and b"\n" must not confuse the reader
    vectors.vectors[1, :2] = np.frombuffer(b"  \n\n\n \n ", dtype="<f4")
    _write_word2vec_binary(tmp_path / name, vectors.words, vectors.vectors, newline)
    back = read_vectors(tmp_path / name)
    assert back.words == vectors.words
    np.testing.assert_array_equal(back.vectors, vectors.vectors)
    kept = read_word2vec_binary(tmp_path / name, keep={"dog", "x-y"})
    assert kept.words == ["dog", "x-y"]
    np.testing.assert_array_equal(kept.vectors, vectors.vectors[[1, 4]])
    assert read_word2vec_binary(tmp_path / name, max_words=2).words == ["cat", "dog"]


def test_word2vec_binary_duplicates_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "v.bin"
    rows = np.arange(6, dtype=np.float32).reshape(3, 2)
    _write_word2vec_binary(path, ["a", "b", "a"], rows)
    assert read_word2vec_binary(path).words == ["a", "b"]

    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DataError, match="the file ends before the 2 float32 numbers of record 3 of 3"):
        read_word2vec_binary(path)
    path.write_bytes(b"three 2\n")
    with pytest.raises(DataError, match=r"v.bin:1: expected a 'count dim' header line"):
        read_word2vec_binary(path)
    path.write_bytes(np.int32(793712314).tobytes() + b"\x00" * 20)
    with pytest.raises(DataError, match="fastText model"):
        read_word2vec_binary(path)
    path.write_bytes(b"1 2\n" + b"x" * 20_000)
    with pytest.raises(DataError, match="no b' ' within 10000 bytes"):
        read_word2vec_binary(path)


def test_read_vectors_dispatches_on_the_name(tmp_path: Path) -> None:
    vectors = _random_vectors()
    write_vec(vectors, tmp_path / "v.txt")
    _write_word2vec_binary(tmp_path / "v.bin", vectors.words, vectors.vectors)
    for name in ("v.txt", "v.bin"):
        np.testing.assert_array_equal(read_vectors(tmp_path / name).vectors, vectors.vectors)
