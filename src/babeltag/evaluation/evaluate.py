"""``babeltag evaluate`` and ``babeltag compare``: saved models scored on a labelled file."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from babeltag.data.datasets import check_tags, read_file
from babeltag.data.example import Example
from babeltag.errors import ConfigError, DataError
from babeltag.evaluation import metrics
from babeltag.evaluation.significance import mcnemar
from babeltag.models.archive import LoadedModel, load_model
from babeltag.training.run import evaluate_examples


def read_gold(loaded: LoadedModel, path: Path) -> list[Example]:
    """Read ``path`` the way the model's training data was read, checked against its tag scheme."""
    data = loaded.config.data
    examples = read_file(data, path)
    if not examples:
        raise DataError(path, None, "no sentences found")
    check_tags(examples, data.tag_scheme, data.repair_tags, path)
    return examples


def per_label_report(examples: list[Example], predicted: list[list[str]], scheme: str) -> str:
    """conlleval's layout: per entity type for span tasks, per tag (one-token "spans") otherwise."""
    gold = [e.labels or [] for e in examples]
    return metrics.span_scores(gold, predicted, scheme).format_report()


def evaluate_model(
    model_dir: str | Path, data_path: str | Path, batch_size: int = 512, dataset: str | None = None
) -> dict[str, Any]:
    """Predict ``data_path`` with the model (of ``dataset``, in a multi-dataset model) and score it;
    ``report`` is a per-label table."""
    loaded = load_model(model_dir, dataset)
    path = Path(data_path)
    examples = read_gold(loaded, path)
    loaded.config.training.eval_batch_size = batch_size
    scores, predicted = evaluate_examples(loaded.model, examples, loaded.config, loaded.vocabularies)
    result = {"model": str(model_dir), "data": str(path), "sentences": len(examples), **scores}
    if loaded.dataset is not None:
        result["dataset"] = loaded.dataset
    if loaded.config.data.kind == "tagging":
        result["report"] = per_label_report(examples, predicted, loaded.config.data.tag_scheme)
    return result


def _is_multitask(model_dir: str | Path) -> bool:
    meta = Path(model_dir) / "meta.json"
    return meta.is_file() and json.loads(meta.read_text(encoding="utf-8")).get("kind") == "multitask"


def compare_models(
    model_a: str | Path,
    model_b: str | Path,
    data_path: str | Path,
    batch_size: int = 512,
    dataset: str | None = None,
) -> dict[str, Any]:
    """Both models on the same file, and McNemar's test on which tokens (or sentences) each gets right.
    ``dataset`` picks the dataset's model inside whichever of the two is a multi-dataset model."""
    loaded_a, loaded_b = (load_model(m, dataset if _is_multitask(m) else None) for m in (model_a, model_b))
    if loaded_a.config.data.kind != loaded_b.config.data.kind:
        raise ConfigError(f"{model_a} and {model_b} solve different kinds of task; nothing to compare")
    path = Path(data_path)
    examples = read_gold(loaded_a, path)
    results = {}
    predictions = []
    for name, loaded in (("a", loaded_a), ("b", loaded_b)):
        loaded.config.training.eval_batch_size = batch_size
        scores, predicted = evaluate_examples(loaded.model, examples, loaded.config, loaded.vocabularies)
        results[name] = {"model": str(model_a if name == "a" else model_b), **scores}
        predictions.append(predicted)
    if loaded_a.config.data.kind == "classification":
        gold: list[Any] = [e.label for e in examples]
        test = mcnemar(gold, [p[0] for p in predictions[0]], [p[0] for p in predictions[1]])
    else:
        gold_tags: list[list[str]] = [e.labels or [] for e in examples]
        test = mcnemar(gold_tags, predictions[0], predictions[1])
    return {"data": str(path), **results, "mcnemar": asdict(test)}
