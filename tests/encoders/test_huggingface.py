"""HuggingFaceEncoder and HuggingFacePieces on a tiny random BERT and a WordPiece tokenizer, both
built here and saved to a temporary directory: no download, no network."""

from __future__ import annotations

import string
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from babeltag.encoders.huggingface import HuggingFaceEncoder, HuggingFacePieces
from babeltag.errors import ConfigError, ModelArchiveError

transformers = pytest.importorskip("transformers")

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB = (
    SPECIALS
    + ["the", "cat", "sat"]
    + list(string.ascii_lowercase)
    + ["##" + c for c in string.ascii_lowercase]  # "cats" -> cat ##s
)
PAD, UNK, CLS, SEP = 0, 1, 2, 3
HIDDEN, LAYERS = 16, 2


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory: pytest.TempPathFactory, make_tiny_bert: Callable[..., Path]) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), VOCAB, HIDDEN, LAYERS)


def batch() -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.tensor([[CLS, 5, 6, 7, 8, SEP], [CLS, 9, 10, SEP, PAD, PAD]])
    return ids, ids != PAD


def reference_states(encoder: HuggingFaceEncoder) -> tuple[torch.Tensor, ...]:
    ids, mask = batch()
    with torch.no_grad():
        states: tuple[torch.Tensor, ...] = encoder.model(
            input_ids=ids, attention_mask=mask.long(), output_hidden_states=True
        ).hidden_states
    return states


def test_shape_and_dims(bert_dir: Path) -> None:
    encoder = HuggingFaceEncoder(bert_dir).eval()
    ids, mask = batch()
    out = encoder(ids, mask, language_ids=torch.tensor([0, 1]))
    assert out.shape == (2, 6, HIDDEN)
    assert encoder.output_dim == HIDDEN
    assert encoder.max_pieces == 64


@pytest.mark.parametrize("layers", ["last", 0, 1, -1])
def test_layer_choice_matches_hidden_states(bert_dir: Path, layers: str | int) -> None:
    encoder = HuggingFaceEncoder(bert_dir, layers=layers).eval()
    states = reference_states(encoder)
    ids, mask = batch()
    with torch.no_grad():
        out = encoder(ids, mask)
    torch.testing.assert_close(out, states[-1 if layers == "last" else layers])


def test_mix_is_scalar_mix_of_all_hidden_states(bert_dir: Path) -> None:
    encoder = HuggingFaceEncoder(bert_dir, layers="mix").eval()
    assert encoder.mix is not None and encoder.mix.num_layers == LAYERS + 1
    with torch.no_grad():
        encoder.mix.weights.copy_(torch.tensor([0.3, -0.2, 1.0]))
        encoder.mix.gamma.fill_(2.0)
    states = reference_states(encoder)
    ids, mask = batch()
    with torch.no_grad():
        out = encoder(ids, mask)
    weights = torch.softmax(torch.tensor([0.3, -0.2, 1.0]), dim=0)
    expected = 2.0 * sum(w * h for w, h in zip(weights, states, strict=True))
    torch.testing.assert_close(out, expected)


def test_bad_layer_index(bert_dir: Path) -> None:
    with pytest.raises(ConfigError, match="between -3 and 2"):
        HuggingFaceEncoder(bert_dir, layers=3)
    with pytest.raises(ConfigError, match="'first'"):
        HuggingFaceEncoder(bert_dir, layers="first")


def test_freeze(bert_dir: Path) -> None:
    encoder = HuggingFaceEncoder(bert_dir, freeze=True, layers="mix")
    encoder.train()
    assert encoder.training and not encoder.model.training
    assert all(not p.requires_grad for p in encoder.model.parameters())
    ids, mask = batch()
    encoder(ids, mask).sum().backward()
    assert encoder.mix is not None and encoder.mix.weights.grad is not None
    assert all(p.grad is None for p in encoder.model.parameters())

    trainable = HuggingFaceEncoder(bert_dir).train()
    assert trainable.model.training
    assert all(p.requires_grad for p in trainable.model.parameters())


def test_save_and_reload_gives_the_same_outputs(bert_dir: Path, tmp_path: Path) -> None:
    encoder = HuggingFaceEncoder(bert_dir).eval()
    encoder.model.save_pretrained(tmp_path / "copy")
    reloaded = HuggingFaceEncoder(tmp_path / "copy").eval()
    ids, mask = batch()
    with torch.no_grad():
        torch.testing.assert_close(reloaded(ids, mask), encoder(ids, mask), rtol=0, atol=0)


def test_missing_directory_or_config(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelArchiveError, match="no-such-model: no such directory") as error:
        HuggingFaceEncoder(missing)
    assert "config.json" in str(error.value)
    with pytest.raises(ModelArchiveError, match="no-such-model"):
        HuggingFacePieces(missing)
    with pytest.raises(ModelArchiveError, match="config.json is missing"):
        HuggingFaceEncoder(tmp_path)


def test_broken_weights(bert_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text((bert_dir / "config.json").read_text())
    (tmp_path / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelArchiveError, match="cannot load a transformer"):
        HuggingFaceEncoder(tmp_path)


def test_encode_words_maps_pieces_to_words(bert_dir: Path) -> None:
    pieces = HuggingFacePieces(bert_dir)
    assert pieces.pad_id == PAD
    ids, owners = pieces.encode_words(["the", "cats", "sat"])
    assert ids == [CLS, VOCAB.index("the"), VOCAB.index("cat"), VOCAB.index("##s"), VOCAB.index("sat"), SEP]
    assert owners == [-1, 0, 1, 1, 2, -1]


@pytest.mark.parametrize(
    "words",
    [["the", "\x07", "cat"], ["\x07", "cat"], ["cat", "\x07"], ["\x07"], ["", "cat"], ["€", "cat"]],
)
def test_every_word_gets_a_piece(bert_dir: Path, words: list[str]) -> None:
    ids, owners = HuggingFacePieces(bert_dir).encode_words(words)
    assert ids[0] == CLS and ids[-1] == SEP and owners[0] == owners[-1] == -1
    assert owners[1:-1] == sorted(owners[1:-1])  # pieces stay in word order
    assert set(owners[1:-1]) == set(range(len(words)))
    for i, word in enumerate(words):
        if word not in ("the", "cat"):
            assert [p for p, o in zip(ids, owners, strict=True) if o == i] == [UNK]
