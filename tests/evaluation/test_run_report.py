"""``babeltag report RUN_DIR`` for one run: scores tables that match metrics.json, the training
curve, and a t-SNE map of both languages' words through a shared character encoder."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from babeltag.cli import main
from babeltag.config import parse_any_config
from babeltag.data.example import Example
from babeltag.errors import ConfigError
from babeltag.evaluation.char_tsne import char_representations, frequent_words
from babeltag.evaluation.run_report import report_run, score_rows
from babeltag.evaluation.scoring import score
from babeltag.models.archive import load_any_model, select_dataset
from babeltag.training.multitask_run import train_multitask
from babeltag.training.run import train


def ner(language: str) -> dict[str, Any]:
    return {
        "task": "ner",
        "language": language,
        "format": "conll",
        "tag_scheme": "iob2",
        **{split: f"ner/{language}/{split}.txt" for split in ("train", "dev", "test")},
    }


MODEL = {
    "word_embedding": {"dim": 8},
    "char_encoder": {"type": "cnn", "char_dim": 4, "widths": [3], "filters": 6},
    "word_encoder": {"hidden": 8},
}
TRAINING = {"epochs": 2, "batch_size": 16, "threads": 1}


@pytest.fixture(scope="module")
def multi_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from babeltag.data.synthetic import make_language_family, write_corpus

    root = tmp_path_factory.mktemp("report")
    write_corpus(
        root / "data",
        list(make_language_family(seed=0).values()),
        sizes={"train": 60, "dev": 20, "test": 20},
        seed=0,
    )
    config = {
        "datasets": {"src": {**ner("syn_src"), "role": "target"}, "rel": ner("syn_rel")},
        "sharing": {"chars": "all"},
        "model": MODEL,
        "training": TRAINING,
    }
    train_multitask(parse_any_config(config), root / "run", root / "data", progress=False)  # type: ignore[arg-type]
    return root


def test_a_multi_dataset_run_reports_scores_curve_and_both_languages(multi_run: Path) -> None:
    assert main(["report", str(multi_run / "run")]) == 0
    report = json.loads((multi_run / "run/report/report.json").read_text())
    assert set(report["files"]) == {"scores_md", "scores_csv", "training_curve", "char_tsne"}
    assert report["skipped"] == {}
    for name in ("training_curve.png", "char_tsne.png"):
        assert (multi_run / "run/report" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    metrics = json.loads((multi_run / "run/metrics.json").read_text())
    with (multi_run / "run/report/scores.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    overall = {(r["dataset"], r["split"]): r for r in rows if r["type"] == "all"}
    assert set(overall) == {(d, s) for d in ("src", "rel") for s in ("dev", "test")}
    assert float(overall[("rel", "test")]["f1"]) == pytest.approx(metrics["datasets"]["rel"]["test"]["f1"])
    assert "| dataset | split | type |" in (multi_run / "run/report/scores.md").read_text()


def test_saved_expert_gates_are_redrawn(multi_run: Path, tmp_path: Path) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(multi_run / "run", run)
    (run / "gates").mkdir()
    gates = {
        "features": {"syn_src": {"syn_rel": 0.7, "syn_unr": 0.3}, "syn_rel": {"syn_rel": 0.2, "syn_unr": 0.8}}
    }
    (run / "gates/gates.json").write_text(json.dumps(gates))
    report = report_run(run)
    assert Path(report["files"]["gates_features"]).read_bytes()[:4] == b"\x89PNG"


def test_char_representations_are_the_models_own(multi_run: Path) -> None:
    """One word at a time through the shared encoder: a word spelled the same in both languages
    gets the same vector from either dataset's model (the module is shared)."""
    loaded = load_any_model(multi_run / "run/model")
    src, rel = (select_dataset(loaded, name, multi_run / "run/model") for name in ("src", "rel"))
    assert src.model.char_features is rel.model.char_features
    words = frequent_words(src, 20)
    assert words and all(w.isalpha() and len(w) >= 3 for w in words)
    together = char_representations(src, words)
    alone = np.stack([char_representations(src, [w])[0] for w in words])
    np.testing.assert_allclose(together, alone, atol=1e-6)  # no word affects another's vector
    np.testing.assert_allclose(char_representations(rel, words[:3]), together[:3], atol=1e-6)


def test_per_type_scores_are_percentages_like_the_overall_ones() -> None:
    """metrics.json's per-type scores come from scoring.score, on the overall scores' 0-100 scale."""
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-PER", "O"]]
    predicted = [["B-PER", "I-PER", "O", "O"], ["B-PER", "O"]]
    examples = [Example(tokens=["w"] * len(g), labels=g, language="x", task="ner") for g in gold]
    metrics = {"test": score(examples, predicted, "span_f1", "iob2")}
    rows = score_rows(metrics)
    assert rows[0]["type"] == "all" and rows[0]["f1"] == pytest.approx(80.0)
    by_type = {row["type"]: row for row in rows[1:]}
    assert by_type["PER"]["f1"] == 100.0 and by_type["PER"]["gold"] == 2
    assert by_type["LOC"]["recall"] == 0.0 and by_type["LOC"]["gold"] == 1


def test_a_model_without_a_char_encoder_says_why_there_is_no_map(multi_run: Path, tmp_path: Path) -> None:
    config = {
        "data": ner("syn_src"),
        "model": {**MODEL, "char_encoder": {"type": "none"}},
        "training": TRAINING,
    }
    train(parse_any_config(config), tmp_path / "run", multi_run / "data", progress=False)  # type: ignore[arg-type]
    report = report_run(tmp_path / "run")
    assert "char_tsne" not in report["files"] and "no character encoder" in report["skipped"]["char_tsne"]
    with pytest.raises(ConfigError, match="neither metrics.json nor train_log.jsonl"):
        report_run(tmp_path)
