"""``babeltag evaluate``: a saved model scored on a labelled file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from babeltag.data.datasets import check_tags, read_file
from babeltag.errors import DataError
from babeltag.evaluation import metrics
from babeltag.models.archive import load_model
from babeltag.training.run import evaluate_examples


def evaluate_model(model_dir: str | Path, data_path: str | Path, batch_size: int = 512) -> dict[str, Any]:
    """Read ``data_path`` the way the model's training data was read, predict, and score."""
    loaded = load_model(model_dir)
    config = loaded.config
    path = Path(data_path)
    examples = read_file(config.data, path)
    if not examples:
        raise DataError(path, None, "no sentences found")
    check_tags(examples, config.data.tag_scheme, config.data.repair_tags, path)
    config.training.eval_batch_size = batch_size
    scores, predicted = evaluate_examples(loaded.model, examples, config, loaded.vocabularies)
    result = {"model": str(model_dir), "data": str(path), "sentences": len(examples), **scores}
    if config.data.tag_scheme != "none":
        gold = [e.labels or [] for e in examples]
        result["report"] = metrics.span_scores(gold, predicted, config.data.tag_scheme).format_report()
    return result
