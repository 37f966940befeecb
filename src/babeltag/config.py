"""The configuration file, validated before any data is read.

One YAML file describes a whole run (NCRF++-style): the dataset and its columns, normalisation,
vocabulary, the parts of the network, and training. Every section is a pydantic model that forbids
unknown keys, so a typo is an error naming the key instead of a silently ignored option.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

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
    token_prefix: str | None = Field(
        None, description='removed from tokens that start with it (WikiANN sl/sk write "sl:Baby")'
    )
    # classification CSV/TSV
    text_column: int = 1
    class_column: int = 0
    delimiter: str = ","
    has_header: bool = False
    # tag scheme of the files, and whether invalid sequences are repaired (conlleval reading) or an error
    tag_scheme: Literal["none", "iob1", "iob2", "bioes"] = "none"
    repair_tags: bool = False
    max_train_sentences: int | None = Field(None, ge=1, description="keep the first N training sentences")
    transliterate: str | None = Field(
        None,
        description="read the tokens in another script, e.g. cyrillic-latin (Lin et al. 2018: Chechen "
        "in Latin letters beside English), in training and prediction alike; predictions keep the "
        "original tokens",
    )

    @field_validator("transliterate")
    @classmethod
    def _known_scheme(cls, scheme: str | None) -> str | None:
        from babeltag.embeddings.transliterate import TRANSLITERATORS

        if scheme is not None and scheme not in TRANSLITERATORS:
            raise ValueError(
                f"unknown transliteration {scheme!r}; known: {', '.join(sorted(TRANSLITERATORS))}"
            )
        return scheme

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
    dim: int = Field(100, ge=0, description="0 = no word embeddings (e.g. a subword encoder alone)")
    pretrained: str | None = Field(None, description=".vec / word2vec text file")
    add_pretrained_words: bool = Field(
        True, description="add the pretrained file's words to the vocabulary (union with the training words)"
    )
    max_pretrained_words: int | None = Field(None, ge=1)
    freeze: bool = False
    update: Literal["dense", "sparse"] = Field(
        "dense",
        description="sparse: a step changes only the rows of the batch's words (sparse gradients and a "
        "row-wise optimiser), so unseen pretrained vectors stay as they are and a large table costs "
        "only its used rows",
    )
    unk_dropout: float = Field(
        0.0, ge=0.0, lt=1.0, description="training: replace a word by <unk> with this probability"
    )

    @model_validator(mode="after")
    def _sparse_updates_need_updates(self) -> WordEmbeddingConfig:
        if self.freeze and self.update == "sparse":
            raise ValueError("a frozen word embedding has no updates; drop freeze or update: sparse")
        return self


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


class SubwordEncoderConfig(Section):
    """A transformer over subword pieces whose states, pooled back to words, are word features."""

    type: Literal["none", "pretrained", "huggingface"] = "none"
    path: str | None = Field(
        None,
        description="pretrained: a `babeltag pretrain` output folder; huggingface: a save_pretrained folder",
    )
    init: Literal["pretrained", "random"] = Field(
        "pretrained",
        description="random: the same architecture and vocabulary without the pretrained weights",
    )
    pooling: Literal["first", "last", "mean"] = "first"
    layers: Literal["last", "mix"] | int = Field(
        "last", description="last, mix (scalar mix of all layers) or an index"
    )
    freeze: bool = False
    lr: float | None = Field(None, gt=0, description="learning rate of the encoder; null = the optimiser's")
    language_embeddings: bool = Field(
        True,
        description="pretrained: feed each sentence's language embedding (0 for a language it never saw)",
    )

    @model_validator(mode="after")
    def _needs_a_path(self) -> SubwordEncoderConfig:
        if self.type != "none" and self.path is None:
            raise ValueError(f"a {self.type!r} subword encoder needs path")
        if self.type == "huggingface" and self.init == "random":
            raise ValueError("init 'random' is for type 'pretrained'")
        return self


class WordEncoderConfig(Section):
    type: Literal["lstm", "gru", "none"] = Field("lstm", description="none: features go straight to the head")
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
    subword_encoder: SubwordEncoderConfig = Field(default_factory=SubwordEncoderConfig)
    word_encoder: WordEncoderConfig = Field(default_factory=WordEncoderConfig)
    head: HeadConfig = Field(default_factory=HeadConfig)
    dropout: float = Field(0.5, ge=0.0, lt=1.0, description="on the encoder's output (and input, unless set)")
    input_dropout: float | None = Field(
        None, ge=0.0, lt=1.0, description="on the word encoder's input; null = the same as dropout"
    )
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
    device: str = Field(
        "cpu",
        description="auto (cuda when there is one), cpu, cuda or cuda:N; under torchrun each process "
        "takes the GPU of its local rank",
    )
    mixed_precision: Literal["off", "bf16", "fp16"] = Field(
        "off", description="autocast on CUDA: bf16, or fp16 with a gradient scaler; off = float32"
    )
    checkpoint_every: int | None = Field(
        None,
        ge=1,
        description="also checkpoint every this many updates (a checkpoint is always written at the end "
        "of each epoch and when the run is stopped with Ctrl-C)",
    )

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", value):
            raise ValueError(f"expected auto, cpu, cuda or cuda:N (a GPU's number), got {value!r}")
        return value


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
        m = self.model
        if m.word_embedding.dim == 0 and m.char_encoder.type == "none" and m.subword_encoder.type == "none":
            raise ValueError(
                "model: no features (word_embedding.dim is 0 and there is no char or subword encoder)"
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


# --- multi-dataset experiments ---------------------------------------------------------------


class MultiDatasetEntry(DatasetConfig):
    """One dataset of a multi-task, multi-lingual run: a (task, language) pair, its files, its role,
    and how much of its training data is used."""

    role: Literal["target", "auxiliary"] = "auxiliary"
    labelled_sentences: int | None = Field(
        None,
        ge=0,
        description="keep a seeded sample of N labelled training sentences; 0 = zero-resource: the "
        "training file is unlabelled text only (for the objectives), the dataset is scored on dev/test",
    )
    labelling_rate: float | None = Field(
        None, gt=0.0, le=1.0, description="keep this share of the training sentences labelled"
    )
    held_out_dev: int | None = Field(
        None,
        ge=1,
        description="hold out a seeded sample of N training sentences as the dev set (for corpora with no "
        "dev file, e.g. a target whose official dev set is the pool of labelled data)",
    )
    sample_seed: int | None = Field(None, description="seed of the labelled sample; null = training.seed")
    keep_unlabelled: bool = Field(
        False, description="keep the unsampled rest as unlabelled text (for auxiliary objectives)"
    )
    loss_weight: float | Literal["size_ratio"] = Field(
        1.0,
        description="weight of this dataset's loss; size_ratio = |target train| / |this train| "
        "(Kim et al. 2017's w_s for source languages)",
    )

    @model_validator(mode="after")
    def _one_sample_size(self) -> MultiDatasetEntry:
        if self.labelled_sentences is not None and self.labelling_rate is not None:
            raise ValueError("give labelled_sentences or labelling_rate, not both")
        if isinstance(self.loss_weight, float) and self.loss_weight < 0:
            raise ValueError("loss_weight must be >= 0")
        if self.held_out_dev is not None and self.dev is not None:
            raise ValueError("give a dev file or held_out_dev, not both")
        if self.zero_resource and self.loss_weight == "size_ratio":
            raise ValueError("loss_weight: size_ratio of a dataset with no labelled sentences")
        return self

    @property
    def zero_resource(self) -> bool:
        """No labelled training sentences: the dataset only gives text and is only scored."""
        return self.labelled_sentences == 0
        return self

    def single(self) -> DatasetConfig:
        """The dataset's plain reading options (what a single-task run would be given)."""
        return DatasetConfig(**{name: getattr(self, name) for name in DatasetConfig.model_fields})


class SharingConfig(Section):
    """Which datasets share each part. A shared part is one module instance used by every dataset
    in its group."""

    chars: Literal["all", "per_script", "per_language", "per_dataset"] = Field(
        "all", description="character embeddings + character encoder"
    )
    word_embedding: Literal["per_language", "per_dataset", "all"] = "per_language"
    word_encoder: Literal["all", "per_language", "per_task", "per_dataset"] = "all"
    private_encoder: Literal["none", "per_language"] = Field(
        "none",
        description="per_language: add a private word encoder per language, summed with the shared one "
        "(Kim et al. 2017's common + private BiLSTMs); an adversary sees the shared one only",
    )
    output: Literal["per_task", "per_dataset"] = Field(
        "per_task", description="the output linear layer and the CRF (per task = shared across languages)"
    )
    experts: Literal["none", "source_languages"] = Field(
        "none",
        description="source_languages: MAN-MoE (Chen et al. 2019): private features and the output layer "
        "are mixtures of one expert per source (non-target) language, gated per token",
    )
    expert_hidden: int = Field(128, ge=1, description="experts: hidden and output size of a feature expert")
    gate_loss_weight: float = Field(
        0.01, ge=0.0, description="experts: weight of the gates' loss (Chen et al. 2019's lambda1)"
    )
    private_output: Literal["none", "per_dataset"] = Field(
        "none",
        description="per_dataset: add a language-specific linear layer mixed with the shared one by a "
        "gate (Lin et al. 2018)",
    )


#: What each published system shares; its builder in models/recipes/ wires exactly this.
RECIPE_SHARING = {
    # Lin et al. 2018: one char CNN and one BiLSTM for everything, word embeddings per language,
    # output layer + CRF per task across languages, plus a gated language-specific layer
    "lin2018": SharingConfig(
        chars="all",
        word_embedding="per_language",
        word_encoder="all",
        output="per_task",
        private_output="per_dataset",
    ),
    # Yang et al. 2016: the char GRU is shared by all; tasks of one language share the word GRU too;
    # every dataset has its own CRF
    "yang2016": SharingConfig(
        chars="all",
        word_embedding="per_language",
        word_encoder="per_language",
        output="per_dataset",
        private_output="none",
    ),
    # Kim et al. 2017: a char BiLSTM shared by all, word embeddings per language, a common BiLSTM
    # shared by all and a private BiLSTM per language (summed), a softmax per dataset
    "kim2017": SharingConfig(
        chars="all",
        word_embedding="per_language",
        word_encoder="all",
        private_encoder="per_language",
        output="per_dataset",
        private_output="none",
    ),
    # Chen et al. 2019 (MAN-MoE): everything shared by all languages; the private features and the
    # predictor are mixtures of source-language experts (experts: none gives their MAN baselines)
    "chen2019": SharingConfig(
        chars="all",
        word_embedding="per_language",
        word_encoder="all",
        output="per_task",
        private_output="none",
        experts="source_languages",
    ),
}

#: What a recipe lets the config choose, and among which values: Kim et al.'s Table 1 variants
#: turn the common (word_encoder: all) and private (private_encoder: per_language) encoders on and off.
RECIPE_CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    "kim2017": {"word_encoder": ("all", "per_language"), "private_encoder": ("none", "per_language")},
    "chen2019": {"experts": ("none", "source_languages")},
}

#: Sizes and weights in the sharing section: not what is shared, so every recipe takes them from the config
SHARING_SETTINGS = ("expert_hidden", "gate_loss_weight")


class SamplingConfig(Section):
    """How much of each dataset training sees, in what order, and what an epoch is."""

    proportions: Literal["proportional", "uniform", "temperature", "mixing_rate"] = "proportional"
    alpha: float = Field(0.5, ge=0.0, le=1.0, description="temperature: q_i ~ p_i^alpha")
    other_task: float = Field(0.1, ge=0.0, description="mixing_rate: mu for datasets of another task")
    other_language: float = Field(
        0.1, ge=0.0, description="mixing_rate: zeta for datasets of another language"
    )
    order: Literal["alternating", "round_robin", "mixed"] = "alternating"
    epoch_unit: Literal["target_batches", "updates"] = "target_batches"
    epoch_size: int | None = Field(
        None,
        ge=1,
        description="batches of the target(s) or updates per epoch; null = one pass over the targets",
    )


class AdversarialObjectiveConfig(Section):
    """Language-adversarial training of the word encoder's states (Kim et al. 2017)."""

    weight: float = Field(1.0, ge=0.0, description="weight of the discriminator loss")
    schedule: Literal["constant", "linear", "ganin"] = Field(
        "ganin", description="how the gradient reversal scale lambda grows over training"
    )
    max_lambda: float = Field(1.0, ge=0.0)
    training: Literal["reversal", "separate"] = Field(
        "reversal",
        description="reversal: the discriminator trains in the main update through gradient reversal; "
        "separate: it has its own optimiser and critic_steps updates before each main update (MAN, "
        "Chen et al. 2019), and the main update only reverses its gradient into the encoder",
    )
    critic_steps: int = Field(5, ge=1, description="separate: discriminator updates per main update")
    critic_lr: float = Field(1e-3, gt=0, description="separate: the discriminator's Adam learning rate")
    loss: Literal["nll", "wasserstein"] = Field(
        "nll",
        description="nll: the discriminator names the language; wasserstein: a multinomial Wasserstein "
        "critic (needs training: separate; its weights are clipped to [-clip, clip] after each update)",
    )
    clip: float = Field(0.01, gt=0, description="wasserstein: the critic's weight-clipping bound")
    widths: list[int] = Field(default_factory=lambda: [3, 4, 5])
    filters: int = Field(64, ge=1)
    hidden: int = Field(100, ge=1)

    @model_validator(mode="after")
    def _critic_trains_separately(self) -> AdversarialObjectiveConfig:
        # a Wasserstein critic is only meaningful with its weights clipped between its own updates
        if self.loss == "wasserstein" and self.training != "separate":
            raise ValueError("loss: wasserstein needs training: separate (the critic's own clipped updates)")
        return self


class BiLMObjectiveConfig(Section):
    """Forward states predict the next word, backward states the previous one."""

    weight: float = Field(1.0, ge=0.0)
    output_words: int = Field(5000, ge=1, description="most frequent words predicted by name; the rest <unk>")


#: the loss names the objectives log under (so no dataset may be called that)
OBJECTIVE_LOSSES = ("adversarial", "bilm", "gate")


class ObjectivesConfig(Section):
    adversarial: AdversarialObjectiveConfig | None = None
    bilm: BiLMObjectiveConfig | None = None


class MultiTaskConfig(Section):
    """Several datasets, each a (task, language) pair, trained as one model whose parts are shared
    as ``sharing`` (or the named recipe) says."""

    recipe: Literal["generic", "lin2018", "yang2016", "kim2017", "chen2019"] = Field(
        "generic", description="generic: parts shared as `sharing` says; a recipe fixes the sharing"
    )
    datasets: dict[str, MultiDatasetEntry]
    model_selection: Literal["targets", "sources"] = Field(
        "targets",
        description="whose dev sets pick the best epoch: the targets', or (zero-resource transfer, where "
        "target labels must not be used at all) the auxiliary datasets'",
    )
    word_vectors: dict[str, str] = Field(
        default_factory=dict, description="language -> pretrained .vec file for its word embeddings"
    )
    sharing: SharingConfig = Field(default_factory=SharingConfig)
    sampling: SamplingConfig = Field(default_factory=SamplingConfig)
    objectives: ObjectivesConfig = Field(
        default_factory=ObjectivesConfig, description="extra losses on the word encoder's states"
    )
    normalise: NormaliseConfig = Field(default_factory=NormaliseConfig)
    vocab: VocabConfig = Field(default_factory=VocabConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)

    @model_validator(mode="after")
    def _datasets_fit_together(self) -> MultiTaskConfig:
        if not self.datasets:
            raise ValueError("datasets: give at least one dataset")
        for name in self.datasets:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"datasets.{name}: names may use letters, digits, _ and - only")
            if name in OBJECTIVE_LOSSES:
                raise ValueError(f"datasets.{name}: the name is taken by an objective's loss; choose another")
        if not self.targets():
            raise ValueError("datasets: no dataset has role: target (the one model selection is on)")
        if self.model.head.type == "classifier":
            raise ValueError(
                "model.head.type: give the taggers' head (softmax or crf); csv datasets get a classifier"
            )
        m = self.model
        plain = (
            m.subword_encoder.type == "none" and m.word_embedding.dim > 0 and m.word_encoder.type != "none"
        )
        if self.recipe != "generic" and not plain:
            raise ValueError(
                f"model: recipe {self.recipe} builds word embeddings and a word encoder of its own; a subword "
                "encoder (or word_embedding.dim 0, word_encoder none) needs recipe: generic"
            )
        if self.model.word_embedding.pretrained is not None:
            raise ValueError(
                "model.word_embedding.pretrained: with several datasets give vectors per language, "
                "e.g. word_vectors: {nl: vectors/nl.vec}"
            )
        if self.recipe != "generic":
            self._apply_recipe_sharing()
        for name in self.datasets:
            self.dataset_view(name)  # each dataset must make a valid single-task configuration
        return self

    def _apply_recipe_sharing(self) -> None:
        """A recipe fixes what is shared, except the choices RECIPE_CHOICES leaves to the config."""
        fixed = RECIPE_SHARING[self.recipe]
        choices = RECIPE_CHOICES.get(self.recipe, {})
        given = self.sharing.model_fields_set if "sharing" in self.model_fields_set else set()
        conflicts = []
        resolved = fixed.model_copy()
        for key in given:
            value = getattr(self.sharing, key)
            if key in SHARING_SETTINGS or (key in choices and value in choices[key]):
                setattr(resolved, key, value)
            elif value != getattr(fixed, key):
                allowed = f" (it allows {', '.join(choices[key])})" if key in choices else ""
                conflicts.append(f"{key}: {value}{allowed}")
        if conflicts:
            raise ValueError(
                f"sharing: recipe {self.recipe} fixes what is shared ({fixed.model_dump()}), but the config "
                f"sets {'; '.join(conflicts)}; remove them or use recipe: generic"
            )
        if resolved.word_encoder == "per_language" and resolved.private_encoder == "per_language":
            raise ValueError(
                "sharing: a private encoder beside a per-language word encoder is the same thing twice"
            )
        if self.sharing != resolved:
            self.sharing = resolved

    def targets(self) -> list[str]:
        return [name for name, entry in self.datasets.items() if entry.role == "target"]

    def sources(self) -> list[str]:
        """The auxiliary datasets (the sources of a transfer)."""
        return [name for name, entry in self.datasets.items() if entry.role != "target"]

    def dataset_view(self, name: str) -> ExperimentConfig:
        """The single-task configuration of one dataset: its reading options and the shared sections.
        Evaluation, prediction and the saved model's per-dataset entry points use it."""
        entry = self.datasets[name]
        model = self.model.model_copy(deep=True)
        if entry.kind == "classification":
            model.head.type = "classifier"
        if entry.tag_scheme == "none":  # train_scheme converts span tags; POS tags stay as they are
            model.train_scheme = "same"
        try:
            return ExperimentConfig(
                data=entry.single(),
                normalise=self.normalise,
                vocab=self.vocab,
                model=model,
                training=self.training,
            )
        except ValidationError as error:
            problems = "; ".join(str(p["msg"]) for p in error.errors())
            raise ValueError(f"datasets.{name}: {problems}") from None


def format_validation_error(error: ValidationError, source: str, what: str = "configuration") -> str:
    """One line per problem, each naming its key."""
    lines = [f"{source}: invalid {what}"]
    for problem in error.errors():
        key = ".".join(str(part) for part in problem["loc"]) or "(top level)"
        if problem["type"] == "extra_forbidden":
            lines.append(f"  {key}: unknown key")
        elif problem["type"] == "value_error":  # our own checks: the message names the keys
            lines.append(f"  {key}: {str(problem['msg']).removeprefix('Value error, ')}")
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
        raise ConfigError(format_validation_error(error, source)) from None


def parse_multitask_config(raw: Any, source: str = "<config>") -> MultiTaskConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping of sections (datasets, sharing, model, ...)")
    try:
        return MultiTaskConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, source)) from None


def parse_any_config(raw: Any, source: str = "<config>") -> ExperimentConfig | MultiTaskConfig:
    """A config with a ``datasets:`` mapping is a multi-dataset run; one with ``data:`` a single one."""
    if isinstance(raw, dict) and "datasets" in raw:
        if "data" in raw:
            raise ConfigError(f"{source}: give either data (one dataset) or datasets (several), not both")
        return parse_multitask_config(raw, source)
    return parse_config(raw, source)


def read_raw_config(
    path: str | Path,
    what: str = "config file",
    expected: str = "a mapping of sections (data or datasets, model, training, ...)",
) -> dict[str, Any]:
    """A YAML file's top-level mapping, unvalidated (overrides are applied to it first)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected {expected}")
    return raw


def load_any_config(
    path: str | Path, overrides: list[str] | None = None
) -> ExperimentConfig | MultiTaskConfig:
    raw = apply_overrides(read_raw_config(path), overrides or [])
    return parse_any_config(raw, str(path))


def load_config(path: str | Path, overrides: list[str] | None = None) -> ExperimentConfig:
    raw = read_raw_config(path, expected="a mapping of sections (data, model, training, ...)")
    return parse_config(apply_overrides(raw, overrides or []), str(path))


def dump_config(config: ExperimentConfig | MultiTaskConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


# --- multilingual pretraining (babeltag pretrain) --------------------------------------------


class PretrainTextConfig(Section):
    data_dir: str | None = Field(
        None, description="gather the raw text of every language from a data folder laid out like shared/data"
    )
    dirs: list[str] = Field(default_factory=list, description="folders of <language>.txt, a sentence a line")
    synthetic_sentences: int = Field(
        0, ge=0, description="add this many sentences of each synthetic language (offline checks and demos)"
    )
    languages: list[str] | None = Field(None, description="only these languages; null = all found")
    max_sentences_per_language: int | None = Field(None, ge=1)
    heldout_sentences: int = Field(200, ge=1, description="per language, kept out for held-out perplexity")

    @model_validator(mode="after")
    def _some_text(self) -> PretrainTextConfig:
        if self.data_dir is None and not self.dirs and not self.synthetic_sentences:
            raise ValueError("give data_dir, dirs or synthetic_sentences")
        return self


class SubwordConfig(Section):
    kind: Literal["bpe", "unigram"] = "bpe"
    vocab_size: int = Field(16000, ge=16)
    alpha: float = Field(0.5, ge=0.0, description="language sampling temperature for the vocabulary")
    sample_sentences: int | None = Field(None, ge=1, description="sentences to learn from; null = all")
    lowercase: bool = False
    min_frequency: int = Field(2, ge=1)


class TransformerConfig(Section):
    dim: int = Field(256, ge=8)
    layers: int = Field(4, ge=1)
    heads: int = Field(4, ge=1)
    ff_dim: int | None = Field(None, ge=1, description="null = 4 x dim")
    dropout: float = Field(0.1, ge=0.0, lt=1.0)
    positions: Literal["learned", "sinusoidal"] = "learned"
    max_positions: int = Field(512, ge=8)
    language_embeddings: bool = Field(True, description="XLM's per-language input embeddings")
    embedding_norm: bool = Field(True, description="layer norm over the summed input embeddings (BERT, XLM)")

    @model_validator(mode="after")
    def _heads_divide(self) -> TransformerConfig:
        if self.dim % self.heads:
            raise ValueError(f"dim ({self.dim}) must be divisible by heads ({self.heads})")
        return self


class MaskingConfig(Section):
    rate: float = Field(0.15, gt=0.0, le=1.0, description="share of pieces to predict")
    mask: float = Field(0.8, ge=0.0, le=1.0, description="of those: replaced by <mask>")
    random: float = Field(0.1, ge=0.0, le=1.0, description="of those: replaced by a random piece")
    alpha: float = Field(0.7, ge=0.0, description="language sampling temperature for batches")

    @model_validator(mode="after")
    def _rates_add_up(self) -> MaskingConfig:
        if self.mask + self.random > 1.0:
            raise ValueError(f"mask ({self.mask}) + random ({self.random}) must be at most 1")
        return self


class TranslationLMConfig(Section):
    source: Literal["none", "pud", "synthetic"] = "none"
    data_dir: str | None = Field(None, description="pud: the shared data folder (ud-pud inside)")
    languages: list[str] | None = Field(None, description="pud: languages to pair; null = all")
    pivot: str = Field("en", description="pairs are pivot-X (PUD is translated from English)")
    probability: float = Field(0.5, ge=0.0, le=1.0, description="share of steps that are TLM steps")
    synthetic_sentences: int = Field(1000, ge=1)

    @model_validator(mode="after")
    def _pud_needs_data(self) -> TranslationLMConfig:
        if self.source == "pud" and self.data_dir is None:
            raise ValueError("source 'pud' needs data_dir (the folder holding ud-pud)")
        return self


class PretrainTrainingConfig(Section):
    steps: int = Field(10000, ge=1)
    batch_size: int = Field(64, ge=1, description="sentences (or sentence pairs) per step")
    max_pieces: int = Field(128, ge=4, description="longer sentences are cut for pretraining")
    lr: float = Field(5e-4, gt=0)
    warmup: int = Field(500, ge=0, description="linear warm-up steps, then linear decay to 0")
    weight_decay: float = Field(0.01, ge=0.0)
    clip: float | None = Field(1.0, gt=0)
    eval_every: int = Field(500, ge=1)
    checkpoint_every: int = Field(500, ge=1)
    seed: int = 1
    threads: int | None = Field(None, ge=1)
    device: str = Field("cpu", description="cpu, cuda, cuda:1, ...")
    mixed_precision: Literal["auto", "on", "off"] = Field(
        "auto", description="bfloat16 autocast; auto = on for CUDA, off on CPU"
    )


class PretrainConfig(Section):
    text: PretrainTextConfig
    subwords: SubwordConfig = Field(default_factory=SubwordConfig)
    encoder: TransformerConfig = Field(default_factory=TransformerConfig)
    mlm: MaskingConfig = Field(default_factory=MaskingConfig)
    tlm: TranslationLMConfig = Field(default_factory=TranslationLMConfig)
    training: PretrainTrainingConfig = Field(default_factory=PretrainTrainingConfig)


def load_pretrain_config(path: str | Path, overrides: list[str] | None = None) -> PretrainConfig:
    raw = apply_overrides(
        read_raw_config(path, expected="a mapping of sections (text, subwords, encoder, ...)"),
        overrides or [],
    )
    try:
        return PretrainConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, str(path), "pretraining configuration")) from None


def dump_pretrain_config(config: PretrainConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
