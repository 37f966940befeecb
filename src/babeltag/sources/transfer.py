"""Ground truth for source ranking: train one model per source language, score it on every target.

A transfer spec names the languages (each with a training pool and a test file), the training config
every source model uses, and the seeds. ``run_transfer`` trains the sources as a grid (one axis,
``source``; parallel, resumable, the same run directories as ``babeltag run``) and then scores each
trained model zero-shot on every other language's test file. The result, ``transfer.json``, is the
matrix ``scores[source][target]`` (mean over seeds, with the std and every seed's number) that the
ranker is fitted on and judged by.

    babeltag sources transfer configs/sources/pos_ud.yaml --data-dir ../shared/data --out runs/sources-pos

Every source model is selected on a held-out part of its *own* pool (``held_out_dev``), never on a
target: the numbers are what a user with no target labels would get.
"""

from __future__ import annotations

import copy
import json
import statistics
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from babeltag.config import (
    DatasetConfig,
    MultiDatasetEntry,
    Section,
    format_validation_error,
    read_raw_config,
)
from babeltag.data.datasets import check_tags, read_file, resolve_path
from babeltag.data.example import Example
from babeltag.errors import BabeltagError, ConfigError, DataError
from babeltag.models.archive import load_model
from babeltag.training.grid import dump_yaml, run_grid
from babeltag.training.run import evaluate_examples

SOURCE_DATASET = "source"  # the dataset name of the one dataset in every source model


class TransferLanguage(Section):
    """One language: the pool its source model trains on and the file it is scored on as a target."""

    train: str = Field(..., description="training pool; held_out_dev sentences of it are the source's dev")
    test: str = Field(..., description="scored on as a target (and as the source's own test)")
    max_train_sentences: int | None = Field(None, ge=1, description="keep the first N of the pool")
    labelled_sentences: int | None = Field(
        None,
        ge=1,
        description="train the source on a seeded random N of the pool (after held_out_dev): for files "
        "sorted by label, whose first N sentences are not a sample",
    )
    token_prefix: str | None = None
    encoding: str | None = None
    tag_scheme: str | None = Field(
        None, description="this language's files' scheme when it differs (CoNLL-2003 en: iob1, 2002: iob2)"
    )


class TransferSpec(Section):
    task: Literal["pos", "ner", "cls"] = Field(..., description="what the ranker is asked about")
    metric: str = Field(..., description="the score in the matrix: accuracy (pos, cls) or f1 (ner)")
    data: dict[str, Any] = Field(
        ..., description="how every language's files are read: task, format, columns, tag_scheme, ..."
    )
    training: dict[str, Any] = Field(
        ..., description="model, training, ... of every source model (a training config without datasets)"
    )
    held_out_dev: int = Field(..., ge=1, description="sentences of each pool kept for model selection")
    languages: dict[str, TransferLanguage] = Field(..., min_length=2)
    sources: list[str] | None = Field(
        None, description="train source models for these languages only (rows); null = every language"
    )
    seeds: list[int] = Field(default_factory=lambda: [1], min_length=1)
    max_test_sentences: int | None = Field(None, ge=1, description="score targets on their first N")

    @model_validator(mode="after")
    def _data_has_no_files(self) -> TransferSpec:
        files = [k for k in ("train", "dev", "test", "language") if k in self.data]
        if files:
            raise ValueError(f"data: {files} are set per language, under `languages:`")
        if "datasets" in self.training or "data" in self.training:
            raise ValueError("training: the datasets come from `languages:`; give model/training/... only")
        unknown = [s for s in self.sources or [] if s not in self.languages]
        if unknown:
            raise ValueError(f"sources: {unknown} are not among languages ({', '.join(self.languages)})")
        return self

    def source_languages(self) -> list[str]:
        return list(self.sources) if self.sources is not None else list(self.languages)

    def dataset(self, language: str, role: str = "target") -> dict[str, Any]:
        """The raw dataset entry of one language, as a training config's ``datasets:`` holds it."""
        entry = self.languages[language]
        data = {**self.data, "language": language, "train": entry.train, "test": entry.test}
        for key in ("max_train_sentences", "labelled_sentences", "token_prefix", "encoding", "tag_scheme"):
            value = getattr(entry, key)
            if value is not None:
                data[key] = value
        return {**data, "role": role}

    def reader(self, language: str) -> DatasetConfig:
        """How the language's files are read (for scoring a model on them)."""
        training_only = ("role", "max_train_sentences", "labelled_sentences")
        entry = {k: v for k, v in self.dataset(language).items() if k not in training_only}
        return DatasetConfig.model_validate(entry)


def load_spec(path: str | Path) -> TransferSpec:
    path = Path(path)
    raw = read_raw_config(path, "transfer spec", "a mapping (task, metric, data, training, languages, ...)")
    try:
        return TransferSpec.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(format_validation_error(error, str(path), "transfer spec")) from None


def write_grid(spec: TransferSpec, out: Path) -> Path:
    """The source models as a grid file of :mod:`babeltag.training.grid` (axis ``source``)."""
    first = spec.source_languages()[0]
    base = copy.deepcopy(spec.training)
    base["datasets"] = {SOURCE_DATASET: {**spec.dataset(first), "held_out_dev": spec.held_out_dev}}
    per_language = (
        "language",
        "train",
        "test",
        "max_train_sentences",
        "labelled_sentences",
        "token_prefix",
        "encoding",
        "tag_scheme",
    )
    values = {}
    for language in spec.source_languages():
        dataset = spec.dataset(language)
        # every per-language key is set for every language, so none is left over from the first one
        values[language] = {
            f"datasets.{SOURCE_DATASET}.{key}": dataset.get(key, MultiDatasetEntry.model_fields[key].default)
            for key in per_language
        }
    grid = {
        "base": "source_base.yaml",
        "axes": [{"name": "source", "values": values}],
        "seeds": spec.seeds,
        "report": {"dataset": SOURCE_DATASET, "metric": spec.metric, "splits": ["test", "dev"]},
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "source_base.yaml").write_text(dump_yaml(base), encoding="utf-8")
    path = out / "source_grid.yaml"
    path.write_text(dump_yaml(grid), encoding="utf-8")
    return path


def read_target(spec: TransferSpec, language: str, data_dir: str | Path | None) -> list[Example]:
    reader = spec.reader(language)
    assert reader.test is not None
    path = resolve_path(reader.test, data_dir)
    if not path.is_file():
        raise DataError(path, None, f"test file of {language} not found")
    examples = read_file(reader, path)
    check_tags(examples, reader.tag_scheme, reader.repair_tags, path)
    return examples[: spec.max_test_sentences] if spec.max_test_sentences else examples


def score_on_targets(
    model_dir: Path, targets: dict[str, list[Example]], metric: str, cache: Path
) -> dict[str, float]:
    """The model's ``metric`` on each target (in ``cache``, a JSON file, so a rerun does not redo it)."""
    done: dict[str, float] = json.loads(cache.read_text(encoding="utf-8")) if cache.is_file() else {}
    missing = [t for t in targets if t not in done]
    if missing:
        loaded = load_model(model_dir, SOURCE_DATASET)
        for target in missing:
            scores, _ = evaluate_examples(loaded.model, targets[target], loaded.config, loaded.vocabularies)
            if metric not in scores:
                raise ConfigError(f"metric {metric!r}: the scores of {model_dir} have {sorted(scores)}")
            done[target] = float(scores[metric])
        cache.write_text(json.dumps(done, indent=1, sort_keys=True), encoding="utf-8")
    return {t: done[t] for t in targets}


def run_transfer(
    spec_path: str | Path, out_dir: str | Path, data_dir: str | Path | None = None, jobs: int = 1
) -> dict[str, Any]:
    """Train every source (skipping finished ones), score each on every language, write transfer.json."""
    spec = load_spec(spec_path)
    out = Path(out_dir)
    targets = {language: read_target(spec, language, data_dir) for language in spec.languages}
    grid_path = write_grid(spec, out)
    run_grid(grid_path, out, data_dir=data_dir, jobs=jobs)

    per_seed: dict[str, dict[str, list[float]]] = {}
    for source in spec.source_languages():
        per_seed[source] = {t: [] for t in spec.languages}
        for seed in spec.seeds:
            run_dir = out / "runs" / f"source={source}" / f"seed{seed}"
            scores = score_on_targets(
                run_dir / "model", targets, spec.metric, run_dir / "transfer_scores.json"
            )
            for target, value in scores.items():
                per_seed[source][target].append(value)
        print(f"sources: scored {source} on {len(targets)} languages", file=sys.stderr, flush=True)
    result = transfer_result(spec, per_seed, {t: len(e) for t, e in targets.items()})
    result["spec"] = str(spec_path)
    (out / "transfer.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return result


def transfer_result(
    spec: TransferSpec, per_seed: dict[str, dict[str, list[float]]], test_sentences: dict[str, int]
) -> dict[str, Any]:
    def std(values: list[float]) -> float:
        return statistics.stdev(values) if len(values) > 1 else 0.0

    return {
        "task": spec.task,
        "metric": spec.metric,
        "seeds": spec.seeds,
        "languages": list(spec.languages),
        "test_sentences": test_sentences,
        "scores": {s: {t: statistics.fmean(v) for t, v in row.items()} for s, row in per_seed.items()},
        "std": {s: {t: std(v) for t, v in row.items()} for s, row in per_seed.items()},
        "per_seed": per_seed,
    }


def load_transfer(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / "transfer.json"
    try:
        result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BabeltagError(
            f"{path}: not a transfer result of `babeltag sources transfer` ({error})"
        ) from None
    for key in ("task", "metric", "scores"):
        if key not in result:
            raise BabeltagError(f"{path}: not a transfer result (no {key!r})")
    return result
