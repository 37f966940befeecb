"""The ``babeltag embeddings`` commands end to end on small files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from babeltag.cli import main
from babeltag.embeddings.vectors import WordVectors, read_vec, write_vec


def test_train_writes_a_vec_file_of_the_corpus_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "text.txt"
    corpus.write_text("the cat sat\nthe dog sat\na cat ran\n" * 20, encoding="utf-8")
    out = tmp_path / "text.vec"
    assert main(["embeddings", "train", str(corpus), "--out", str(out), "--dim", "8", "--epochs", "2"]) == 0
    vectors = read_vec(out)
    assert set(vectors.words) == {"the", "cat", "sat", "dog", "a", "ran"}
    assert vectors.dim == 8
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["words"] == 6


def test_align_recovers_a_rotation_and_evaluate_scores_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    X = rng.normal(size=(300, 10)).astype(np.float32)
    rotation, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    write_vec(WordVectors(words, X), tmp_path / "src.vec")
    write_vec(WordVectors(words, (X @ rotation).astype(np.float32)), tmp_path / "tgt.vec")
    pairs = "".join(f"{w} {w}\n" for w in words)
    (tmp_path / "dict.txt").write_text(pairs, encoding="utf-8")
    assert (
        main(
            [
                "embeddings",
                "split",
                str(tmp_path / "dict.txt"),
                "--train-out",
                str(tmp_path / "train.txt"),
                "--test-out",
                str(tmp_path / "test.txt"),
                "--test-size",
                "100",
            ]
        )
        == 0
    )
    train_words = {line.split()[0] for line in (tmp_path / "train.txt").read_text().splitlines()}
    test_words = {line.split()[0] for line in (tmp_path / "test.txt").read_text().splitlines()}
    assert len(test_words) == 100 and not train_words & test_words
    assert (
        main(
            [
                "embeddings",
                "align",
                str(tmp_path / "src.vec"),
                str(tmp_path / "tgt.vec"),
                "--method",
                "dictionary",
                "--dictionary",
                str(tmp_path / "train.txt"),
                "--out",
                str(tmp_path / "src.aligned.vec"),
                "--target-out",
                str(tmp_path / "tgt.aligned.vec"),
                "--normalise",
                "",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(
            [
                "embeddings",
                "evaluate",
                str(tmp_path / "src.aligned.vec"),
                str(tmp_path / "tgt.aligned.vec"),
                "--dictionary",
                str(tmp_path / "test.txt"),
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["nn"]["p@1"] == pytest.approx(1.0)
    assert result["csls"]["p@1"] == pytest.approx(1.0)
    assert result["nn"]["covered"] == 100


def test_align_with_mismatched_dimensions_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_vec(WordVectors(["a", "b"], np.eye(2, 4, dtype=np.float32)), tmp_path / "src.vec")
    write_vec(WordVectors(["a", "b"], np.eye(2, 3, dtype=np.float32)), tmp_path / "tgt.vec")
    code = main(
        [
            "embeddings",
            "align",
            str(tmp_path / "src.vec"),
            str(tmp_path / "tgt.vec"),
            "--out",
            str(tmp_path / "o.vec"),
        ]
    )
    assert code == 2
    assert "4-dimensional" in capsys.readouterr().err
    assert not (tmp_path / "o.vec").exists()


def test_train_reads_each_input_in_its_own_format(tmp_path: Path) -> None:
    text = tmp_path / "raw.txt"
    text.write_text("alpha beta gamma\n" * 10, encoding="utf-8")
    conllu = tmp_path / "tagged.conllu"
    conllu.write_text(
        "".join(
            "1\tdelta\t_\tNOUN\t_\t_\t0\troot\t_\t_\n2\tepsilon\t_\tVERB\t_\t_\t1\tdep\t_\t_\n\n"
            for _ in range(10)
        ),
        encoding="utf-8",
    )
    out = tmp_path / "mixed.vec"
    code = main(
        [
            "embeddings",
            "train",
            str(text),
            f"conllu:{conllu}",
            "--out",
            str(out),
            "--dim",
            "4",
            "--epochs",
            "1",
        ]
    )
    assert code == 0
    assert set(read_vec(out).words) == {"alpha", "beta", "gamma", "delta", "epsilon"}
