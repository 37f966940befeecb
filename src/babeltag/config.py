"""The configuration file, validated before any data is read.

One YAML file describes a whole run (NCRF++-style): the dataset and its columns, normalisation,
vocabulary, the parts of the network, and training. Every section is a pydantic model that forbids
unknown keys, so a typo is an error naming the key instead of a silently ignored option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from babeltag.errors import ConfigError


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DatasetConfig(Section):
    """One labelled dataset of one (task, language): its files and how to read them."""

    task: str = Field("upos", description="task name, e.g. upos, ner, chunk, sentiment")
    language: str = Field(..., description="language code, e.g. en")
    format: Literal["conllu", "conll", "csv"] = "conllu"
    train: str | None = None
    dev: str | None = None
    test: str | None = None
    encoding: str = "utf-8"
    # CoNLL-U: which field is the label
    label_field: Literal["upos", "xpos", "feats"] = "upos"
    # CoNLL column files: column indices (negative counts from the end); separator None = whitespace
    token_column: int = 0
    label_column: int = -1
    separator: str | None = None
    # classification CSV/TSV
    text_column: int = 1
    class_column: int = 0
    delimiter: str = ","
    has_header: bool = False
    # tag scheme of the files, and whether invalid sequences are repaired (conlleval reading) or an error
    tag_scheme: Literal["none", "iob1", "iob2", "bioes"] = "none"
    repair_tags: bool = False
    max_train_sentences: int | None = Field(None, ge=1, description="keep the first N training sentences")

    @property
    def kind(self) -> Literal["tagging", "classification"]:
        return "classification" if self.format == "csv" else "tagging"


class NormaliseConfig(Section):
    digits_to_zero: bool = False
    lowercase_words: bool = False
    lowercase_chars: bool = False
    max_word_chars: int = Field(30, ge=1)


class VocabConfig(Section):
    min_count: int = Field(1, ge=1, description="training words seen fewer times map to <unk>")
    max_size: int | None = Field(None, ge=1)


class WordEmbeddingConfig(Section):
    dim: int = Field(100, ge=1)
    pretrained: str | None = Field(None, description=".vec / word2vec text file")
    add_pretrained_words: bool = Field(
        True, description="add the pretrained file's words to the vocabulary (union with the training words)"
    )
    max_pretrained_words: int | None = Field(None, ge=1)
    freeze: bool = False
    unk_dropout: float = Field(
        0.0, ge=0.0, lt=1.0, description="training: replace a word by <unk> with this probability"
    )


class CharEncoderConfig(Section):
    type: Literal["none", "cnn", "lstm", "gru"] = "lstm"
    char_dim: int = Field(25, ge=1)
    hidden: int = Field(50, ge=1, description="per direction, for lstm/gru")
    layers: int = Field(1, ge=1)
    widths: list[int] = Field(default_factory=lambda: [3], description="cnn filter widths")
    filters: int | list[int] = Field(30, description="cnn filters per width")
    highway_layers: int = Field(0, ge=0)
    highway_activation: Literal["relu", "selu", "tanh", "gelu"] = "relu"
    dropout: float = Field(0.0, ge=0.0, lt=1.0)


class WordEncoderConfig(Section):
    type: Literal["lstm", "gru"] = "lstm"
    hidden: int = Field(100, ge=1, description="per direction")
    layers: int = Field(1, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="variational dropout between layers")


class HeadConfig(Section):
    type: Literal["softmax", "crf", "classifier"] = "softmax"
    constraints: bool = Field(True, description="crf: forbid transitions the tag scheme does not allow")
    softmax_margin: float = Field(0.0, ge=0.0, description="crf: cost per wrong tag (Yang et al. 2016)")
    pooling: Literal["max", "mean", "attention"] = "max"
    hidden: int = Field(0, ge=0, description="classifier: hidden layer size, 0 = none")


class ModelConfig(Section):
    word_embedding: WordEmbeddingConfig = Field(default_factory=WordEmbeddingConfig)
    char_encoder: CharEncoderConfig = Field(default_factory=CharEncoderConfig)
    word_encoder: WordEncoderConfig = Field(default_factory=WordEncoderConfig)
    head: HeadConfig = Field(default_factory=HeadConfig)
    dropout: float = Field(0.5, ge=0.0, lt=1.0, description="on the encoder's input and output")
    dropout_kind: Literal["variational", "standard"] = "variational"
    train_scheme: Literal["same", "iob2", "bioes"] = Field(
        "same", description="convert span tags to this scheme for training (predictions are converted back)"
    )


class OptimizerConfig(Section):
    type: Literal["adam", "sgd", "adagrad"] = "adam"
    lr: float = Field(1e-3, gt=0)
    momentum: float = Field(0.0, ge=0.0, lt=1.0)
    weight_decay: float = Field(0.0, ge=0.0)


class TrainingConfig(Section):
    epochs: int = Field(30, ge=1)
    batch_size: int = Field(32, ge=1)
    eval_batch_size: int = Field(512, ge=1)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    clip: float | None = Field(5.0, gt=0, description="gradient norm clipping; null = off")
    lr_decay: float = Field(1.0, gt=0, le=1.0, description="multiply the learning rate by this ...")
    lr_decay_every: int = Field(1, ge=1, description="... every this many `lr_decay_unit`s")
    lr_decay_unit: Literal["epoch", "step"] = "epoch"
    patience: int | None = Field(
        None, ge=1, description="stop after this many epochs without dev improvement"
    )
    metric: Literal["auto", "accuracy", "span_f1", "macro_f1"] = "auto"
    seed: int = 1
    threads: int | None = Field(None, ge=1, description="torch CPU threads; null = torch's default")


class ExperimentConfig(Section):
    data: DatasetConfig
    normalise: NormaliseConfig = Field(default_factory=NormaliseConfig)
    vocab: VocabConfig = Field(default_factory=VocabConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)

    @model_validator(mode="after")
    def _parts_fit_the_task(self) -> ExperimentConfig:
        head = self.model.head.type
        if self.data.kind == "classification" and head != "classifier":
            raise ValueError(
                f"model.head.type: a classification dataset (format csv) needs 'classifier', got {head!r}"
            )
        if self.data.kind == "tagging" and head == "classifier":
            raise ValueError(
                "model.head.type: 'classifier' is for csv classification data; use softmax or crf"
            )
        if self.model.train_scheme != "same" and self.data.tag_scheme == "none":
            raise ValueError(
                "model.train_scheme: converting tags needs data.tag_scheme (iob1, iob2 or bioes)"
            )
        return self

    def metric(self) -> str:
        if self.training.metric != "auto":
            return self.training.metric
        if self.data.kind == "classification":
            return "accuracy"
        return "accuracy" if self.data.tag_scheme == "none" else "span_f1"


def _format_validation_error(error: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid configuration"]
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        if problem["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key")
        else:
            lines.append(f"  {key}: {problem['msg']} (got {problem.get('input')!r})")
    return "\n".join(lines)


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides; values are parsed as YAML (so 0.5, true, [3, 4] work)."""
    for override in overrides:
        if "=" not in override:
            raise ConfigError(f"--set {override!r}: expected key=value, e.g. training.epochs=5")
        key, _, text = override.partition("=")
        node = raw
        parts = key.strip().split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {override!r}: {part!r} is not a section")
            node = child
        node[parts[-1]] = yaml.safe_load(text)
    return raw


def parse_config(raw: Any, source: str = "<config>") -> ExperimentConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of sections (data, model, training, ...)")
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(_format_validation_error(error, source)) from None


def load_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections (data, model, training, ...)")
    return parse_config(apply_overrides(raw, overrides or []), str(path))


def dump_config(config: ExperimentConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
