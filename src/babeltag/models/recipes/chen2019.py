"""Chen, Awadallah, Hassan, Wang and Cardie (2019): Multi-Source Cross-Lingual Model Transfer:
Learning What to Share. ACL. (MAN-MoE)

    characters ─ char CNN (shared by all) ──┐
    words ─ word embedding of the language ─┴─┬─ shared BiLSTM F_s ─────────────────────────────┐
                                              │     └─ gradient reversal ─ MAN discriminator D     │
                                              └─ private BiLSTM ─ expert MLP per source language ─┴─ concat
                                                                  mixed per token by a gate          │
    [F_s; F_p] ─ expert linear layer per source language, mixed per token by a gate (predictor C) ─ softmax/CRF
    (classification: [F_s; F_p] ─ attention pooling ─ C, its gate mixing the experts per sentence)

Every module is shared by all languages: what is language-specific is only which experts a token's
gate picks. A source language's gates are trained to pick its own expert (the gate loss, weight
``sharing.gate_loss_weight``, their lambda1); a target language has no expert and no labels (zero
resource): its tokens borrow from the sources whose experts suit them. The discriminator D (their
kernels 3, 4, 5 x 200 and an MLP of 128) makes F_s language-invariant, trained MAN-style with its own
optimiser and ``critic_steps`` (their k) updates per main update, its loss reversed into F_s with
weight ``objectives.adversarial.weight`` (their lambda2).

The paper's baselines come from the same config (configs/chen2019/):

    MAN-MoE         sharing.experts: source_languages, objectives.adversarial: {...}   (the default)
    MAN             sharing.experts: none   (one shared predictor over F_s; with the private BiLSTM gone)
    weight sharing  sharing.experts: none, objectives.adversarial: null
"""

from __future__ import annotations

from torch import nn

from babeltag.config import MultiTaskConfig
from babeltag.data.shared_vocab import SharedVocabularies
from babeltag.encoders.char import CharacterFeatures
from babeltag.encoders.embeddings import WordEmbedding
from babeltag.encoders.moe_features import SharedAndExpertFeatures
from babeltag.errors import ConfigError
from babeltag.heads.classifier import ClassifierHead
from babeltag.heads.crf import CRFHead
from babeltag.heads.softmax import SoftmaxHead
from babeltag.models.build import build_word_encoder, training_scheme
from babeltag.models.build_multitask import (
    Parts,
    Pretrained,
    build_objectives,
    char_features_for,
    crf_for,
    expert_predictor_for,
    expert_sources,
    feature_experts_for,
    with_objectives,
    word_embedding_for,
)
from babeltag.models.model import Head, TaskModel, WordEncoder
from babeltag.models.multitask import MultiTaskModel


def check(config: MultiTaskConfig) -> None:
    """The parts this recipe builds; a config asking for others is refused before any data is read."""
    m = config.model
    if m.char_encoder.type != "cnn" or m.word_encoder.type != "lstm" or m.head.type not in ("softmax", "crf"):
        raise ConfigError(
            "recipe chen2019 is a char CNN, BiLSTMs and a softmax or CRF: set model.char_encoder.type: cnn, "
            "model.word_encoder.type: lstm and model.head.type: softmax or crf"
        )
    if config.objectives.bilm is not None:
        raise ConfigError("recipe chen2019 has no language model: remove objectives.bilm")


def build(
    config: MultiTaskConfig, vocabularies: SharedVocabularies, pretrained: Pretrained | None = None
) -> MultiTaskModel:
    check(config)
    m = config.model
    languages = sorted({dataset.language for dataset in config.datasets.values()})
    sources = expert_sources(config)  # [] for the MAN and weight-sharing baselines

    # one char CNN for all languages; word embeddings per language (pretrained, aligned ones in the paper)
    char_cnn = char_features_for(m.char_encoder, vocabularies.chars["all"])
    word_embeddings = {
        language: word_embedding_for(
            m.word_embedding, vocabularies.words[language], (pretrained or {}).get(language)
        )
        for language in languages
    }
    features_dim = m.word_embedding.dim + char_cnn.output_dim

    # F_s: the shared BiLSTM the discriminator reads
    shared = build_word_encoder(m.word_encoder, features_dim)
    parts = Parts()
    parts.modules["chars/all"] = char_cnn
    parts.modules.update({f"word_embedding/{language}": e for language, e in word_embeddings.items()})
    parts.modules["word_encoder/all"] = shared

    # F_p: a private BiLSTM whose states go through one expert MLP per source language (tanh last)
    encoder: WordEncoder = shared
    if sources:
        H = config.sharing.expert_hidden
        private = build_word_encoder(m.word_encoder, features_dim)
        parts.modules["expert_encoder/all"] = private
        feature_experts = feature_experts_for(sources, private.output_dim, H)
        parts.modules["experts/features"] = feature_experts
        encoder = SharedAndExpertFeatures(shared, private, feature_experts, H)

    views = {}
    for name, dataset in config.datasets.items():
        labels = vocabularies.of(name).labels
        D, K = encoder.output_dim, len(labels)
        key = f"output/{dataset.task}"
        # C: one predictor per task for all languages, itself a mixture of source-language experts;
        # for a classifier it reads the pooled sentence vector (their dot-product attention), so
        # its gate picks experts per sentence
        head: Head
        if dataset.kind == "classification":
            C_in = m.head.hidden or D
            if key not in parts.modules:
                parts.modules[key] = expert_predictor_for(sources, C_in, K) if sources else nn.Linear(C_in, K)
            pooling_key = f"pooling/{dataset.task}"
            if pooling_key not in parts.modules:
                parts.modules[pooling_key] = ClassifierHead(
                    D, K, m.head.pooling, m.head.hidden, m.dropout, projection=parts.modules[key]
                )
            head = parts.modules[pooling_key]  # type: ignore[assignment]
            views[name] = _view(
                dataset.task, dataset.language, word_embeddings, char_cnn, encoder, head, config
            )
            continue
        if key not in parts.modules:
            parts.modules[key] = expert_predictor_for(sources, D, K) if sources else nn.Linear(D, K)
        emissions = parts.modules[key]
        if m.head.type == "crf":
            crf_key = f"crf/{dataset.task}"
            if crf_key not in parts.modules:
                scheme = training_scheme(config.dataset_view(name))
                parts.modules[crf_key] = crf_for(K, labels.itos, scheme, m.head.constraints)
            head = CRFHead(D, K, projection=emissions, crf=parts.modules[crf_key])  # type: ignore[arg-type]
        else:
            head = SoftmaxHead(D, K, projection=emissions)
        views[name] = _view(dataset.task, dataset.language, word_embeddings, char_cnn, encoder, head, config)

    adversary, language_models = build_objectives(config, vocabularies, parts, views)
    return with_objectives(config, parts, views, adversary, language_models)


def _view(
    task: str,
    language: str,
    word_embeddings: dict[str, WordEmbedding],
    char_cnn: CharacterFeatures,
    encoder: WordEncoder,
    head: Head,
    config: MultiTaskConfig,
) -> TaskModel:
    """One dataset's path through the shared parts."""
    m = config.model
    return TaskModel(
        task,
        language,
        word_embeddings[language],
        char_cnn,
        encoder,
        head,
        dropout=m.dropout,
        dropout_kind=m.dropout_kind,
        input_dropout=m.input_dropout,
    )
