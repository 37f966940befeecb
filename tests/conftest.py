"""Shared fixtures. All corpora here are SYNTHETIC (babeltag.data.synthetic): small, seeded, offline."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from babeltag.config import parse_config
from babeltag.data.batching import TensorDataset
from babeltag.data.datasets import build_vocabularies, normaliser_of, read_split, to_scheme
from babeltag.data.synthetic import LanguageSpec, make_language_family, write_corpus
from babeltag.models.archive import save_model
from babeltag.models.build import build_model, training_scheme

#: Sentences per split in the synthetic data directory: enough to exercise every reader path, small
#: enough that a test using it costs a fraction of a second.
SYNTHETIC_SIZES = {"train": 60, "dev": 20, "test": 20}


@pytest.fixture(scope="session")
def synthetic_languages() -> dict[str, LanguageSpec]:
    """``source``, ``related`` (a daughter of source), ``related_cyrillic`` and ``unrelated``."""
    return make_language_family(seed=0)


@pytest.fixture
def synthetic_data_dir(tmp_path: Path, synthetic_languages: dict[str, LanguageSpec]) -> Path:
    """A data directory laid out like the real one, for every synthetic language ``<code>``:
    ``ud/<code>/{train,dev,test}.conllu`` (UPOS, with multiword tokens),
    ``ner/<code>/{train,dev,test}.txt`` (``token UPOS NER``, IOB2, ``-DOCSTART-`` lines) and
    ``cls/<code>/{train,dev,test}.csv`` (``label,text``, labels "positive"/"negative")."""
    root = tmp_path / "data"
    write_corpus(root, list(synthetic_languages.values()), sizes=SYNTHETIC_SIZES, seed=0)
    return root


def real_data_dir() -> Path:
    """Where the real corpora are: ``$BABELTAG_DATA_DIR``, else ``../shared/data`` beside the repository.
    Tests that need them skip when a file is missing."""
    if "BABELTAG_DATA_DIR" in os.environ:
        return Path(os.environ["BABELTAG_DATA_DIR"])
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def real_file():
    """``real_file("ud/en/en_ewt-ud-train.conllu.gz")`` -> its path, or skip the test if it is absent."""

    def find(relative: str) -> Path:
        path = real_data_dir() / relative
        if not path.is_file():
            pytest.skip(f"real data file {path} not present")
        return path

    return find


#: The smallest tagger worth saving: a few thousand parameters, trains in milliseconds.
TINY_TAGGER: dict[str, Any] = {
    "word_embedding": {"dim": 8},
    "char_encoder": {"type": "cnn", "char_dim": 4, "widths": [2], "filters": 4},
    "word_encoder": {"hidden": 6},
}


def _save_tiny_model(data: dict[str, Any], head: str, data_dir: Path, out: Path, **model: Any) -> Path:
    """A model after three Adam steps on the synthetic data: cheap, and not all one label.
    ``model`` overrides the tiny model section (e.g. ``train_scheme="bioes"``)."""
    config = parse_config(
        {
            "data": data,
            "model": {**TINY_TAGGER, "head": {"type": head}, **model},
            "training": {"batch_size": 8},
        }
    )
    torch.manual_seed(0)
    train = to_scheme(
        read_split(config.data, "train", data_dir), config.data.tag_scheme, training_scheme(config)
    )
    vocabularies = build_vocabularies(train, config)
    network = build_model(config, vocabularies)
    kind = "sentence" if config.data.kind == "classification" else "token"
    batches = TensorDataset(train, vocabularies, normaliser_of(config), kind)
    optimiser = torch.optim.Adam(network.parameters(), lr=0.02)
    for step in range(3):
        losses = network(batches.batch(range(8 * step, 8 * step + 8)))
        optimiser.zero_grad()
        sum(losses.values()).backward()  # type: ignore[union-attr]
        optimiser.step()
    return save_model(out, network, config, vocabularies)


@pytest.fixture(scope="session")
def save_tiny_model() -> Callable[..., Path]:
    """``save_tiny_model(data_section, head_type, data_dir, out_dir, **model_overrides)`` -> model dir."""
    return _save_tiny_model


@pytest.fixture(scope="session")
def make_tiny_bert() -> Callable[..., Path]:
    """``make_tiny_bert(directory, vocab, hidden, layers)``: see :func:`tiny_bert`."""
    pytest.importorskip("transformers")
    return tiny_bert


def tiny_bert(directory: Path, vocab: list[str], hidden: int = 16, layers: int = 2) -> Path:
    """A tiny randomly initialised BERT and its WordPiece tokenizer, saved with save_pretrained:
    what a user's local Hugging Face checkpoint looks like, without a download."""
    import transformers

    vocab_file = directory / "vocab.txt"
    vocab_file.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    # positional: the argument is vocab_file in transformers 4 and vocab (a path or dict) in 5
    tokenizer = transformers.BertTokenizerFast(str(vocab_file))
    tokenizer.save_pretrained(directory)
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
    )
    transformers.BertModel(config).save_pretrained(directory)
    return directory
