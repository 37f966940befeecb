"""The one place where configuration type names become parts.

Recipes for published systems call the part constructors directly; this module serves the
generic ``babeltag train CONFIG`` path, where the YAML names the parts.
"""

from __future__ import annotations

import torch

from babeltag.config import CharEncoderConfig, ExperimentConfig, HeadConfig, WordEncoderConfig
from babeltag.data import tag_schemes
from babeltag.data.batching import Vocabularies
from babeltag.encoders.char import CharacterFeatures, CharBiRNN, CharCNN, Highway
from babeltag.encoders.embeddings import WordEmbedding
from babeltag.encoders.word import WordBiRNN
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


def build_word_encoder(config: WordEncoderConfig, input_dim: int) -> WordBiRNN:
    return WordBiRNN(input_dim, config.hidden, config.layers, config.type, config.dropout)


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
) -> TaskModel:
    """Assemble the model the config describes. ``pretrained`` rows initialise the word embedding."""
    m = config.model
    word_embedding = WordEmbedding(
        len(vocabularies.words),
        m.word_embedding.dim,
        m.word_embedding.freeze,
        pretrained,
        pretrained_rows,
        unk_dropout=m.word_embedding.unk_dropout,
        unk_id=vocabularies.words.unk_id,
    )
    char_features = build_char_features(m.char_encoder, len(vocabularies.chars))
    features_dim = word_embedding.output_dim + (char_features.output_dim if char_features else 0)
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
    )
