import gzip
from pathlib import Path

import numpy as np
import pytest

from babeltag.embeddings.vectors import read_vec
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
