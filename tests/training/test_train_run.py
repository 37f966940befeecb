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
