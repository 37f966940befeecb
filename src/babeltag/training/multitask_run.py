"""``babeltag train`` for a config with several datasets: one model, parts shared as configured.

config -> read every dataset (labelled sample, the rest unlabelled) -> sharing groups
       -> vocabularies per group -> shared parts + one model per dataset -> schedule of batches
       -> Trainer (model selection on the targets' dev) -> archive + metrics for every dataset
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from babeltag.config import MultiDatasetEntry, MultiTaskConfig
from babeltag.data.batching import Batch, TensorDataset
from babeltag.data.datasets import normaliser_of, read_split, resolve_path, to_scheme
from babeltag.data.example import Example
from babeltag.data.mixing import DatasetInfo, Schedule, Step, proportions
from babeltag.data.scripts import dominant_script
from babeltag.data.shared_vocab import SharedVocabularies, build_shared_vocabularies
from babeltag.data.subsample import sample_labelled
from babeltag.embeddings.vectors import WordVectors, read_vec
from babeltag.errors import ConfigError, DataError
from babeltag.evaluation.predictions import write_predictions
from babeltag.models.archive import save_model
from babeltag.models.build import subword_pieces, training_scheme
from babeltag.models.build_multitask import (
    Pretrained,
    build_for_config,
    check_output_groups,
    check_recipe,
    part_groups,
)
from babeltag.models.multitask import MultiTaskModel
from babeltag.training.devices import check_device
from babeltag.training.distributed import Distributed
from babeltag.training.run import (
    CHECKPOINT,
    evaluate_examples,
    finish_run,
    prepare_process,
    start_run,
    training_facts,
)
from babeltag.training.trainer import Trainer


@dataclass
class DatasetSplits:
    """One dataset's examples: the labelled training sample, the rest of its training file as
    unlabelled text (when kept), dev and test."""

    train: list[Example]
    unlabelled: list[Example] = field(default_factory=list)
    dev: list[Example] | None = None
    test: list[Example] | None = None
    train_file_sentences: int = 0


def read_datasets(config: MultiTaskConfig, data_dir: str | Path | None) -> dict[str, DatasetSplits]:
    """Read and check every file of every dataset (so a bad file fails before anything is written)."""
    splits = {}
    for name, entry in config.datasets.items():
        try:
            splits[name] = read_dataset(name, entry, config.training.seed, data_dir)
        except DataError as error:  # say which dataset the file belongs to
            raise DataError(error.path, error.line, f"{error.message} (dataset {name})") from None
    return splits


def read_dataset(
    name: str, entry: MultiDatasetEntry, default_seed: int, data_dir: str | Path | None
) -> DatasetSplits:
    data = entry.single()
    train = read_split(data, "train", data_dir)
    seed = entry.sample_seed if entry.sample_seed is not None else default_seed
    dev = read_split(data, "dev", data_dir) if data.dev else None
    if entry.held_out_dev is not None:  # the dev set comes out of the training file, before sampling
        if entry.held_out_dev >= len(train):
            raise ConfigError(
                f"datasets.{name}: held_out_dev is {entry.held_out_dev} but the training file has "
                f"{len(train)} sentences"
            )
        dev, train = split_off(train, entry.held_out_dev, seed)
    if entry.zero_resource:  # every training sentence is text for the objectives, none is labelled
        labelled: list[Example] = []
        rest = [replace(e, labels=None, label=None, meta=dict(e.meta)) for e in train]
    else:
        labelled, rest = sample_labelled(
            train,
            sentences=entry.labelled_sentences,
            rate=entry.labelling_rate,
            seed=seed,
            source=f"datasets.{name}",
        )
    return DatasetSplits(
        train=labelled,
        unlabelled=rest if entry.keep_unlabelled or entry.zero_resource else [],
        dev=dev,
        test=read_split(data, "test", data_dir) if data.test else None,
        train_file_sentences=len(train),
    )


def split_off(examples: list[Example], count: int, seed: int) -> tuple[list[Example], list[Example]]:
    """A seeded sample of ``count`` examples and the rest, both in file order. The sample is drawn
    with a seed of its own (``seed`` + 1,000,003) so it does not mirror the labelled sample's draw."""
    chosen = set(random.Random(seed + 1_000_003).sample(range(len(examples)), count))
    return (
        [e for i, e in enumerate(examples) if i in chosen],
        [e for i, e in enumerate(examples) if i not in chosen],
    )


def load_word_vectors(
    config: MultiTaskConfig, data_dir: str | Path | None, train_words: dict[str, set[str]]
) -> dict[str, WordVectors]:
    """Pretrained vectors per language (``word_vectors``), checked against the model's dimension."""
    settings = config.model.word_embedding
    vectors = {}
    for language, relative in config.word_vectors.items():
        if language not in train_words:
            raise ConfigError(f"word_vectors.{language}: no dataset is in language {language!r}")
        path = resolve_path(relative, data_dir)
        keep = None if settings.add_pretrained_words else train_words[language]
        found = read_vec(path, keep=keep, max_words=settings.max_pretrained_words)
        if found.dim != settings.dim:
            raise ConfigError(
                f"model.word_embedding.dim is {settings.dim} but {path} has {found.dim}-dimensional "
                f"vectors; set model.word_embedding.dim: {found.dim}"
            )
        vectors[language] = found
    return vectors


def vector_files_by_word_table(config: MultiTaskConfig, groups: dict[str, dict[str, str]]) -> dict[str, str]:
    """Which language's vectors initialise each word table: a table of one language takes that
    language's file; a table shared by several languages cannot take one language's vectors."""
    languages: dict[str, set[str]] = {}
    for name, entry in config.datasets.items():
        languages.setdefault(groups[name]["words"], set()).add(entry.language)
    chosen = {}
    for table, found in languages.items():
        with_vectors = sorted(found & set(config.word_vectors))
        if not with_vectors:
            continue
        if len(found) > 1:
            raise ConfigError(
                f"word_vectors: the word table {table!r} is shared by languages {sorted(found)}, so no "
                f"single language's vectors ({', '.join(with_vectors)}) can initialise it; align them into "
                "one file first, or set sharing.word_embedding: per_language"
            )
        chosen[table] = with_vectors[0]
    return chosen


def pretrained_by_group(
    vectors: dict[str, WordVectors], vocabularies: SharedVocabularies, language_of_table: dict[str, str]
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Rows of each word table that get a pretrained vector."""
    found: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    for table, language in language_of_table.items():
        words, file_vectors = vocabularies.words[table], vectors[language]
        kept = [i for i, w in enumerate(file_vectors.words) if w in words.stoi]
        rows = [words.stoi[file_vectors.words[i]] for i in kept]
        found[table] = (torch.from_numpy(file_vectors.vectors[kept]), torch.tensor(rows, dtype=torch.long))
    return found


class MultiDatasetSource:
    """The Trainer's view of a multi-dataset epoch: the schedule's steps, tensorised when used.

    With ``unlabelled`` text for a dataset, each of its batches comes with a batch of the same size
    drawn at random from that text, on which only the label-free objectives (bi-LM, adversary) train.
    """

    def __init__(
        self,
        datasets: dict[str, TensorDataset],
        schedule: Schedule,
        unlabelled: dict[str, TensorDataset] | None = None,
        generator: np.random.Generator | None = None,
    ) -> None:
        self.datasets = datasets
        self.schedule = schedule
        self.unlabelled = unlabelled or {}
        self.generator = generator or np.random.default_rng(0)

    def epoch(self) -> list[Step]:
        return self.schedule.epoch()

    def inputs(self, step: Step) -> list[tuple[str, Batch]]:
        batches = [(name, self.datasets[name].batch(indices)) for name, indices in step]
        for name, indices in step:
            text = self.unlabelled.get(name)
            if text is not None and len(text):
                drawn = self.generator.choice(len(text), size=min(len(indices), len(text)), replace=False)
                batches.append((name, text.batch(sorted(drawn.tolist()))))
        # datasets with no labelled sentences (zero-resource) give a batch of text to every update
        size = len(step[0][1]) if step else 1
        for name, text in self.unlabelled.items():
            if name not in self.datasets and len(text):
                drawn = self.generator.choice(len(text), size=min(size, len(text)), replace=False)
                batches.append((name, text.batch(sorted(drawn.tolist()))))
        return batches

    def sentences(self, step: Step) -> int:
        return sum(len(indices) for _, indices in step)

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.bit_generator.state, "schedule": self.schedule.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.bit_generator.state = state["generator"]
        self.schedule.load_state_dict(state["schedule"])

    def critic_inputs(self) -> list[tuple[str, Batch]]:
        """A random batch of every dataset (from its unlabelled text when it has some): what a
        language discriminator trains on between main updates (MAN)."""
        batch_size = self.schedule.batch_size
        batches = []
        for name in dict.fromkeys([*self.datasets, *self.unlabelled]):
            data = self.unlabelled.get(name) or self.datasets[name]
            drawn = self.generator.choice(len(data), size=min(batch_size, len(data)), replace=False)
            batches.append((name, data.batch(sorted(drawn.tolist()))))
        return batches


def loss_weights(config: MultiTaskConfig, splits: dict[str, DatasetSplits]) -> dict[str, float]:
    """``size_ratio`` is Kim et al. (2017)'s w_s = |target train| / |source train|."""
    target_size = sum(len(splits[name].train) for name in config.targets())
    if target_size == 0 and any(e.loss_weight == "size_ratio" for e in config.datasets.values()):
        raise ConfigError("loss_weight: size_ratio needs labelled target sentences; the targets have none")
    weights = {}
    for name, entry in config.datasets.items():
        if entry.loss_weight == "size_ratio":
            weights[name] = target_size / len(splits[name].train)
        else:
            weights[name] = float(entry.loss_weight)
    objectives = config.objectives
    if objectives.adversarial is not None:
        weights["adversarial"] = objectives.adversarial.weight
    if objectives.bilm is not None:
        weights["bilm"] = objectives.bilm.weight
    if config.sharing.experts != "none":
        weights["gate"] = config.sharing.gate_loss_weight
    return weights


def make_schedule(
    config: MultiTaskConfig, datasets: dict[str, TensorDataset], processes: int = 1
) -> tuple[Schedule, dict[str, float]]:
    """The run's updates, in batches of ``training.batch_size`` sentences per training process."""
    s = config.sampling
    infos = [
        DatasetInfo(name, entry.task, entry.language, len(datasets[name]), entry.role)
        for name, entry in config.datasets.items()
        if name in datasets  # zero-resource datasets have no labelled batches to schedule
    ]
    q = proportions(infos, s.proportions, s.alpha, s.other_task, s.other_language)
    shares = {name: 0.0 for name in config.datasets}
    shares.update({info.name: float(p) for info, p in zip(infos, q, strict=True)})
    batch_size = config.training.batch_size * processes
    targets = [name for name in config.targets() if name in datasets]
    if not targets and (s.epoch_unit == "target_batches" or s.epoch_size is None):
        raise ConfigError(
            "sampling: the targets have no labelled sentences (zero-resource), so an epoch cannot be counted "
            "in target batches: set sampling.epoch_unit: updates and sampling.epoch_size"
        )
    target_batches = sum(math.ceil(len(datasets[name]) / batch_size) for name in targets)
    epoch_size = s.epoch_size
    if epoch_size is None:  # one pass over the targets' training data
        target_share = sum(shares[name] for name in targets)
        epoch_size = (
            target_batches if s.epoch_unit == "target_batches" else math.ceil(target_batches / target_share)
        )
    schedule = Schedule(
        {name: data.lengths for name, data in datasets.items()},
        {name: shares[name] for name in datasets},
        batch_size,
        s.order,
        s.epoch_unit,
        epoch_size,
        targets,
        np.random.default_rng(config.training.seed),
    )
    return schedule, shares


def evaluate_datasets(
    model: MultiTaskModel,
    config: MultiTaskConfig,
    vocabularies: SharedVocabularies,
    examples: dict[str, list[Example]],
) -> dict[str, dict[str, Any]]:
    return {
        name: evaluate_examples(model.views[name], data, config.dataset_view(name), vocabularies.of(name))[0]
        for name, data in examples.items()
    }


def train_multitask(
    config: MultiTaskConfig,
    out_dir: str | Path,
    data_dir: str | Path | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    check_device(config.training.device, config.training.mixed_precision)
    distributed = Distributed.from_environment(config.training.device)
    prepare_process(config.training)
    check_recipe(config)
    splits = read_datasets(config, data_dir)
    # each dataset's tokens as the model reads them (a dataset may be transliterated)
    normalisers = {name: normaliser_of(config.dataset_view(name)) for name in config.datasets}
    scripts = {
        name: dominant_script(
            normalisers[name].written(t) for e in (s.train or s.unlabelled) for t in e.tokens
        )
        for name, s in splits.items()
    }
    groups = part_groups(config, scripts)
    check_output_groups(config, groups)
    language_of_table = vector_files_by_word_table(config, groups)
    words_by_language: dict[str, set[str]] = {}
    for name, s in splits.items():
        language_words = words_by_language.setdefault(config.datasets[name].language, set())
        language_words.update(normalisers[name].word(t) for e in (s.train or s.unlabelled) for t in e.tokens)
    vectors = load_word_vectors(config, data_dir, words_by_language)

    out = Path(out_dir)
    log = start_run(out, config, distributed)

    # labels are learned in each dataset's training scheme (e.g. BIOES): convert before counting them
    train = {
        name: to_scheme(s.train, config.datasets[name].tag_scheme, training_scheme(config.dataset_view(name)))
        for name, s in splits.items()
    }
    vocabularies = build_shared_vocabularies(
        {name: examples or splits[name].unlabelled for name, examples in train.items()},
        groups,
        normalisers,
        config.vocab.min_count,
        config.vocab.max_size,
        pretrained_words={table: vectors[language].words for table, language in language_of_table.items()},
        sources={name: str(entry.train) for name, entry in config.datasets.items()},
        unlabelled_ok={name for name, entry in config.datasets.items() if entry.zero_resource},
    )
    vocabularies.pieces = subword_pieces(config.model.subword_encoder)
    pretrained: Pretrained = pretrained_by_group(vectors, vocabularies, language_of_table)
    model = build_for_config(config, vocabularies, pretrained)
    tensors = {
        name: TensorDataset(
            examples,
            vocabularies.of(name),
            normalisers[name],
            "sentence" if config.datasets[name].kind == "classification" else "token",
        )
        for name, examples in train.items()
        if examples  # a zero-resource dataset has no labelled batches
    }
    schedule, shares = make_schedule(config, tensors, distributed.world_size)
    weights = loss_weights(config, splits)
    parameters = {name: sum(p.numel() for p in part.parameters()) for name, part in model.parts.items()}
    log.record(
        {
            "event": "start",
            "datasets": {
                name: {
                    "role": config.datasets[name].role,
                    "train": len(s.train),
                    "train_file": s.train_file_sentences,
                    "unlabelled": len(s.unlabelled),
                    "dev": len(s.dev or []),
                    "test": len(s.test or []),
                    "proportion": shares[name],
                    "loss_weight": weights[name],
                    "parts": model.part_names_of(name),
                }
                for name, s in splits.items()
            },
            "parameters": parameters,
            "schedule": schedule.describe(),
        },
        "\n".join(
            [
                f"{name} ({config.datasets[name].role}): train {len(s.train)} of {s.train_file_sentences}, "
                f"dev {len(s.dev or [])}, test {len(s.test or [])}; share {shares[name]:.3f}, "
                f"loss weight {weights[name]:.3g}; parts {', '.join(model.part_names_of(name))}"
                for name, s in splits.items()
            ]
            + [schedule.describe(), f"{sum(parameters.values()):,} parameters in {len(parameters)} parts"]
        ),
    )

    selectors = config.targets() if config.model_selection == "targets" else config.sources()
    targets_with_dev = {name: splits[name].dev for name in selectors if splits[name].dev}
    selected_on = f"{config.model_selection}' dev"
    if config.model_selection == "sources" and not targets_with_dev:
        raise ConfigError(
            "model_selection: sources, but no auxiliary dataset has a dev set (dev or held_out_dev)"
        )

    def evaluate_dev() -> dict[str, Any]:
        scores = evaluate_datasets(model, config, vocabularies, targets_with_dev)  # type: ignore[arg-type]
        return {"score": float(np.mean([s["score"] for s in scores.values()])), "datasets": scores}

    def save_best(dev: dict[str, Any]) -> None:
        save_model(out / "model", model, config, vocabularies, {"selected_on": selected_on, "dev": dev})

    trainer = Trainer(
        model,
        config.training,
        log,
        evaluate_dev if targets_with_dev else None,
        save_best,
        progress,
        loss_weights=weights,
        checkpoint=out / CHECKPOINT,
        distributed=distributed,
    )
    # unlabelled text feeds the label-free objectives, when there are any
    with_objectives = config.objectives.bilm is not None or config.objectives.adversarial is not None
    unlabelled = {
        name: TensorDataset(s.unlabelled, vocabularies.of(name), normalisers[name], label_kind=None)
        for name, s in splits.items()
        if with_objectives and s.unlabelled
    }
    if not with_objectives and any(entry.zero_resource for entry in config.datasets.values()):
        log.record(
            {"event": "note"}, "a zero-resource dataset without objectives learns from its word vectors only"
        )
    source = MultiDatasetSource(
        tensors, schedule, unlabelled, np.random.default_rng(config.training.seed + 1)
    )
    result = trainer.fit(source)
    summary: dict[str, Any] = {
        **training_facts(result, selected_on if targets_with_dev else None),
        "schedule": schedule.describe(),
        "datasets": {},
    }
    if not distributed.is_main:  # rank 0 saves and scores the model
        distributed.finish()
        return summary
    if not targets_with_dev:
        save_model(out / "model", model, config, vocabularies, {"selected_on": "last epoch"})
    for name, s in splits.items():
        entry = config.datasets[name]
        scores: dict[str, Any] = {
            "role": entry.role,
            "task": entry.task,
            "language": entry.language,
            "metric": config.dataset_view(name).metric(),
            "train": len(s.train),
        }
        for split, examples in (("dev", s.dev), ("test", s.test)):
            if examples:
                scores[split], predicted = evaluate_examples(
                    model.views[name], examples, config.dataset_view(name), vocabularies.of(name)
                )
                write_predictions(out / "predictions" / name / f"{split}.jsonl", examples, predicted)
        summary["datasets"][name] = scores
    summary = finish_run(out, log, summary)
    distributed.finish()
    return summary
