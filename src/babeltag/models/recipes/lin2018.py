"""Lin, Yang, Stoyanov and Ji (2018): A Multi-lingual Multi-task Architecture for Low-resource
Sequence Labeling. ACL.

    characters ─ CharCNN ─ highway x2 (SeLU) ┐                      shared by every dataset
    words ─ word embedding of the language ──┴─ BiLSTM ─ dropout     BiLSTM shared by every dataset
        ─┬─ linear of the task (shared across languages) ─┐
         └─ linear of the (task, language) ───────────────┴─ gate ─ CRF of the task

Two levels of sharing: everything below the output layer is shared by all tasks and languages
(the character CNN even by languages with different words); the output layer and CRF are shared
by the languages of a task, and a gate ``g = sigmoid(W_g h + b_g)`` mixes in a language-specific
linear layer: ``y = g * y_language + (1 - g) * y_task``.

Sizes come from the config's ``model`` section (the paper: 20 filters per width, BiLSTM 171,
dropout 0.6 on its output); the sharing is fixed here (config.RECIPE_SHARING["lin2018"]).
"""

from __future__ import annotations

from torch import nn

from babeltag.config import MultiTaskConfig
from babeltag.data.shared_vocab import SharedVocabularies
from babeltag.encoders.char import CharacterFeatures, CharCNN, Highway
from babeltag.encoders.word import WordBiRNN
from babeltag.errors import ConfigError
from babeltag.heads.crf import CRFHead, LinearChainCRF
from babeltag.heads.gated import GatedOutput
from babeltag.models.build import training_scheme
from babeltag.models.build_multitask import Pretrained, crf_for, word_embedding_for
from babeltag.models.model import TaskModel
from babeltag.models.multitask import MultiTaskModel


def check(config: MultiTaskConfig) -> None:
    """The parts this recipe builds; a config asking for others is refused before any data is read."""
    m = config.model
    if m.char_encoder.type != "cnn" or m.word_encoder.type != "lstm" or m.head.type != "crf":
        raise ConfigError(
            "recipe lin2018 is a CharCNN + BiLSTM tagger with a CRF: set model.char_encoder.type: cnn, "
            "model.word_encoder.type: lstm and model.head.type: crf"
        )


def build(
    config: MultiTaskConfig, vocabularies: SharedVocabularies, pretrained: Pretrained | None = None
) -> MultiTaskModel:
    check(config)
    m = config.model
    datasets = config.datasets
    languages = sorted({d.language for d in datasets.values()})
    tasks = sorted({d.task for d in datasets.values()})
    a_dataset_of = {
        key: next(n for n, d in datasets.items() if key in (d.language, d.task)) for key in languages + tasks
    }

    # one character encoder for all languages
    chars = m.char_encoder
    char_cnn = CharCNN(len(vocabularies.chars["all"]), chars.char_dim, chars.widths, chars.filters)
    char_features = CharacterFeatures(
        char_cnn, Highway(char_cnn.output_dim, chars.highway_layers, chars.highway_activation)
    )

    # word embeddings per language
    word_embeddings = {}
    for language in languages:
        words = vocabularies.words[language]
        vectors = (pretrained or {}).get(language)
        word_embeddings[language] = word_embedding_for(m.word_embedding, words, vectors)

    # one BiLSTM for all tasks and languages
    bilstm = WordBiRNN(
        m.word_embedding.dim + char_features.output_dim,
        m.word_encoder.hidden,
        m.word_encoder.layers,
        "lstm",
        m.word_encoder.dropout,
    )

    # per task, shared across languages: the output linear layer and the CRF
    task_linear: dict[str, nn.Linear] = {}
    task_crf: dict[str, LinearChainCRF] = {}
    for task in tasks:
        labels = vocabularies.labels[task].itos
        scheme = training_scheme(config.dataset_view(a_dataset_of[task]))
        task_linear[task] = nn.Linear(bilstm.output_dim, len(labels))
        task_crf[task] = crf_for(len(labels), labels, scheme, m.head.constraints)

    # per (task, language): the language-specific linear layer and its gate
    parts: dict[str, nn.Module] = {"chars/all": char_features, "word_encoder/all": bilstm}
    parts.update({f"word_embedding/{language}": e for language, e in word_embeddings.items()})
    parts.update({f"output/{task}": layer for task, layer in task_linear.items()})
    parts.update({f"crf/{task}": crf for task, crf in task_crf.items()})
    views = {}
    for name, dataset in datasets.items():
        K = len(vocabularies.labels[dataset.task])
        language_linear = parts[f"private/{name}"] = nn.Linear(bilstm.output_dim, K)
        gate = parts[f"gate/{name}"] = nn.Linear(bilstm.output_dim, K)
        output = GatedOutput(shared=task_linear[dataset.task], private=language_linear, gate=gate)
        head = CRFHead(
            bilstm.output_dim,
            K,
            softmax_margin=m.head.softmax_margin,
            projection=output,
            crf=task_crf[dataset.task],
        )
        views[name] = TaskModel(
            dataset.task,
            dataset.language,
            word_embeddings[dataset.language],
            char_features,
            bilstm,
            head,
            dropout=m.dropout,
            dropout_kind=m.dropout_kind,
            input_dropout=m.input_dropout,
        )
    return MultiTaskModel(parts, views)
