"""Ground truth end to end on synthetic languages: train each source, score it on every language,
compute signals, judge the rankers, rank sources for a target, plot. Two tiny training processes each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from babeltag.cli import main
from babeltag.errors import ConfigError
from babeltag.sources import commands
from babeltag.sources.analyse import analyse_ground_truth
from babeltag.sources.transfer import load_spec, write_grid

LANGUAGES = ["syn_src", "syn_rel", "syn_unr"]


def spec_dict() -> dict[str, Any]:
    return {
        "task": "pos",
        "metric": "accuracy",
        "held_out_dev": 10,
        "seeds": [1],
        "data": {"task": "upos", "format": "conllu"},
        "training": {
            "model": {
                "word_embedding": {"dim": 8},
                "char_encoder": {"type": "none"},
                "word_encoder": {"hidden": 8},
            },
            "training": {"epochs": 2, "batch_size": 16, "threads": 1},
        },
        "languages": {c: {"train": f"ud/{c}/train.conllu", "test": f"ud/{c}/test.conllu"} for c in LANGUAGES},
    }


def write_spec(tmp_path: Path, spec: dict[str, Any]) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def test_the_spec_becomes_a_grid_with_one_run_per_language(tmp_path: Path) -> None:
    spec = spec_dict()
    spec["languages"]["syn_rel"]["max_train_sentences"] = 30
    grid = yaml.safe_load(write_grid(load_spec(write_spec(tmp_path, spec)), tmp_path / "out").read_text())
    values = grid["axes"][0]["values"]
    assert list(values) == LANGUAGES
    assert values["syn_rel"]["datasets.source.max_train_sentences"] == 30
    # a key set for one language is reset for the others, not inherited from the base
    assert values["syn_src"]["datasets.source.max_train_sentences"] is None


def test_a_random_sample_of_the_pool_for_files_sorted_by_label(tmp_path: Path) -> None:
    spec = spec_dict()
    spec["languages"]["syn_src"]["labelled_sentences"] = 25
    loaded = load_spec(write_spec(tmp_path, spec))
    values = yaml.safe_load(write_grid(loaded, tmp_path / "out").read_text())["axes"][0]["values"]
    assert values["syn_src"]["datasets.source.labelled_sentences"] == 25
    assert values["syn_rel"]["datasets.source.labelled_sentences"] is None  # not the first language's
    assert not hasattr(loaded.reader("syn_src"), "labelled_sentences")  # scoring reads the whole file


def test_sources_pick_the_rows_and_a_language_may_have_its_own_tag_scheme(tmp_path: Path) -> None:
    spec = spec_dict()
    spec["data"]["tag_scheme"] = "iob2"
    spec["sources"] = ["syn_rel"]
    spec["languages"]["syn_rel"]["tag_scheme"] = "iob1"
    loaded = load_spec(write_spec(tmp_path, spec))
    assert loaded.source_languages() == ["syn_rel"]
    assert loaded.reader("syn_rel").tag_scheme == "iob1" and loaded.reader("syn_unr").tag_scheme == "iob2"
    values = yaml.safe_load(write_grid(loaded, tmp_path / "out").read_text())["axes"][0]["values"]
    assert list(values) == ["syn_rel"]
    assert values["syn_rel"]["datasets.source.tag_scheme"] == "iob1"
    spec["sources"] = ["xx"]
    with pytest.raises(ConfigError, match="sources"):
        load_spec(write_spec(tmp_path, spec))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["data"].update(train="x"), "set per language"),
        (lambda s: s["training"].update(datasets={}), "datasets come from"),
        (lambda s: s.update(languages={"syn_src": s["languages"]["syn_src"]}), "languages"),
        (lambda s: s.update(task="parsing"), "task"),
    ],
)
def test_bad_specs_are_errors_naming_the_key(tmp_path: Path, change: Any, message: str) -> None:
    spec = spec_dict()
    change(spec)
    with pytest.raises(ConfigError, match=message):
        load_spec(write_spec(tmp_path, spec))


def test_ground_truth_rankers_ranking_and_plots(tmp_path: Path, synthetic_data_dir: Path) -> None:
    out = tmp_path / "truth"
    summary = commands.transfer_command(write_spec(tmp_path, spec_dict()), out, synthetic_data_dir, jobs=1)
    truth = json.loads((out / "ground_truth.json").read_text())
    assert set(truth["scores"]) == set(LANGUAGES)
    assert all(0.0 <= truth["scores"][s][t] <= 100.0 for s in LANGUAGES for t in LANGUAGES)
    assert set(summary["best_source"]) == set(LANGUAGES)
    pairs = {(r["source"], r["target"]) for r in truth["signals"]}
    assert pairs == {(s, t) for s in LANGUAGES for t in LANGUAGES if s != t}
    row = next(r for r in truth["signals"] if (r["source"], r["target"]) == ("syn_src", "syn_rel"))
    assert row["genetic_distance"] is None  # URIEL does not know synthetic languages: data signals only
    assert 0.0 < row["word_overlap"] <= 1.0

    # a rerun scores nothing again: every model's per-target scores are cached beside it
    cache = out / "runs" / "source=syn_src" / "seed1" / "transfer_scores.json"
    cache.write_text(json.dumps({t: 12.5 for t in LANGUAGES}))
    commands.transfer_command(write_spec(tmp_path, spec_dict()), out, synthetic_data_dir, jobs=1)
    assert json.loads((out / "ground_truth.json").read_text())["scores"]["syn_src"]["syn_rel"] == 12.5

    ranking = commands.evaluate_command([out], tmp_path / "ranking")
    methods = ranking["pos"]
    assert {"ranker: all signals", "word_overlap", "always en", "random"} <= set(methods)
    assert all(0.0 <= m["ndcg_at_3"] <= 1.0 for m in methods.values())
    assert (tmp_path / "ranking" / "ranking.md").read_text().count("|") > 10

    ranked = commands.rank_command(
        "syn_rel", "pos", ["syn_src", "syn_unr"], data_dir=synthetic_data_dir, ground_truth=out
    )
    assert sorted(ranked["ranking"]) == ["syn_src", "syn_unr"]
    assert "syn_rel" not in ranked["fitted_on"]
    assert "word_overlap" in ranked["signals_used"] and "genetic_distance" in ranked["signals_missing"]

    analysis = analyse_ground_truth(commands.load_ground_truth(out), tmp_path / "plots")
    assert all(Path(p).stat().st_size > 1000 for p in analysis["plots"])

    assert main(["sources", "evaluate", str(out)]) == 0
    assert main(["sources", "rank", "--target", "syn_rel", "--task", "cls", "--candidates", "syn_src",
                 "--ground-truth", str(out)]) == 2  # fmt: skip


def test_rank_needs_a_candidate_other_than_the_target() -> None:
    with pytest.raises(ConfigError, match="candidates"):
        commands.rank_command("nl", "pos", ["nl"])


def test_the_shipped_pos_ground_truth_ranks_a_related_source_first() -> None:
    truth = commands.load_ground_truth(None, "pos")
    assert len(truth["scores"]) == 15 and truth["metric"] == "accuracy"
    ranked = commands.rank_command("nl", "pos", ["fa", "de", "hu"])  # typology only: no --data-dir
    assert ranked["ranking"][0] == "de" and ranked["ranking"][-1] in ("fa", "hu")
    assert "nl" not in ranked["fitted_on"]
    with pytest.raises(ConfigError, match="no ground truth for task 'chunk'"):
        commands.load_ground_truth(None, "chunk")


def test_the_shipped_sentiment_ground_truth_ranks_with_the_source_prior() -> None:
    """Sentiment transfer without cross-lingual resources follows no typology: the prior on each
    source (its results for the other targets) is what the ranker leans on."""
    truth = commands.load_ground_truth(None, "cls")
    assert len(truth["scores"]) == 19 and truth["metric"] == "macro_f1"
    ranked = commands.rank_command("de", "cls", ["mt", "vi", "sk", "es"])
    assert "de" not in ranked["fitted_on"]
    assert ranked["weights"]["source_prior"] == max(ranked["weights"].values())
    assert ranked["ranking"][-1] == "mt"  # the weakest source on the other targets


def test_the_shipped_ner_ground_truth_has_every_pair_with_entity_overlap() -> None:
    truth = commands.load_ground_truth(None, "ner")
    assert len(truth["scores"]) == 20 and truth["metric"] == "f1"
    assert all(row["entity_overlap"] is not None for row in truth["signals"])


def test_rank_says_when_a_candidate_has_no_signal_at_all() -> None:
    with pytest.raises(ConfigError, match=r"no signal is known for every candidate.*--text"):
        commands.rank_command("nl", "pos", ["qqq", "de"])
