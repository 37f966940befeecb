"""The transformer encoder: shapes, padding, positions, languages, and reloading from disk."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from babeltag.data.subwords import train_subwords
from babeltag.encoders.pretrained import load_encoder, save_encoder
from babeltag.encoders.transformer import TransformerEncoder, sinusoidal_table
from babeltag.errors import ModelArchiveError


def encoder(**settings: object) -> TransformerEncoder:
    torch.manual_seed(0)
    model = TransformerEncoder(50, **{"dim": 16, "layers": 2, "heads": 2, "max_positions": 32, **settings})  # type: ignore[arg-type]
    return model.eval()


def test_padding_does_not_change_the_real_pieces() -> None:
    model = encoder()
    ids = torch.tensor([[2, 7, 8, 9, 3]])
    alone = model(ids, ids != 0)
    padded_ids = torch.tensor([[2, 7, 8, 9, 3, 0, 0], [2, 11, 3, 0, 0, 0, 0]])
    padded = model(padded_ids, padded_ids != 0)
    assert torch.allclose(alone[0], padded[0, :5], atol=1e-5)


def test_hidden_states_are_the_embeddings_and_every_layer() -> None:
    model = encoder(layers=3)
    ids = torch.tensor([[2, 7, 8, 3]])
    states = model.hidden_states(ids, ids != 0)
    assert len(states) == 4
    assert torch.allclose(states[-1], model(ids, ids != 0))


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_position_ids_can_restart(positions: str) -> None:
    model = encoder(positions=positions)
    pair = torch.tensor([[2, 7, 3, 2, 7, 3]])
    restart = torch.tensor([[0, 1, 2, 0, 1, 2]])
    embedded = model.embed(pair, position_ids=restart)
    # the same piece at the same (restarted) position embeds the same way
    assert torch.allclose(embedded[0, 1], embedded[0, 4])
    assert not torch.allclose(model.embed(pair)[0, 1], model.embed(pair)[0, 4])


def test_sinusoids_follow_the_formula() -> None:
    table = sinusoidal_table(10, 6)
    assert table[3, 2].item() == pytest.approx(torch.sin(torch.tensor(3 / 10000 ** (2 / 6))).item(), rel=1e-5)
    assert table[3, 3].item() == pytest.approx(torch.cos(torch.tensor(3 / 10000 ** (2 / 6))).item(), rel=1e-5)


def test_language_embeddings_change_the_output_and_zero_means_none() -> None:
    model = encoder(num_languages=3)
    ids = torch.tensor([[2, 7, 8, 3]])
    mask = ids != 0
    outputs = [model(ids, mask, torch.tensor([language])) for language in (1, 2)]
    assert not torch.allclose(outputs[0], outputs[1])
    per_piece = model(ids, mask, torch.tensor([[1, 1, 1, 1]]))
    assert torch.allclose(per_piece, outputs[0])


def test_too_long_a_sequence_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="32 positions"):
        encoder()(torch.ones(1, 40, dtype=torch.long), torch.ones(1, 40, dtype=torch.bool))


def test_heads_must_divide_the_size() -> None:
    with pytest.raises(ValueError, match="divisible"):
        TransformerEncoder(10, dim=10, heads=3)


def test_a_saved_encoder_reloads_with_identical_outputs(tmp_path: Path) -> None:
    corpus = {"xx": [["abc", "abd", "bcd"]] * 20, "yy": [["xyz", "xya"]] * 20}
    vocabulary, _ = train_subwords(corpus, 40, min_frequency=1)
    model = TransformerEncoder(len(vocabulary), 16, 2, 2, max_positions=32, num_languages=2).eval()
    save_encoder(tmp_path, model, vocabulary, ["xx", "yy"])
    loaded = load_encoder(tmp_path)
    loaded.encoder.eval()
    ids = torch.tensor([vocabulary.encode_words(["abc", "xyz"])[0]])
    assert torch.equal(
        model(ids, ids != 0, torch.tensor([2])), loaded.encoder(ids, ids != 0, torch.tensor([2]))
    )
    assert (
        loaded.languages == ["xx", "yy"] and loaded.language_id("yy") == 2 and loaded.language_id("zz") == 0
    )
    assert loaded.vocabulary.encode_words(["abc"]) == vocabulary.encode_words(["abc"])
    fresh = load_encoder(tmp_path, weights=False).encoder.eval()
    assert not torch.equal(fresh(ids, ids != 0), model(ids, ids != 0))


def test_the_embedding_norm_puts_every_input_on_unit_scale() -> None:
    model = encoder(embedding_norm=True, num_languages=2, dropout=0.0)
    ids = torch.tensor([[2, 7, 8, 3]])
    embedded = model.embed(ids, torch.tensor([1]))
    # layer norm with its initial gain 1 and bias 0: mean 0 and variance 1 per position
    assert torch.allclose(embedded.mean(-1), torch.zeros(1, 4), atol=1e-5)
    assert torch.allclose(embedded.var(-1, unbiased=False), torch.ones(1, 4), atol=1e-3)
    plain = encoder(embedding_norm=False, num_languages=2, dropout=0.0).embed(ids, torch.tensor([1]))
    assert plain.var(-1, unbiased=False).max() < 0.5  # std dim^-1/2 per table, three tables summed


def test_an_encoder_saved_before_the_embedding_norm_existed_still_loads(tmp_path: Path) -> None:
    corpus = {"xx": [["abc", "abd", "bcd"]] * 20}
    vocabulary, _ = train_subwords(corpus, 40, min_frequency=1)
    model = TransformerEncoder(len(vocabulary), 16, 2, 2, max_positions=32).eval()
    save_encoder(tmp_path, model, vocabulary, ["xx"])
    meta_path = tmp_path / "encoder.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    del meta["settings"]["embedding_norm"]  # as written by earlier versions
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    loaded = load_encoder(tmp_path).encoder.eval()
    assert loaded.embedding_norm is None
    ids = torch.tensor([vocabulary.encode_words(["abc"])[0]])
    assert torch.equal(loaded(ids, ids != 0), model(ids, ids != 0))


def test_a_folder_without_an_encoder_is_an_error_naming_the_missing_files(tmp_path: Path) -> None:
    (tmp_path / "encoder.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelArchiveError, match="encoder.safetensors"):
        load_encoder(tmp_path)


@pytest.mark.parametrize("embedding_norm", [True, False])
def test_masked_lm_learns_to_read_other_positions(embedding_norm: bool) -> None:
    """A copy task: each sentence is 8 random pieces twice over. A masked piece is predictable
    only from its copy, so a loss far below ln(50) (what any one position alone allows) shows
    attention, positions, padding masks and the tied output layer working together."""
    from babeltag.objectives.masked_lm import MaskedLMHead, mask_pieces

    torch.manual_seed(0)
    V, L, B = 54, 8, 32  # 4 special ids, then 50 normal pieces
    model = TransformerEncoder(V, 32, 2, 2, dropout=0.0, max_positions=32, embedding_norm=embedding_norm)
    head = MaskedLMHead(model.pieces)
    parameters = list({id(p): p for p in [*model.parameters(), *head.parameters()]}.values())
    optimizer = torch.optim.Adam(parameters, lr=5e-3)
    generator = torch.Generator().manual_seed(1)
    recent: list[float] = []
    for _ in range(150):
        half = torch.randint(4, V, (B, L), generator=generator)
        ids = torch.cat([half, half], dim=1)
        real = torch.ones_like(ids, dtype=torch.bool)
        inputs, targets = mask_pieces(ids, real, 3, 4, V, generator, 0.15)
        loss, _ = head.loss(model(inputs, real), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        recent = [*recent, loss.item()][-30:]
    assert sum(recent) / len(recent) < 0.5 * math.log(50)
