"""The one place where configuration type names become parts.

Recipes for published systems call the part constructors directly; this module serves the
generic ``babeltag train CONFIG`` path, where the YAML names the parts.
"""

from __future__ import annotations

from pathlib import Path

import torch

from babeltag.config import (
    CharEncoderConfig,
    ExperimentConfig,
    HeadConfig,
    SubwordEncoderConfig,
    WordEncoderConfig,
)
from babeltag.data import tag_schemes
from babeltag.data.batching import Vocabularies
from babeltag.data.subwords import WordPieces
from babeltag.encoders.char import CharacterFeatures, CharBiRNN, CharCNN, Highway
from babeltag.encoders.embeddings import WordEmbedding
from babeltag.encoders.huggingface import HuggingFaceEncoder, HuggingFacePieces
from babeltag.encoders.pretrained import load_encoder
from babeltag.encoders.subword_features import SubwordFeatures
from babeltag.encoders.word import NoWordEncoder, WordBiRNN
from babeltag.heads.classifier import ClassifierHead
from babeltag.heads.crf import CRFHead
from babeltag.heads.softmax import SoftmaxHead
from babeltag.models.model import TaskModel


def build_char_features(config: CharEncoderConfig, num_chars: int) -> CharacterFeatures | None:
    encoder: CharCNN | CharBiRNN
    if config.type == "none":
        return None
    if config.type == "cnn":
        encoder = CharCNN(num_chars, config.char_dim, config.widths, config.filters)
    else:
        encoder = CharBiRNN(
            num_chars, config.char_dim, config.hidden, config.layers, config.type, config.dropout
        )
    highway = (
        Highway(encoder.output_dim, config.highway_layers, config.highway_activation)
        if config.highway_layers
        else None
    )
    return CharacterFeatures(encoder, highway)


def build_word_encoder(config: WordEncoderConfig, input_dim: int) -> WordBiRNN | NoWordEncoder:
    if config.type == "none":
        return NoWordEncoder(input_dim)
    return WordBiRNN(input_dim, config.hidden, config.layers, config.type, config.dropout)


def _subword_folder(config: SubwordEncoderConfig, path: str | Path | None) -> str | Path | None:
    """Where the subword encoder's files are: ``path`` (a saved model's own copy) or the config's;
    None without a subword encoder."""
    if config.type == "none":
        return None
    folder = path or config.path
    assert folder is not None, "the config validator requires a path"
    return folder


def subword_pieces(config: SubwordEncoderConfig, path: str | Path | None = None) -> WordPieces | None:
    """The tokenizer of the configured subword encoder (``path`` overrides the config's: a saved
    model keeps its own copy)."""
    folder = _subword_folder(config, path)
    if folder is None:
        return None
    if config.type == "huggingface":
        return HuggingFacePieces(folder)
    return load_encoder(folder, weights=False).vocabulary


def build_subword_features(
    config: SubwordEncoderConfig, path: str | Path | None = None, weights: bool = True
) -> SubwordFeatures | None:
    """The encoder and its pooling. ``weights=False``: the architecture only (a saved model's
    weights come from its archive)."""
    folder = _subword_folder(config, path)
    if folder is None:
        return None
    if config.type == "huggingface":
        # a Hugging Face folder always carries weights; the archive's are loaded over them
        encoder = HuggingFaceEncoder(folder, config.freeze, config.layers)
        return SubwordFeatures(encoder, config.pooling)
    pretrained = load_encoder(folder, weights=weights and config.init == "pretrained")
    if config.freeze:
        pretrained.encoder.requires_grad_(False)
    languages = (
        {language: pretrained.language_id(language) for language in pretrained.languages}
        if config.language_embeddings
        else None
    )
    return SubwordFeatures(pretrained.encoder, config.pooling, config.layers, languages)


def build_head(
    config: HeadConfig, input_dim: int, labels: list[str], scheme: str
) -> SoftmaxHead | ClassifierHead | CRFHead:
    if config.type == "softmax":
        return SoftmaxHead(input_dim, len(labels))
    if config.type == "classifier":
        return ClassifierHead(input_dim, len(labels), config.pooling, config.hidden)
    allowed_start = allowed = allowed_end = None
    if config.constraints and scheme != "none":
        allowed_start, allowed, allowed_end = tag_schemes.allowed_transitions(labels, scheme)
    return CRFHead(input_dim, len(labels), allowed_start, allowed, allowed_end, config.softmax_margin)


def training_scheme(config: ExperimentConfig) -> str:
    """The tag scheme the model is trained and decodes in."""
    scheme = config.model.train_scheme
    return config.data.tag_scheme if scheme == "same" else scheme


def build_model(
    config: ExperimentConfig,
    vocabularies: Vocabularies,
    pretrained: torch.Tensor | None = None,
    pretrained_rows: torch.Tensor | None = None,
    subword_path: str | Path | None = None,
    subword_weights: bool = True,
) -> TaskModel:
    """Assemble the model the config describes. ``pretrained`` rows initialise the word embedding;
    ``subword_path`` / ``subword_weights`` say where the subword encoder comes from (a saved model
    passes its own copy and no weights)."""
    m = config.model
    word_embedding = None
    if m.word_embedding.dim > 0:
        word_embedding = WordEmbedding(
            len(vocabularies.words),
            m.word_embedding.dim,
            m.word_embedding.freeze,
            pretrained,
            pretrained_rows,
            unk_dropout=m.word_embedding.unk_dropout,
            unk_id=vocabularies.words.unk_id,
            sparse=m.word_embedding.update == "sparse",
        )
    char_features = build_char_features(m.char_encoder, len(vocabularies.chars))
    subword_features = build_subword_features(m.subword_encoder, subword_path, subword_weights)
    features_dim = sum(
        part.output_dim for part in (word_embedding, char_features, subword_features) if part is not None
    )
    word_encoder = build_word_encoder(m.word_encoder, features_dim)
    head = build_head(m.head, word_encoder.output_dim, vocabularies.labels.itos, training_scheme(config))
    return TaskModel(
        config.data.task,
        config.data.language,
        word_embedding,
        char_features,
        word_encoder,
        head,
        m.dropout,
        m.dropout_kind,
        m.input_dropout,
        subword_features,
        encoder_lr=m.subword_encoder.lr,
    )
