"""Training from a config on synthetic data: the loop learns, selects on dev, logs and saves."""

import json
from pathlib import Path

from babeltag.config import parse_config
from babeltag.training.run import train


def pos_config() -> dict:
    return {
        "data": {
            "task": "upos",
            "language": "syn_src",
            "format": "conllu",
            "train": "ud/syn_src/train.conllu",
            "dev": "ud/syn_src/dev.conllu",
            "test": "ud/syn_src/test.conllu",
        },
        "model": {
            "word_embedding": {"dim": 16},
            "char_encoder": {"type": "lstm", "char_dim": 8, "hidden": 8},
            "word_encoder": {"hidden": 16},
            "dropout": 0.2,
        },
        "training": {"epochs": 6, "batch_size": 8, "optimizer": {"type": "adam", "lr": 0.01}, "seed": 3},
    }


def test_tagger_learns_synthetic_pos_and_writes_run_files(synthetic_data_dir: Path, tmp_path: Path) -> None:
    summary = train(parse_config(pos_config()), tmp_path / "run", synthetic_data_dir, progress=False)
    assert summary["selected_on"] == "dev"
    assert summary["test"]["accuracy"] > 60.0  # chance is well under 20%
    log = [json.loads(line) for line in (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()]
    epochs = [entry for entry in log if "epoch" in entry and "loss" in entry]
    assert len(epochs) == 6
    assert epochs[-1]["loss"]["upos"] < epochs[0]["loss"]["upos"]
    assert all(entry["sentences_per_s"] > 0 for entry in epochs)
    best = max(epochs, key=lambda e: e["dev"]["score"])
    assert summary["best_epoch"] == best["epoch"]
    assert summary["dev"]["score"] == best["dev"]["score"]  # the restored model is the selected one
    for name in ("config.yaml", "metrics.json", "model/model.safetensors", "model/config.yaml"):
        assert (tmp_path / "run" / name).is_file()


def test_same_seed_same_model(synthetic_data_dir: Path, tmp_path: Path) -> None:
    config = pos_config()
    config["training"]["epochs"] = 2
    first = train(parse_config(config), tmp_path / "a", synthetic_data_dir, progress=False)
    second = train(parse_config(config), tmp_path / "b", synthetic_data_dir, progress=False)
    assert first["test"] == second["test"]
    assert (tmp_path / "a" / "model" / "model.safetensors").read_bytes() == (
        tmp_path / "b" / "model" / "model.safetensors"
    ).read_bytes()


def test_pretrained_vectors_initialise_and_mismatched_dimension_is_named(
    synthetic_data_dir: Path, tmp_path: Path
) -> None:
    import pytest
    import torch

    from babeltag.errors import ConfigError
    from babeltag.models.archive import load_model

    vec = tmp_path / "vectors.vec"
    vec.write_text("2 4\nzzunseen 1 2 3 4\nbo 0.5 0.5 0.5 0.5\n")
    config = pos_config()
    config["training"]["epochs"] = 1
    config["model"]["word_embedding"] = {"dim": 16, "pretrained": str(vec)}
    with pytest.raises(ConfigError, match=r"vectors\.vec has 4-dimensional vectors"):
        train(parse_config(config), tmp_path / "bad", synthetic_data_dir, progress=False)
    config["model"]["word_embedding"] = {"dim": 4, "pretrained": str(vec), "freeze": True}
    train(parse_config(config), tmp_path / "ok", synthetic_data_dir, progress=False)
    loaded = load_model(tmp_path / "ok" / "model")
    words = loaded.vocabularies.words
    assert "zzunseen" in words  # the vocabulary is the union with the file's words
    table = loaded.model.word_embedding.embedding.weight  # type: ignore[union-attr]
    assert torch.equal(table[words.id("zzunseen")], torch.tensor([1.0, 2.0, 3.0, 4.0]))
