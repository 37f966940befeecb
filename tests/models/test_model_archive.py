"""A model trains, saves, reloads and predicts identically, for every head kind."""

from pathlib import Path

import pytest
import torch

from babeltag.config import parse_config
from babeltag.data.batching import TensorDataset
from babeltag.data.datasets import build_vocabularies, normaliser_of, read_split, to_scheme
from babeltag.errors import ModelArchiveError
from babeltag.models.archive import load_model, save_model
from babeltag.models.build import build_model, training_scheme
from babeltag.models.predict import predict_ids

TINY = {"training": {"epochs": 1, "batch_size": 8}, "model": {"word_embedding": {"dim": 8}}}


def tagging_config(head: str, char: str) -> dict:
    return {
        "data": {
            "task": "ner",
            "language": "syn_src",
            "format": "conll",
            "train": "ner/syn_src/train.txt",
            "dev": "ner/syn_src/dev.txt",
            "tag_scheme": "iob2",
        },
        "model": {
            "word_embedding": {"dim": 8},
            "char_encoder": {
                "type": char,
                "char_dim": 5,
                "hidden": 4,
                "widths": [2, 3],
                "filters": 3,
                "highway_layers": 1,
            },
            "word_encoder": {"hidden": 6},
            "head": {"type": head},
            "train_scheme": "bioes",
        },
        "training": {"epochs": 1, "batch_size": 8},
    }


def classification_config() -> dict:
    return {
        "data": {
            "task": "sentiment",
            "language": "syn_src",
            "format": "csv",
            "train": "cls/syn_src/train.csv",
            "dev": "cls/syn_src/dev.csv",
        },
        "model": {
            "word_embedding": {"dim": 8},
            "char_encoder": {"type": "gru", "char_dim": 5, "hidden": 4, "layers": 2},
            "word_encoder": {"type": "gru", "hidden": 6, "layers": 2},
            "head": {"type": "classifier", "pooling": "attention"},
        },
        "training": {"epochs": 1},
    }


CASES = {
    "softmax-lstm": tagging_config("softmax", "lstm"),
    "crf-cnn": tagging_config("crf", "cnn"),
    "crf-nochar": tagging_config("crf", "none"),
    "classifier": classification_config(),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_train_step_save_reload_predict_identically(
    name: str, synthetic_data_dir: Path, tmp_path: Path
) -> None:
    config = parse_config(CASES[name])
    torch.manual_seed(0)
    train = to_scheme(
        read_split(config.data, "train", synthetic_data_dir), config.data.tag_scheme, training_scheme(config)
    )
    vocabularies = build_vocabularies(train, config)
    model = build_model(config, vocabularies)
    kind = "sentence" if config.data.kind == "classification" else "token"
    data = TensorDataset(train, vocabularies, normaliser_of(config), kind)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(2):
        losses = model(data.batch(range(8)))
        optimiser.zero_grad()
        sum(losses.values()).backward()  # type: ignore[union-attr]
        optimiser.step()
    model.eval()
    before = predict_ids(model, data)
    save_model(tmp_path / "model", model, config, vocabularies)
    loaded = load_model(tmp_path / "model")
    assert predict_ids(loaded.model, data) == before
    assert loaded.config == config
    assert loaded.vocabularies.words.itos == vocabularies.words.itos
    assert not any(p.suffix == ".pt" or p.suffix == ".pkl" for p in (tmp_path / "model").iterdir())


def test_load_refuses_incomplete_or_future_archives(synthetic_data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelArchiveError, match="not a model directory"):
        load_model(tmp_path / "nothing")
    config = parse_config(CASES["softmax-lstm"])
    train = read_split(config.data, "train", synthetic_data_dir)
    vocabularies = build_vocabularies(train, config)
    directory = save_model(tmp_path / "m", build_model(config, vocabularies), config, vocabularies)
    meta = directory / "meta.json"
    meta.write_text(meta.read_text().replace('"format_version": 1', '"format_version": 99'))
    with pytest.raises(ModelArchiveError, match="format version 99"):
        load_model(directory)
    (directory / "vocab.json").unlink()
    with pytest.raises(ModelArchiveError, match="missing vocab.json"):
        load_model(directory)
