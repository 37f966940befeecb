"""Which source languages' experts a language's tokens use: the average mixture-of-experts gate.

Chen et al. (2019) read their MAN-MoE gates as evidence of what a target borrows from each source
(their figure of expert weights per target language). A model built with ``sharing.experts:
source_languages`` has two gates, one in the private feature extractor and one in the predictor;
this averages each over the real tokens of some text:

    babeltag gates runs/man-moe-de/model --text de=../shared/data/ner/de/test.txt.gz --out runs/gates

writes ``gates.json`` (``{"features" | "predictor": {language: {expert: weight}}}``) and one heatmap
per gate (:func:`babeltag.evaluation.plots.expert_gate_heatmap`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from babeltag.data.batching import TensorDataset, iterate_batches
from babeltag.data.datasets import normaliser_of, read_file
from babeltag.data.example import Example
from babeltag.encoders.moe_features import ExpertPredictor, SharedAndExpertFeatures
from babeltag.errors import BabeltagError, DataError
from babeltag.evaluation.plots import expert_gate_heatmap
from babeltag.models.archive import LoadedMultiTaskModel, load_any_model, select_dataset
from babeltag.models.model import TaskModel


def gates_of(model: TaskModel) -> dict[str, Any]:
    """The model's mixture-of-experts modules by gate name; an error for a model without experts."""
    gates: dict[str, Any] = {}
    if isinstance(model.word_encoder, SharedAndExpertFeatures):
        gates["features"] = model.word_encoder
    projection = getattr(model.head, "projection", None)
    if isinstance(projection, ExpertPredictor):
        gates["predictor"] = projection
    if not gates:
        raise BabeltagError(
            "the model has no mixture of experts (train it with sharing.experts: source_languages)"
        )
    return gates


@torch.inference_mode()
def average_gates(
    model: TaskModel, dataset: TensorDataset, batch_size: int = 256
) -> dict[str, dict[str, float]]:
    """Mean gate probability of each expert over every real token of ``dataset``, per gate."""
    gates = gates_of(model)
    experts: dict[str, list[str]] = {name: module.experts.languages for name, module in gates.items()}
    totals = {name: torch.zeros(len(languages), dtype=torch.float64) for name, languages in experts.items()}
    tokens = {name: 0 for name in gates}
    was_training = model.training
    model.eval()
    try:
        for batch in iterate_batches(dataset, batch_size):
            model.predict(batch)  # fills each module's ``gate`` with this batch's probabilities
            for name, module in gates.items():
                gate = module.gate
                assert gate is not None
                # [B, T, E] over padded positions, or [N, E] when the head projected real tokens only
                rows = gate[batch.mask] if gate.dim() == 3 else gate.reshape(-1, gate.shape[-1])
                totals[name] += rows.double().sum(dim=0)
                tokens[name] += rows.shape[0]
    finally:
        model.train(was_training)
    return {
        name: {
            language: float(totals[name][i] / max(tokens[name], 1)) for i, language in enumerate(languages)
        }
        for name, languages in experts.items()
    }


def gates_command(
    model_dir: str | Path,
    texts: dict[str, str | Path],
    out: str | Path,
    dataset: str | None = None,
    max_sentences: int | None = None,
) -> dict[str, Any]:
    """Average gates of each language's text; writes gates.json and a heatmap per gate into ``out``."""
    whole = load_any_model(model_dir)
    default = select_dataset(whole, dataset, model_dir)
    gates_of(default.model)  # fail before reading any text
    weights: dict[str, dict[str, dict[str, float]]] = {}
    for language, path in texts.items():
        path = Path(path)
        if not path.is_file():
            raise DataError(path, None, f"text of {language} not found")
        # a language with a dataset in the model is read and encoded as that dataset (its files' encoding
        # and columns, its word embeddings); any other language as the chosen dataset, with that language
        loaded = default
        if isinstance(whole, LoadedMultiTaskModel):
            own = [name for name, entry in whole.config.datasets.items() if entry.language == language]
            if own:
                loaded = whole.select(own[0])
        reader = loaded.config.data.model_copy(update={"language": language})
        examples: list[Example] = read_file(reader, path, labelled=False)[:max_sentences]
        if not examples:
            raise DataError(path, None, "no sentences found")
        tensors = TensorDataset(examples, loaded.vocabularies, normaliser_of(loaded.config), None)
        for gate, row in average_gates(loaded.model, tensors).items():
            weights.setdefault(gate, {})[language] = row
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gates.json").write_text(json.dumps(weights, indent=1), encoding="utf-8")
    plots = [
        str(expert_gate_heatmap(rows, out / f"gates_{gate}.png", title=f"average {gate} gate weight"))
        for gate, rows in weights.items()
    ]
    return {"gates": weights, "files": [str(out / "gates.json"), *plots]}
