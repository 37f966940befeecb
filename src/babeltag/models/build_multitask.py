"""From a multi-dataset config to shared parts and the per-dataset models wired from them.

``part_groups`` says, for every dataset and part, which group of datasets shares that part (the
group is the part's name suffix: ``word_embedding/nl`` is shared by the datasets in Dutch).
``build_multitask_model`` makes each part once per group and passes the instance to every
dataset of the group. Published systems have their own, explicit builders in models/recipes/.
"""

# The part factories (lambdas) below run at once, inside the loop iteration that defines them, so
# the loop variables they read are the current ones.
# ruff: noqa: B023

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from babeltag.config import CharEncoderConfig, MultiTaskConfig, SubwordEncoderConfig, WordEmbeddingConfig
from babeltag.data import tag_schemes
from babeltag.data.shared_vocab import SharedVocabularies
from babeltag.data.vocab import Vocabulary
from babeltag.encoders.char import CharacterFeatures
from babeltag.encoders.common_private import CommonPrivateEncoder
from babeltag.encoders.embeddings import WordEmbedding
from babeltag.encoders.moe_features import ExpertPredictor, SharedAndExpertFeatures
from babeltag.encoders.subword_features import SubwordFeatures
from babeltag.errors import ConfigError
from babeltag.heads.classifier import ClassifierHead
from babeltag.heads.crf import CRFHead, LinearChainCRF
from babeltag.heads.gated import GatedOutput
from babeltag.heads.softmax import SoftmaxHead
from babeltag.models.build import (
    build_char_features,
    build_subword_features,
    build_word_encoder,
    training_scheme,
)
from babeltag.models.model import Head, TaskModel, WordEncoder
from babeltag.models.multitask import MultiTaskModel
from babeltag.objectives.adversarial import LanguageAdversary, LanguageDiscriminator
from babeltag.objectives.language_model import BiLMObjective
from babeltag.objectives.mixture_of_experts import ExpertMLP, MixtureOfExperts, expert_languages

Module = TypeVar("Module", bound=nn.Module)

#: pretrained word vectors per word group: (vectors [N, D], their rows in the group's vocabulary)
Pretrained = Mapping[str, tuple[torch.Tensor, torch.Tensor]]


def part_groups(config: MultiTaskConfig, scripts: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """For each dataset: the group sharing each part. ``scripts[dataset]`` is its writing system
    (used when characters are shared per script)."""
    sharing = config.sharing
    groups = {}
    for name, entry in config.datasets.items():
        by = {"all": "all", "per_language": entry.language, "per_task": entry.task, "per_dataset": name}
        by["per_script"] = scripts.get(name, "COMMON").lower()
        output = by[sharing.output]
        groups[name] = {
            "chars": by[sharing.chars],
            "words": by[sharing.word_embedding],
            "word_encoder": by[sharing.word_encoder],
            "output": output,
            "labels": output,
            "private": name,
        }
    return groups


def expert_sources(config: MultiTaskConfig) -> list[str]:
    """The languages that get an expert (``sharing.experts: source_languages``): every language
    without a target dataset. Empty when experts are off."""
    if config.sharing.experts == "none":
        return []
    targets = {config.datasets[name].language for name in config.targets()}
    sources = expert_languages(sorted({d.language for d in config.datasets.values()}), sorted(targets))
    if not sources:
        raise ConfigError(
            "sharing.experts: every language has a target dataset, so no language gets an expert"
        )
    if config.sharing.private_encoder != "none" or config.sharing.private_output != "none":
        raise ConfigError(
            "sharing.experts replaces the private parts: set private_encoder: none and private_output: none"
        )
    return sources


def check_output_groups(config: MultiTaskConfig, groups: Mapping[str, Mapping[str, str]]) -> None:
    """Datasets that share an output layer must be the same kind of task in the same tag scheme."""
    seen: dict[str, tuple[str, str, str]] = {}
    for name, entry in config.datasets.items():
        key = groups[name]["output"]
        kind = (entry.kind, training_scheme(config.dataset_view(name)), name)
        if key in seen and seen[key][:2] != kind[:2]:
            other = seen[key]
            raise ConfigError(
                f"datasets {other[2]} and {name} share the output layer {key!r} but are trained as "
                f"{other[0]}/{other[1]} and {kind[0]}/{kind[1]}; give them the same tag scheme "
                "(e.g. model.train_scheme: bioes) or set sharing.output: per_dataset"
            )
        seen.setdefault(key, kind)


class Parts:
    """The shared parts by name; ``get`` makes a part the first time its name is asked for."""

    def __init__(self) -> None:
        self.modules: dict[str, nn.Module] = {}

    def get(self, name: str, make: Callable[[], Module]) -> Module:
        if name not in self.modules:
            self.modules[name] = make()
        part = self.modules[name]
        return part  # type: ignore[return-value]


def word_embedding_for(
    settings: WordEmbeddingConfig, words: Vocabulary, vectors: tuple[torch.Tensor, torch.Tensor] | None
) -> WordEmbedding:
    """A word embedding over one word table, initialised from pretrained rows where there are any."""
    return WordEmbedding(
        len(words),
        settings.dim,
        settings.freeze,
        pretrained=vectors[0] if vectors is not None else None,
        pretrained_rows=vectors[1] if vectors is not None else None,
        unk_dropout=settings.unk_dropout,
        unk_id=words.unk_id,
        sparse=settings.update == "sparse",
    )


def char_features_for(settings: CharEncoderConfig, chars: Vocabulary) -> CharacterFeatures:
    features = build_char_features(settings, len(chars))
    assert features is not None, "asked for a character encoder of type none"
    return features


def subword_features_for(
    settings: SubwordEncoderConfig, path: str | Path | None, weights: bool
) -> SubwordFeatures:
    features = build_subword_features(settings, path, weights)
    assert features is not None, "asked for a subword encoder of type none"
    return features


def feature_experts_for(sources: Sequence[str], input_dim: int, hidden: int) -> MixtureOfExperts:
    """MAN-MoE's private-feature experts: a two-layer MLP per source language, tanh last, gated."""
    return MixtureOfExperts(
        {language: ExpertMLP(input_dim, hidden, hidden, layers=2, tanh_output=True) for language in sources},
        input_dim,
    )


def expert_predictor_for(sources: Sequence[str], input_dim: int, num_labels: int) -> ExpertPredictor:
    """MAN-MoE's predictor: a linear layer per source language, gated per token."""
    return ExpertPredictor(
        MixtureOfExperts({language: nn.Linear(input_dim, num_labels) for language in sources}, input_dim)
    )


def crf_for(num_tags: int, labels: list[str], scheme: str, constraints: bool) -> LinearChainCRF:
    if constraints and scheme != "none":
        return LinearChainCRF(num_tags, *tag_schemes.allowed_transitions(labels, scheme))
    return LinearChainCRF(num_tags)


def build_multitask_model(
    config: MultiTaskConfig,
    vocabularies: SharedVocabularies,
    pretrained: Pretrained | None = None,
    subword_path: str | Path | None = None,
    subword_weights: bool = True,
) -> MultiTaskModel:
    """``subword_path`` / ``subword_weights``: where a subword encoder comes from (a saved model
    passes its own copy and no weights)."""
    m = config.model
    parts = Parts()
    views = {}
    sources = expert_sources(config)
    for name, entry in config.datasets.items():
        group = vocabularies.groups[name]
        vocab = vocabularies.of(name)
        scheme = training_scheme(config.dataset_view(name))
        vectors = (pretrained or {}).get(group["words"])
        word_embedding = None
        if m.word_embedding.dim > 0:
            word_embedding = parts.get(
                f"word_embedding/{group['words']}",
                lambda: word_embedding_for(m.word_embedding, vocab.words, vectors),
            )
        char_features = None
        if m.char_encoder.type != "none":
            char_features = parts.get(
                f"chars/{group['chars']}", lambda: char_features_for(m.char_encoder, vocab.chars)
            )
        # one subword encoder for every dataset: its vocabulary is shared across languages already
        subword_features = None
        if m.subword_encoder.type != "none":
            subword_features = parts.get(
                "subword_encoder",
                lambda: subword_features_for(m.subword_encoder, subword_path, subword_weights),
            )
        features_dim = sum(
            part.output_dim for part in (word_embedding, char_features, subword_features) if part is not None
        )
        encoder: WordEncoder = parts.get(
            f"word_encoder/{group['word_encoder']}", lambda: build_word_encoder(m.word_encoder, features_dim)
        )
        if config.sharing.private_encoder == "per_language":
            private = parts.get(
                f"private_encoder/{entry.language}", lambda: build_word_encoder(m.word_encoder, features_dim)
            )
            encoder = CommonPrivateEncoder(encoder, private)
        if sources:  # MAN-MoE: shared features beside a mixture of source-language experts
            H = config.sharing.expert_hidden
            private = parts.get(
                "expert_encoder/all", lambda: build_word_encoder(m.word_encoder, features_dim)
            )
            feature_experts = parts.get(
                "experts/features", lambda: feature_experts_for(sources, private.output_dim, H)
            )
            encoder = SharedAndExpertFeatures(encoder, private, feature_experts, H)
        D, K = encoder.output_dim, len(vocab.labels)
        head: Head
        if entry.kind == "classification":
            head = parts.get(
                f"output/{group['output']}",
                lambda: ClassifierHead(D, K, m.head.pooling, m.head.hidden),
            )
        else:
            emissions: nn.Module
            if sources:  # the predictor is a mixture of source-language experts too
                emissions = parts.get(
                    f"output/{group['output']}", lambda: expert_predictor_for(sources, D, K)
                )
            else:
                emissions = task_linear = parts.get(f"output/{group['output']}", lambda: nn.Linear(D, K))
            if config.sharing.private_output == "per_dataset":
                emissions = GatedOutput(
                    shared=task_linear,
                    private=parts.get(f"private/{name}", lambda: nn.Linear(D, K)),
                    gate=parts.get(f"gate/{name}", lambda: nn.Linear(D, K)),
                )
            if m.head.type == "crf":
                crf = parts.get(
                    f"crf/{group['output']}",
                    lambda: crf_for(K, vocab.labels.itos, scheme, m.head.constraints),
                )
                head = CRFHead(D, K, softmax_margin=m.head.softmax_margin, projection=emissions, crf=crf)
            else:
                head = SoftmaxHead(D, K, projection=emissions)
        views[name] = TaskModel(
            entry.task,
            entry.language,
            word_embedding,
            char_features,
            encoder,
            head,
            m.dropout,
            m.dropout_kind,
            m.input_dropout,
            subword_features,
            encoder_lr=m.subword_encoder.lr,
        )
    adversary, language_models = build_objectives(config, vocabularies, parts, views)
    return with_objectives(config, parts, views, adversary, language_models)


def with_objectives(
    config: MultiTaskConfig,
    parts: Parts,
    views: Mapping[str, TaskModel],
    adversary: LanguageAdversary | None,
    language_models: Mapping[str, BiLMObjective],
) -> MultiTaskModel:
    """The model, with the objectives' schedule and (MAN) separate discriminator training set."""
    settings = config.objectives.adversarial
    model = MultiTaskModel(
        parts.modules,
        views,
        adversary,
        language_models,
        (settings.schedule, settings.max_lambda) if settings else ("constant", 1.0),
    )
    if settings is not None and settings.training == "separate":
        model.train_discriminator_separately(settings.critic_steps, settings.critic_lr, settings.clip)
    return model


def build_objectives(
    config: MultiTaskConfig, vocabularies: SharedVocabularies, parts: Parts, views: Mapping[str, TaskModel]
) -> tuple[LanguageAdversary | None, dict[str, BiLMObjective]]:
    """The extra objectives the config asks for, over the word encoders' states."""
    objectives = config.objectives
    dims = {view.word_encoder.output_dim for view in views.values()}
    # the adversary reads what the shared encoder computed (part of the states, with experts)
    shared_dims = {
        getattr(view.word_encoder, "shared_dim", view.word_encoder.output_dim) for view in views.values()
    }
    if (objectives.adversarial or objectives.bilm) and (len(dims) != 1 or len(shared_dims) != 1):
        raise ConfigError("objectives need every dataset's word encoder to give states of one size")
    if objectives.bilm is not None and config.sharing.experts != "none":
        raise ConfigError(
            "objectives.bilm reads forward ++ backward states; with sharing.experts the states are "
            "[shared; experts] (MAN-MoE has no language model): remove one of them"
        )
    (D,), (shared_D,) = dims, shared_dims
    adversary = None
    if objectives.adversarial is not None:
        a = objectives.adversarial
        languages = sorted({entry.language for entry in config.datasets.values()})
        if len(languages) < 2:
            raise ConfigError("objectives.adversarial: the datasets are all in one language; nothing to hide")
        adversary = parts.get(
            "objective/adversary",
            lambda: LanguageAdversary(
                LanguageDiscriminator(shared_D, languages, a.hidden, a.widths, a.filters), loss=a.loss
            ),
        )
    language_models: dict[str, BiLMObjective] = {}
    if objectives.bilm is not None:
        b = objectives.bilm
        for name in config.datasets:  # one language model per word table
            table = vocabularies.groups[name]["words"]
            words = vocabularies.words[table]
            language_models[name] = parts.get(
                f"objective/bilm/{table}", lambda: BiLMObjective(D, len(words), b.output_words)
            )
    return adversary, language_models


def check_recipe(config: MultiTaskConfig) -> None:
    """Refuse a config whose parts the recipe does not build (before any data is read)."""
    from babeltag.models.recipes import chen2019, kim2017, lin2018, yang2016

    checks = {
        "lin2018": lin2018.check,
        "yang2016": yang2016.check,
        "kim2017": kim2017.check,
        "chen2019": chen2019.check,
    }
    if config.recipe in checks:
        checks[config.recipe](config)
    with_objectives = config.objectives.adversarial is not None or config.objectives.bilm is not None
    if config.recipe in ("lin2018", "yang2016") and with_objectives:
        raise ConfigError(
            f"objectives: recipe {config.recipe} trains its task losses only; use recipe: generic "
            "for adversarial or language-model objectives"
        )


def build_for_config(
    config: MultiTaskConfig,
    vocabularies: SharedVocabularies,
    pretrained: Pretrained | None = None,
    subword_path: str | Path | None = None,
    subword_weights: bool = True,
) -> MultiTaskModel:
    """The recipe's own builder, or the generic one for ``recipe: generic`` (the only one that
    takes a subword encoder)."""
    if config.recipe == "generic":
        return build_multitask_model(config, vocabularies, pretrained, subword_path, subword_weights)
    from babeltag.models.recipes import chen2019, kim2017, lin2018, yang2016

    check_recipe(config)
    builders = {
        "generic": build_multitask_model,
        "lin2018": lin2018.build,
        "yang2016": yang2016.build,
        "kim2017": kim2017.build,
        "chen2019": chen2019.build,
    }
    return builders[config.recipe](config, vocabularies, pretrained)
