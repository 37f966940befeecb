"""Fine-tuning a tagger on a pretrained subword transformer: train, save, reload, predict, transfer."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from babeltag.config import PretrainConfig, parse_config
from babeltag.data.batching import TensorDataset
from babeltag.data.datasets import normaliser_of, read_split
from babeltag.data.raw_text import gather_raw_text, write_raw_text
from babeltag.data.synthetic import LanguageSpec, write_corpus
from babeltag.errors import ConfigError
from babeltag.models.archive import load_model
from babeltag.training.pretrain import pretrain
from babeltag.training.run import train


@pytest.fixture(scope="module")
def encoder_dir(
    tmp_path_factory: pytest.TempPathFactory, synthetic_languages: dict[str, LanguageSpec]
) -> Path:
    """A tiny encoder pretrained on the synthetic languages' raw text (once for this module: the
    tests below delete its files only in their own copies)."""
    tmp_path = tmp_path_factory.mktemp("encoder")
    write_corpus(
        tmp_path / "data",
        list(synthetic_languages.values()),
        sizes={"train": 60, "dev": 20, "test": 20},
        seed=0,
    )
    write_raw_text(gather_raw_text(tmp_path / "data"), tmp_path / "raw")
    config = PretrainConfig.model_validate(
        {
            "text": {"dirs": [str(tmp_path / "raw")], "heldout_sentences": 5},
            "subwords": {"vocab_size": 200},
            "encoder": {"dim": 32, "layers": 2, "heads": 2, "max_positions": 128},
            "training": {"steps": 12, "batch_size": 16, "max_pieces": 64, "warmup": 2, "eval_every": 12},
        }
    )
    pretrain(config, tmp_path / "encoder", progress=False)
    return tmp_path / "encoder"


def synthetic_pos(language: str) -> dict[str, Any]:
    """The UPOS dataset of one synthetic language in the test data directory."""
    return {
        "task": "upos",
        "language": language,
        "format": "conllu",
        **{split: f"ud/{language}/{split}.conllu" for split in ("train", "dev", "test")},
    }


def tagger_config(encoder_dir: Path, **subword: Any) -> dict[str, Any]:
    return {
        "data": synthetic_pos("syn_src"),
        "model": {
            "word_embedding": {"dim": 0},
            "char_encoder": {"type": "none"},
            "subword_encoder": {"type": "pretrained", "path": str(encoder_dir), "pooling": "mean", **subword},
            "word_encoder": {"type": "none"},
            "dropout": 0.1,
        },
        "training": {"epochs": 6, "batch_size": 8, "optimizer": {"lr": 0.01}, "seed": 2},
    }


def test_a_tagger_on_the_pretrained_encoder_trains_saves_and_reloads(
    encoder_dir: Path, synthetic_data_dir: Path, tmp_path: Path
) -> None:
    config = parse_config(tagger_config(encoder_dir, layers="mix", lr=0.003))
    summary = train(config, tmp_path / "run", synthetic_data_dir, progress=False)
    assert summary["test"]["accuracy"] > 40.0  # chance is well under 20%
    model_dir = tmp_path / "run" / "model"
    assert (model_dir / "subword_encoder" / "subwords.json").is_file()
    # the saved model needs nothing from the folder it was fine-tuned from
    shutil.move(encoder_dir, tmp_path / "moved")
    try:
        loaded = load_model(model_dir)
    finally:
        shutil.move(tmp_path / "moved", encoder_dir)
    examples = read_split(loaded.config.data, "test", synthetic_data_dir)
    data = TensorDataset(examples, loaded.vocabularies, normaliser_of(loaded.config), None)
    batch = data.batch(range(len(examples)))
    assert batch.piece_ids is not None and batch.piece_words is not None
    predicted = loaded.model.predict(batch)
    assert predicted.shape == batch.word_ids.shape
    assert torch.equal(predicted, load_model(model_dir).model.predict(batch))


def test_the_baseline_has_the_same_architecture_without_the_weights(encoder_dir: Path) -> None:
    from babeltag.models.build import build_subword_features

    pretrained_config = parse_config(tagger_config(encoder_dir)).model.subword_encoder
    baseline_config = parse_config(tagger_config(encoder_dir, init="random")).model.subword_encoder
    pretrained, baseline = build_subword_features(pretrained_config), build_subword_features(baseline_config)
    assert pretrained is not None and baseline is not None
    a, b = pretrained.state_dict(), baseline.state_dict()
    assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}
    assert not torch.equal(a["encoder.pieces.weight"], b["encoder.pieces.weight"])
    saved = load_file(str(encoder_dir / "encoder.safetensors"))
    assert torch.equal(a["encoder.pieces.weight"], saved["pieces.weight"])


def test_a_sentence_longer_than_the_encoder_is_read_in_windows(
    encoder_dir: Path, synthetic_data_dir: Path, tmp_path: Path
) -> None:
    from babeltag.encoders.pretrained import load_encoder
    from babeltag.encoders.subword_features import SubwordFeatures

    pretrained = load_encoder(encoder_dir)
    features = SubwordFeatures(pretrained.encoder, "first").eval()
    features.window = 8
    config = parse_config(tagger_config(encoder_dir))
    examples = read_split(config.data, "test", synthetic_data_dir)[:4]
    from babeltag.data.batching import Vocabularies
    from babeltag.data.vocab import Vocabulary

    empty = Vocabulary.from_counts(Counter())
    vocabularies = Vocabularies(empty, empty, empty, pretrained.vocabulary)
    batch = TensorDataset(examples, vocabularies, normaliser_of(config), None).batch(range(4))
    assert batch.piece_ids is not None and batch.piece_ids.shape[1] > 8
    vectors = features(batch)
    assert torch.isfinite(vectors).all()
    assert vectors.shape[:2] == batch.word_ids.shape


def test_a_subword_encoder_needs_a_path_and_a_single_dataset() -> None:
    config = tagger_config(Path("x"))
    config["model"]["subword_encoder"] = {"type": "pretrained"}
    with pytest.raises(ConfigError, match="path"):
        parse_config(config)


def test_datasets_of_several_languages_share_one_subword_encoder(
    encoder_dir: Path, synthetic_data_dir: Path, tmp_path: Path
) -> None:
    from babeltag.config import parse_multitask_config
    from babeltag.models.archive import load_any_model
    from babeltag.training.multitask_run import train_multitask

    single = tagger_config(encoder_dir)

    config = parse_multitask_config(
        {
            "datasets": {
                "pos_src": {**synthetic_pos("syn_src"), "role": "target"},
                "pos_rel": synthetic_pos("syn_rel"),
            },
            "model": single["model"],
            "training": {**single["training"], "epochs": 1},
        }
    )
    train_multitask(config, tmp_path / "run", synthetic_data_dir, progress=False)
    loaded = load_any_model(tmp_path / "run" / "model")
    views = loaded.model.views  # type: ignore[union-attr]
    assert views["pos_src"].subword_features is views["pos_rel"].subword_features
    assert (tmp_path / "run" / "model" / "subword_encoder" / "encoder.json").is_file()


def test_published_recipes_refuse_a_subword_encoder(encoder_dir: Path) -> None:
    from babeltag.config import parse_multitask_config

    single = tagger_config(encoder_dir)
    with pytest.raises(ConfigError, match="recipe: generic"):
        parse_multitask_config(
            {
                "recipe": "lin2018",
                "datasets": {"a": {**single["data"], "role": "target"}},
                "model": single["model"],
            }
        )


def test_a_tagger_on_a_local_hugging_face_model_trains_and_reloads(
    make_tiny_bert: Callable[..., Path], synthetic_data_dir: Path, tmp_path: Path
) -> None:
    import string

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *string.ascii_lowercase]
    vocab += ["##" + c for c in string.ascii_lowercase]
    (tmp_path / "bert").mkdir()
    bert = make_tiny_bert(tmp_path / "bert", vocab)
    config = tagger_config(bert, layers="mix")
    config["model"]["subword_encoder"]["type"] = "huggingface"
    config["training"]["epochs"] = 1
    train(parse_config(config), tmp_path / "run", synthetic_data_dir, progress=False)
    model_dir = tmp_path / "run" / "model"
    assert (model_dir / "subword_encoder" / "config.json").is_file()
    shutil.rmtree(bert)  # the saved model carries its own copy
    loaded = load_model(model_dir)
    examples = read_split(loaded.config.data, "test", synthetic_data_dir)
    batch = TensorDataset(examples, loaded.vocabularies, normaliser_of(loaded.config), None).batch(range(5))
    assert torch.equal(loaded.model.predict(batch), load_model(model_dir).model.predict(batch))
