"""Streaming prediction: chunked reading gives what the whole-file readers give, errors name the real
line, output is the same whatever the chunk size, files appear whole or not at all; and the scores
that ride along with the labels (CRF marginals against brute force)."""

from __future__ import annotations

import io
import itertools
import math
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from babeltag.data import readers, writers
from babeltag.data.batching import TensorDataset
from babeltag.data.datasets import normaliser_of
from babeltag.data.synthetic import make_language_family, write_corpus
from babeltag.errors import DataError
from babeltag.heads.crf import LinearChainCRF
from babeltag.models.archive import load_model
from babeltag.models.build import training_scheme
from babeltag.models.predict import (
    chunks,
    crf_marginals,
    iter_unlabelled,
    predict_file,
    predict_ids,
    predict_ids_with_scores,
    predict_labels,
    read_unlabelled,
)

NER = {
    "task": "ner",
    "language": "syn_src",
    "format": "conll",
    "train": "ner/syn_src/train.txt",
    "tag_scheme": "iob2",
}
POS = {"task": "upos", "language": "syn_src", "format": "conllu", "train": "ud/syn_src/train.conllu"}
SENTIMENT = {"task": "sentiment", "language": "syn_src", "format": "csv", "train": "cls/syn_src/train.csv"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    languages = make_language_family(seed=0)
    write_corpus(root, [languages["source"]], sizes={"train": 30, "dev": 5, "test": 25}, seed=0)
    return root


@pytest.fixture(scope="module")
def ner_model(data_dir: Path, save_tiny_model: Callable[..., Path]) -> Path:
    # trained in BIOES, written in IOB2: prediction converts between the two
    return save_tiny_model(NER, "crf", data_dir, data_dir.parent / "ner", train_scheme="bioes")


@pytest.fixture(scope="module")
def pos_model(data_dir: Path, save_tiny_model: Callable[..., Path]) -> Path:
    return save_tiny_model(POS, "softmax", data_dir, data_dir.parent / "pos")


def test_chunks_pull_one_chunk_at_a_time() -> None:
    pulled = []

    def numbers() -> Any:
        for i in range(7):
            pulled.append(i)
            yield i

    stream = chunks(numbers(), 3)
    assert next(stream) == [0, 1, 2] and pulled == [0, 1, 2]
    assert list(stream) == [[3, 4, 5], [6]]
    assert list(chunks([], 3)) == []
    with pytest.raises(ValueError, match="at least 1"):
        list(chunks([1], 0))


@pytest.mark.parametrize(
    ("file_format", "relative"),
    [("conll", "ner/syn_src/test.txt"), ("conllu", "ud/syn_src/test.conllu"), ("text", "raw.txt")],
)
def test_streamed_examples_are_the_whole_file_readers_examples(
    ner_model: Path, data_dir: Path, file_format: str, relative: str
) -> None:
    raw = data_dir / "raw.txt"
    raw.write_text("\n".join(["a b  c", "", "  ", "d\te ."]) + "\n", encoding="utf-8")
    loaded = load_model(ner_model)
    path = data_dir / relative
    streamed = list(iter_unlabelled(loaded, path, file_format))
    assert streamed == read_unlabelled(loaded, path, file_format)
    assert len(streamed) == (2 if file_format == "text" else 25)


def test_a_conll_file_with_a_token_column_other_than_0_streams_like_read_conll(
    ner_model: Path, data_dir: Path
) -> None:
    loaded = load_model(ner_model)
    data = loaded.config.data.model_copy(update={"token_column": 1})  # UPOS: just another column
    loaded = replace(loaded, config=loaded.config.model_copy(update={"data": data}))
    path = data_dir / "ner/syn_src/test.txt"
    assert list(iter_unlabelled(loaded, path, "conll")) == read_unlabelled(loaded, path, "conll")


def whole_file_output(loaded_dir: Path, path: Path, file_format: str) -> str:
    """What prediction wrote before it streamed: read everything, label everything, write everything."""
    loaded = load_model(loaded_dir)
    config = loaded.config
    examples = read_unlabelled(loaded, path, file_format)
    predicted = predict_labels(
        loaded.model,
        examples,
        loaded.vocabularies,
        normaliser_of(config),
        training_scheme(config),
        config.data.tag_scheme,
    )
    handle = io.StringIO()
    if file_format == "conllu":
        writers.write_conllu(examples, predicted, handle, label_field=config.data.label_field)
    else:
        writers.WRITERS[file_format](examples, predicted, handle)  # type: ignore[operator]
    return handle.getvalue()


@pytest.mark.parametrize(("model", "file_format"), [("ner", "conll"), ("pos", "conllu"), ("ner", "text")])
def test_output_does_not_depend_on_the_chunk_size(
    request: pytest.FixtureRequest,
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    model: str,
    file_format: str,
) -> None:
    model_dir = request.getfixturevalue(f"{model}_model")
    source = {
        "conll": data_dir / "ner/syn_src/test.txt",
        "conllu": data_dir / "ud/syn_src/test.conllu",
        "text": tmp_path / "raw.txt",
    }[file_format]
    if file_format == "text":
        sentences = readers.read_conll(data_dir / NER["train"], "syn_src", "ner")
        source.write_text("\n".join(" ".join(e.tokens) for e in sentences), encoding="utf-8")
    expected = whole_file_output(model_dir, source, file_format)
    sentences = 30 if file_format == "text" else 25
    for chunk_size in (1, 4, 1000):
        out = tmp_path / f"out{chunk_size}"
        labelled = predict_file(
            model_dir, str(source), file_format, str(out), batch_size=3, chunk_size=chunk_size
        )
        assert labelled == sentences
        assert out.read_text(encoding="utf-8") == expected
    assert f"labelled {sentences} sentences" in capsys.readouterr().err


def test_standard_input_is_streamed_to_standard_output(
    ner_model: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = data_dir / "ner/syn_src/test.txt"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(source.read_bytes())))
    assert predict_file(ner_model, "-", "conll", "-", chunk_size=4) == 25
    captured = capsys.readouterr()
    assert captured.out == whole_file_output(ner_model, source, "conll")
    assert "labelled 25 sentences" in captured.err


def test_a_bad_line_in_a_late_chunk_names_its_line_and_leaves_no_file(
    ner_model: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = (data_dir / "ner/syn_src/test.txt").read_text(encoding="utf-8").splitlines()
    bad = max(i for i, line in enumerate(lines) if line.strip())  # near the end: many chunks in
    lines[bad] += " EXTRA"
    broken = tmp_path / "broken.txt"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    with pytest.raises(DataError, match=rf"broken\.txt:{bad + 1}: expected 3 columns \(as on line 3\)"):
        predict_file(ner_model, str(broken), "conll", str(out), chunk_size=2)
    assert list(tmp_path.iterdir()) == [broken]  # neither the output nor its temporary file

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(broken.read_bytes())))
    with pytest.raises(DataError, match=rf"<stdin>:{bad + 1}: expected 3 columns"):
        predict_file(ner_model, "-", "conll", str(out), chunk_size=2)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"ok\n\xff\n")))
    with pytest.raises(DataError, match=r"<stdin>:2: cannot decode byte b'\\xff'"):
        predict_file(ner_model, "-", "text", str(out))
    assert not out.exists()


def test_conllu_errors_in_a_stream_name_the_file_and_line(ner_model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.conllu"
    good = "1\ta\t_\t_\t_\t_\t_\t_\t_\t_\n"
    bad.write_text(good + "\n" + good + "1 b _ _ _ _ _ _ _ _\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.conllu:4: expected 10 tab-separated columns"):
        list(iter_unlabelled(load_model(ner_model), bad, "conllu"))


def brute_force_marginals(crf: LinearChainCRF, emissions: torch.Tensor, length: int) -> torch.Tensor:
    start, transitions, end = crf.scores()
    k = emissions.shape[1]
    weights = torch.zeros(length, k, dtype=torch.float64)
    total = 0.0
    for path in itertools.product(range(k), repeat=length):
        score = start[path[0]] + end[path[-1]] + sum(emissions[t, y] for t, y in enumerate(path))
        score = score + sum(transitions[a, b] for a, b in itertools.pairwise(path))
        weight = math.exp(float(score))
        total += weight
        for t, y in enumerate(path):
            weights[t, y] += weight
    return weights / total


def test_crf_marginals_are_the_brute_force_ones() -> None:
    torch.manual_seed(0)
    allowed = torch.ones(3, 3, dtype=torch.bool)
    allowed[0, 2] = False  # a forbidden move: its paths carry no probability
    crf = LinearChainCRF(3, allowed_transitions=allowed)
    torch.nn.init.normal_(crf.transitions)
    emissions = torch.randn(2, 4, 3)
    mask = torch.tensor([[True] * 4, [True, True, False, False]])
    with torch.inference_mode():  # as when called from inside a model's prediction
        marginals = crf_marginals(crf, emissions, mask)
    for row, length in enumerate((4, 2)):
        with torch.no_grad():
            expected = brute_force_marginals(crf, emissions[row].double(), length)
        assert torch.allclose(marginals[row, :length].double(), expected, atol=1e-5)
        assert bool((marginals[row, length:] == 0).all())


@pytest.mark.parametrize("head", ["crf", "softmax", "classifier"])
def test_scores_come_with_the_same_ids(
    data_dir: Path, head: str, save_tiny_model: Callable[..., Path]
) -> None:
    data = SENTIMENT if head == "classifier" else NER
    model_dir = save_tiny_model(data, head, data_dir, data_dir.parent / f"scores-{head}")
    loaded = load_model(model_dir)
    examples = readers.read_conll(data_dir / NER["train"], "syn_src", "x", label_column=None)
    dataset = TensorDataset(examples, loaded.vocabularies, normaliser_of(loaded.config), None)
    ids, scores = predict_ids_with_scores(loaded.model, dataset, batch_size=7)
    assert ids == predict_ids(loaded.model, dataset, batch_size=7)
    k = len(loaded.vocabularies.labels)
    for row_ids, row_scores in zip(ids, scores, strict=True):
        if head == "classifier":
            assert len(row_scores) == k and sum(row_scores) == pytest.approx(1, abs=1e-5)
            assert max(row_scores) == row_scores[row_ids[0]]
        else:
            assert len(row_scores) == len(row_ids) and all(0 < p <= 1 + 1e-6 for p in row_scores)
            if head == "softmax":  # the arg max of a softmax is at least 1/K
                assert all(p >= 1 / k - 1e-6 for p in row_scores)
