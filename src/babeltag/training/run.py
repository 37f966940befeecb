"""``babeltag train``: from a validated config to a saved, evaluated model.

config -> read train/dev/test -> vocabularies -> tensors -> model -> Trainer -> archive + metrics
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from babeltag.config import ExperimentConfig, MultiTaskConfig, TrainingConfig, dump_config, load_any_config
from babeltag.data.batching import TensorDataset, Vocabularies
from babeltag.data.datasets import build_vocabularies, normaliser_of, read_split, resolve_path, to_scheme
from babeltag.data.example import Example
from babeltag.embeddings.vectors import WordVectors, read_vec
from babeltag.errors import ConfigError
from babeltag.evaluation.predictions import write_predictions
from babeltag.evaluation.scoring import score
from babeltag.models.archive import save_model
from babeltag.models.build import build_model, subword_pieces, training_scheme
from babeltag.models.model import TaskModel
from babeltag.models.predict import predict_labels
from babeltag.training.devices import check_device
from babeltag.training.distributed import Distributed
from babeltag.training.log import RunLog
from babeltag.training.resume import check_resumable
from babeltag.training.trainer import Trainer, TrainingResult


def seed_everything(seed: int) -> None:
    """Model initialisation draws from torch's global generator; batch order has its own."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def prepare_process(training: TrainingConfig) -> None:
    """CPU threads and seeds, before anything random happens."""
    if training.threads:
        torch.set_num_threads(training.threads)
    seed_everything(training.seed)


def load_pretrained(
    config: ExperimentConfig, data_dir: str | Path | None, train_words: set[str]
) -> WordVectors | None:
    settings = config.model.word_embedding
    if settings.pretrained is None:
        return None
    path = resolve_path(settings.pretrained, data_dir)
    keep = None if settings.add_pretrained_words else train_words
    vectors = read_vec(path, keep=keep, max_words=settings.max_pretrained_words)
    if vectors.dim != settings.dim:
        raise ConfigError(
            f"model.word_embedding.dim is {settings.dim} but {path} has {vectors.dim}-dimensional vectors; "
            f"set model.word_embedding.dim: {vectors.dim}"
        )
    return vectors


def pretrained_rows(vectors: WordVectors, vocabularies: Vocabularies) -> tuple[torch.Tensor, torch.Tensor]:
    rows = [vocabularies.words.stoi[w] for w in vectors.words if w in vocabularies.words.stoi]
    kept = [i for i, w in enumerate(vectors.words) if w in vocabularies.words.stoi]
    return torch.from_numpy(vectors.vectors[kept]), torch.tensor(rows, dtype=torch.long)


def evaluate_examples(
    model: TaskModel, examples: Sequence[Example], config: ExperimentConfig, vocabularies: Vocabularies
) -> tuple[dict[str, Any], list[list[str]]]:
    predicted = predict_labels(
        model,
        examples,
        vocabularies,
        normaliser_of(config),
        training_scheme(config),
        config.data.tag_scheme,
        config.training.eval_batch_size,
    )
    return score(examples, predicted, config.metric(), config.data.tag_scheme), predicted


#: What may differ when a run resumes from its checkpoint: where and how fast it runs, and for how long.
RESUMABLE_CHANGES = (
    "training.device",
    "training.threads",
    "training.checkpoint_every",
    "training.epochs",
    "training.patience",
    "training.eval_batch_size",
)

CHECKPOINT = "checkpoint.pt"


def start_run(out: Path, config: ExperimentConfig | MultiTaskConfig, distributed: Distributed) -> RunLog:
    """The run directory and its log: a new run, or the continuation of the one whose checkpoint is
    there (with the same configuration, but for RESUMABLE_CHANGES). Only rank 0 writes."""
    resuming = (out / CHECKPOINT).is_file()
    if resuming:
        saved_path = out / "config.yaml"
        saved = load_any_config(saved_path).model_dump(mode="json") if saved_path.is_file() else None
        check_resumable(out, saved, config.model_dump(mode="json"), RESUMABLE_CHANGES)
    if not distributed.is_main:
        return RunLog(None, stream=io.StringIO())
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(dump_config(config), encoding="utf-8")
    return RunLog(out / "train_log.jsonl", append=resuming)


def train(
    config: ExperimentConfig,
    out_dir: str | Path,
    data_dir: str | Path | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    check_device(config.training.device, config.training.mixed_precision)
    distributed = Distributed.from_environment(config.training.device)
    prepare_process(config.training)
    # every file is read (and checked) before the run directory is created
    train_examples = read_split(config.data, "train", data_dir)
    dev_examples = read_split(config.data, "dev", data_dir) if config.data.dev else None
    test_examples = read_split(config.data, "test", data_dir) if config.data.test else None
    out = Path(out_dir)
    log = start_run(out, config, distributed)
    normaliser = normaliser_of(config)
    vectors = load_pretrained(
        config, data_dir, {normaliser.word(t) for e in train_examples for t in e.tokens}
    )
    # labels are learned in the training scheme (e.g. BIOES), so convert before counting them
    train_examples = to_scheme(train_examples, config.data.tag_scheme, training_scheme(config))
    vocabularies = build_vocabularies(train_examples, config, vectors.words if vectors else ())
    vocabularies = replace(vocabularies, pieces=subword_pieces(config.model.subword_encoder))
    label_kind = "sentence" if config.data.kind == "classification" else "token"
    train_data = TensorDataset(train_examples, vocabularies, normaliser, label_kind)

    initial = pretrained_rows(vectors, vocabularies) if vectors else (None, None)
    model = build_model(config, vocabularies, *initial)
    parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.record(
        {
            "event": "start",
            "train": len(train_examples),
            "dev": len(dev_examples or []),
            "test": len(test_examples or []),
            "words": len(vocabularies.words),
            "chars": len(vocabularies.chars),
            "labels": len(vocabularies.labels),
            "parameters": parameters,
        },
        f"train {len(train_examples)} / dev {len(dev_examples or [])} / test {len(test_examples or [])} sentences; "
        f"{len(vocabularies.words)} words, {len(vocabularies.chars)} chars, {len(vocabularies.labels)} labels; "
        f"{parameters:,} trainable parameters",
    )

    def evaluate_dev() -> dict[str, Any]:
        assert dev_examples is not None
        return evaluate_examples(model, dev_examples, config, vocabularies)[0]

    def save_best(dev: dict[str, Any]) -> None:
        save_model(out / "model", model, config, vocabularies, {"selected_on": "dev", "dev": dev})

    trainer = Trainer(
        model,
        config.training,
        log,
        evaluate_dev if dev_examples else None,
        save_best,
        progress,
        checkpoint=out / CHECKPOINT,
        distributed=distributed,
    )
    result = trainer.fit(train_data)
    summary = {**training_facts(result, "dev" if dev_examples else None), "metric": config.metric()}
    if not distributed.is_main:  # rank 0 saves and scores the model
        distributed.finish()
        return summary
    if dev_examples is None:  # nothing to select on: the last epoch is the model
        save_model(out / "model", model, config, vocabularies, {"selected_on": "last epoch"})
    for split, examples in (("dev", dev_examples), ("test", test_examples)):
        if examples:
            scores, predicted = evaluate_examples(model, examples, config, vocabularies)
            summary[split] = scores
            write_predictions(out / "predictions" / f"{split}.jsonl", examples, predicted)
    summary = finish_run(out, log, summary)
    distributed.finish()
    return summary


def training_facts(result: TrainingResult, selected_on: str | None) -> dict[str, Any]:
    """How training went: the selected epoch (the last one when there was no dev set to select on),
    how many ran, and the mean training speed."""
    return {
        "best_epoch": result.best_epoch if selected_on else result.epochs_run,
        "epochs_run": result.epochs_run,
        "selected_on": selected_on or "last epoch",
        "train_sentences_per_s": float(np.mean([h["sentences_per_s"] for h in result.history])),
    }


def finish_run(out: Path, log: RunLog, summary: dict[str, Any]) -> dict[str, Any]:
    """Write the run's metrics.json and log its end. The model and metrics are the run's result
    now, so its checkpoint goes (running the command again trains anew)."""
    (out / "metrics.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    log.record({"event": "done", **summary})
    (out / CHECKPOINT).unlink(missing_ok=True)
    return summary
