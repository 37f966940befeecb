"""Entity piece overlap and per-layer translation retrieval (Pires et al. 2019)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from babeltag.data.example import Example
from babeltag.data.subwords import train_subwords
from babeltag.data.synthetic import LanguageSpec, parallel
from babeltag.encoders.pretrained import save_encoder
from babeltag.encoders.transformer import TransformerEncoder
from babeltag.evaluation.subword_analyses import (
    entity_pieces,
    piece_overlap,
    plot_f1_against_overlap,
    plot_retrieval_by_layer,
    retrieval_by_layer,
    sentence_vectors,
)


def example(tokens: list[str], labels: list[str]) -> Example:
    return Example(tokens=tokens, labels=labels, language="xx", task="ner", origin="t:1")


def test_overlap_follows_pires_et_al() -> None:
    assert piece_overlap({"a", "b"}, {"a", "b"}) == 0.5
    assert piece_overlap({"a", "b"}, {"c"}) == 0.0
    assert piece_overlap({"a", "b", "c"}, {"c"}) == pytest.approx(1 / 4)
    assert piece_overlap(set(), set()) == 0.0


def test_entity_pieces_take_only_entity_words() -> None:
    vocabulary, _ = train_subwords(
        {"xx": [["Paris", "is", "big"], ["Berlin", "is", "small"]] * 20}, 60, min_frequency=1
    )
    pieces = entity_pieces(vocabulary, [example(["Paris", "is", "big"], ["B-LOC", "O", "O"])], "iob2")
    assert pieces == set(vocabulary.pieces(["Paris"]))
    assert not pieces & set(vocabulary.pieces(["is", "big"]))


@pytest.fixture
def pud_like(tmp_path: Path, synthetic_languages: dict[str, LanguageSpec]) -> tuple[Path, list[str]]:
    """Synthetic translations written as ud-pud/<code>/<code>_pud-ud-test.conllu.gz with sent_ids."""
    specs = list(synthetic_languages.values())
    rendered = parallel(specs, 40, seed=4)
    for code, examples in rendered.items():
        lines = []
        for e in examples:
            lines.append(f"# sent_id = {e.meta['sent_id']}")
            lines += [f"{i + 1}\t{t}\t_\tX\t_\t_\t0\t_\t_\t_" for i, t in enumerate(e.tokens)]
            lines.append("")
        folder = tmp_path / "ud-pud" / code
        folder.mkdir(parents=True)
        with gzip.open(folder / f"{code}_pud-ud-test.conllu.gz", "wt", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    return tmp_path, sorted(rendered)


def test_retrieval_by_layer_gives_one_accuracy_per_layer(
    pud_like: tuple[Path, list[str]], tmp_path: Path
) -> None:
    data_dir, codes = pud_like
    corpus = {c: [["w" + str(i) for i in range(5)]] * 5 for c in codes}
    vocabulary, _ = train_subwords(corpus, 40, min_frequency=1)
    encoder = TransformerEncoder(len(vocabulary), 16, 2, 2, max_positions=64, num_languages=len(codes)).eval()
    save_encoder(tmp_path / "enc", encoder, vocabulary, codes)
    accuracy = retrieval_by_layer(tmp_path / "enc", data_dir, codes, pivot=codes[0])
    assert set(accuracy) == set(codes[1:])
    assert all(len(values) == 3 and all(0.0 <= v <= 1.0 for v in values) for values in accuracy.values())
    plot = plot_retrieval_by_layer(accuracy, tmp_path / "retrieval.png")
    assert plot.stat().st_size > 1000


def test_sentence_vectors_average_the_sentence_pieces_only(tmp_path: Path) -> None:
    vocabulary, _ = train_subwords({"xx": [["ab", "cd"]] * 10}, 20, min_frequency=1)
    encoder = TransformerEncoder(len(vocabulary), 8, 1, 2, max_positions=16).eval()
    save_encoder(tmp_path, encoder, vocabulary, ["xx"])
    from babeltag.encoders.pretrained import load_encoder

    pretrained = load_encoder(tmp_path)
    alone = sentence_vectors(pretrained, [["ab", "cd"]], "xx")
    padded = sentence_vectors(pretrained, [["ab", "cd"], ["ab", "cd", "ab", "cd", "ab"]], "xx")
    assert np.allclose(alone[0][0], padded[0][0], atol=1e-5)  # embeddings: padding is not averaged in
    assert np.allclose(alone[-1][0], padded[-1][0], atol=1e-5)


def test_scatter_plot_is_written(tmp_path: Path) -> None:
    path = plot_f1_against_overlap([("en", "nl", 0.2, 60.0), ("en", "de", 0.1, 55.0)], tmp_path / "s.png")
    assert path.stat().st_size > 1000


def test_the_retrieval_command_writes_json_and_a_plot(
    pud_like: tuple[Path, list[str]], tmp_path: Path
) -> None:
    from babeltag.cli import main

    data_dir, codes = pud_like
    vocabulary, _ = train_subwords({c: [["a", "b"]] * 5 for c in codes}, 30, min_frequency=1)
    save_encoder(
        tmp_path / "enc", TransformerEncoder(len(vocabulary), 8, 1, 2, max_positions=64), vocabulary, codes
    )
    out = tmp_path / "probe"
    args = ["encoder", "retrieval", str(tmp_path / "enc"), "--data-dir", str(data_dir), "--pivot", codes[0]]
    assert main([*args, "--out", str(out)]) == 0
    assert (out / "retrieval.json").is_file() and (out / "retrieval_by_layer.png").is_file()


def test_zero_shot_table_reports_gains_over_the_baseline() -> None:
    from babeltag.evaluation.subword_analyses import zero_shot_average, zero_shot_table

    result = {"languages": ["a", "b", "c"], "scores": {"a": {"a": 90.0, "b": 60.0, "c": 40.0}}}
    baseline = {"languages": ["a", "b", "c"], "scores": {"a": {"a": 88.0, "b": 30.0, "c": 30.0}}}
    assert zero_shot_average(result["scores"], "a") == 50.0  # the diagonal is not zero-shot
    table = zero_shot_table(result, baseline)
    assert "| a | **90.0 (+2.0)** | 60.0 (+30.0) | 40.0 (+10.0) | 50.0 (+20.0) |" in table
    assert "+20.00 points" in table
