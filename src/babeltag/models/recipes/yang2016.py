"""Yang, Salakhutdinov and Cohen (2016): Multi-Task Cross-Lingual Sequence Tagging from Scratch.

    characters ─ char bi-GRU (2 layers) ─┐                            shared by every dataset
    words ─ word embedding of the language ┴─ word bi-GRU of the language (2 layers, 300)
        ─ linear + CRF of the dataset, trained with softmax-margin

Multi-task joint training (tasks of one language) shares everything below the CRF; cross-lingual
joint training (one task in several languages) shares the character GRU only. Both follow from one
rule: the character part is shared by all, the word-level parts by the datasets of a language, and
each dataset has its own output layer and CRF (config.RECIPE_SHARING["yang2016"]).

Sizes and the softmax-margin cost come from the config's ``model`` section; training is AdaGrad,
lr 0.01, in the recipe's configs.
"""

from __future__ import annotations

from torch import nn

from babeltag.config import MultiTaskConfig
from babeltag.data.shared_vocab import SharedVocabularies
from babeltag.encoders.char import CharacterFeatures, CharBiRNN, Highway
from babeltag.encoders.embeddings import WordEmbedding
from babeltag.encoders.word import WordBiRNN
from babeltag.errors import ConfigError
from babeltag.heads.crf import CRFHead
from babeltag.models.build import training_scheme
from babeltag.models.build_multitask import Pretrained, crf_for, word_embedding_for
from babeltag.models.model import TaskModel
from babeltag.models.multitask import MultiTaskModel


def check(config: MultiTaskConfig) -> None:
    """The parts this recipe builds; a config asking for others is refused before any data is read."""
    m = config.model
    if m.char_encoder.type != "gru" or m.word_encoder.type != "gru" or m.head.type != "crf":
        raise ConfigError(
            "recipe yang2016 is GRUs and a CRF: set model.char_encoder.type: gru, "
            "model.word_encoder.type: gru and model.head.type: crf"
        )


def build(
    config: MultiTaskConfig, vocabularies: SharedVocabularies, pretrained: Pretrained | None = None
) -> MultiTaskModel:
    check(config)
    m = config.model
    chars = m.char_encoder
    char_bigru = CharBiRNN(
        len(vocabularies.chars["all"]), chars.char_dim, chars.hidden, chars.layers, "gru", chars.dropout
    )
    highway = (
        Highway(char_bigru.output_dim, chars.highway_layers, chars.highway_activation)
        if chars.highway_layers
        else None
    )
    char_gru = CharacterFeatures(char_bigru, highway)
    parts: dict[str, nn.Module] = {"chars/all": char_gru}

    word_embeddings: dict[str, WordEmbedding] = {}
    word_grus: dict[str, WordBiRNN] = {}
    views = {}
    for name, dataset in config.datasets.items():
        language = dataset.language
        if language not in word_embeddings:  # the first dataset of a language makes its word-level parts
            words = vocabularies.words[language]
            vectors = (pretrained or {}).get(language)
            word_embeddings[language] = parts[f"word_embedding/{language}"] = word_embedding_for(
                m.word_embedding, words, vectors
            )
            word_grus[language] = parts[f"word_encoder/{language}"] = WordBiRNN(
                m.word_embedding.dim + char_gru.output_dim,
                m.word_encoder.hidden,
                m.word_encoder.layers,
                "gru",
                m.word_encoder.dropout,
            )
        labels = vocabularies.labels[name].itos
        gru = word_grus[language]
        output = parts[f"output/{name}"] = nn.Linear(gru.output_dim, len(labels))
        crf = parts[f"crf/{name}"] = crf_for(
            len(labels), labels, training_scheme(config.dataset_view(name)), m.head.constraints
        )
        head = CRFHead(
            gru.output_dim, len(labels), softmax_margin=m.head.softmax_margin, projection=output, crf=crf
        )
        views[name] = TaskModel(
            dataset.task,
            language,
            word_embeddings[language],
            char_gru,
            gru,
            head,
            dropout=m.dropout,
            dropout_kind=m.dropout_kind,
            input_dropout=m.input_dropout,
        )
    return MultiTaskModel(parts, views)
