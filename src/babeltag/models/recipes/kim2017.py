"""Kim, Kim, Sarikaya and Fosler-Lussier (2017): Cross-Lingual Transfer Learning for POS Tagging
without Cross-Lingual Resources. EMNLP.

    characters ─ char BiLSTM (shared by all) ─┐
    words ─ word embedding of the language ────┴─┬─ common BiLSTM (shared by all)  ─┐
                                                 └─ private BiLSTM of the language ─┴─ + ─ softmax of the dataset
    common states ─ gradient reversal ─ language discriminator      (+a: language-adversarial training)
    summed states ─ forward: next word, backward: previous word     (l: bidirectional language model)

The variants of their Table 1 switch parts on and off from the config:

    c        sharing.word_encoder: all,          sharing.private_encoder: none
    p        sharing.word_encoder: per_language, sharing.private_encoder: none
    c,p      sharing.word_encoder: all,          sharing.private_encoder: per_language   (the default)
    ... ,l   objectives.bilm: {...}
    ... +a   objectives.adversarial: {...}       (the discriminator reads the common encoder)

Sizes come from the config's ``model`` section (the paper: char BiLSTM 100, word embeddings 128,
BiLSTMs 100 per direction, dropout 0.5 with one mask over time); the source datasets' loss weight
is ``size_ratio`` (|target| / |source|) and lambda ramps from 0 to 1 (``schedule: linear``).
"""

from __future__ import annotations

from torch import nn

from babeltag.config import MultiTaskConfig
from babeltag.data.shared_vocab import SharedVocabularies
from babeltag.encoders.char import CharacterFeatures, CharBiRNN
from babeltag.encoders.common_private import CommonPrivateEncoder
from babeltag.encoders.word import WordBiRNN
from babeltag.errors import ConfigError
from babeltag.heads.softmax import SoftmaxHead
from babeltag.models.build_multitask import (
    Parts,
    Pretrained,
    build_objectives,
    with_objectives,
    word_embedding_for,
)
from babeltag.models.model import TaskModel, WordEncoder
from babeltag.models.multitask import MultiTaskModel


def check(config: MultiTaskConfig) -> None:
    """The parts this recipe builds; a config asking for others is refused before any data is read."""
    m = config.model
    if m.char_encoder.type != "lstm" or m.word_encoder.type != "lstm" or m.head.type != "softmax":
        raise ConfigError(
            "recipe kim2017 is BiLSTMs and a softmax: set model.char_encoder.type: lstm, "
            "model.word_encoder.type: lstm and model.head.type: softmax"
        )


def build(
    config: MultiTaskConfig, vocabularies: SharedVocabularies, pretrained: Pretrained | None = None
) -> MultiTaskModel:
    check(config)
    m, sharing = config.model, config.sharing
    languages = sorted({dataset.language for dataset in config.datasets.values()})

    # one character BiLSTM for all languages; word embeddings per language
    chars = m.char_encoder
    char_bilstm = CharacterFeatures(
        CharBiRNN(
            len(vocabularies.chars["all"]), chars.char_dim, chars.hidden, chars.layers, "lstm", chars.dropout
        )
    )
    word_embeddings = {
        language: word_embedding_for(
            m.word_embedding, vocabularies.words[language], (pretrained or {}).get(language)
        )
        for language in languages
    }
    features_dim = m.word_embedding.dim + char_bilstm.output_dim

    def bilstm() -> WordBiRNN:
        return WordBiRNN(
            features_dim, m.word_encoder.hidden, m.word_encoder.layers, "lstm", m.word_encoder.dropout
        )

    # the common BiLSTM (shared by all) and/or a private BiLSTM per language
    common = bilstm() if sharing.word_encoder == "all" else None
    with_private = sharing.private_encoder == "per_language" or common is None
    private = {language: bilstm() for language in languages} if with_private else {}

    parts = Parts()
    parts.modules["chars/all"] = char_bilstm
    parts.modules.update({f"word_embedding/{language}": e for language, e in word_embeddings.items()})
    if common is not None:
        parts.modules["word_encoder/all"] = common
    # a private encoder alone is the language's own word encoder (the generic builder's name for it)
    private_name = "private_encoder" if common is not None else "word_encoder"
    parts.modules.update({f"{private_name}/{language}": e for language, e in private.items()})

    views = {}
    for name, dataset in config.datasets.items():
        language = dataset.language
        encoder: WordEncoder
        if common is not None and private:
            encoder = CommonPrivateEncoder(common, private[language])  # summed
        else:
            encoder = common if common is not None else private[language]
        # a softmax per dataset
        projection = parts.modules[f"output/{name}"] = nn.Linear(
            encoder.output_dim, len(vocabularies.labels[name])
        )
        views[name] = TaskModel(
            dataset.task,
            language,
            word_embeddings[language],
            char_bilstm,
            encoder,
            SoftmaxHead(encoder.output_dim, projection.out_features, projection=projection),
            dropout=m.dropout,
            dropout_kind=m.dropout_kind,
            input_dropout=m.input_dropout,
        )

    adversary, language_models = build_objectives(config, vocabularies, parts, views)
    return with_objectives(config, parts, views, adversary, language_models)
