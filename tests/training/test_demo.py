"""``babeltag demo`` in quick mode on a fixed seed: SYNTHETIC data, every variant and N trained, the
results files and plot written, and transfer from the related source language helping."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from babeltag.training.demo import FULL, QUICK, VARIANTS, demo_config, run_demo

CODES = {"source": "syn_src", "related": "syn_rel", "unrelated": "syn_unr"}


@dataclass
class Demo:
    out: Path
    results: dict[str, Any]
    messages: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    out = tmp_path_factory.mktemp("demo") / "demo"
    stream = io.StringIO()
    results = run_demo(out, seed=1, quick=True, stream=stream)
    return Demo(out, results, stream.getvalue())


def test_results_json_has_every_variant_and_n(demo: Demo) -> None:
    saved = json.loads((demo.out / "results.json").read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(demo.results))
    cells = {(cell["variant"], cell["labelled"]): cell for cell in saved["cells"]}
    assert set(cells) == {(variant, n) for variant in VARIANTS for n in QUICK.labelled}
    for cell in cells.values():
        assert cell["test"]["n"] == QUICK.repeats
        assert 0.0 <= cell["test"]["mean"] <= 100.0
    assert len(saved["runs"]) == len(cells) * QUICK.repeats
    for run in saved["runs"]:
        metrics = json.loads((Path(run["run_dir"]) / "metrics.json").read_text(encoding="utf-8"))
        assert metrics["datasets"]["pos_rel"]["test"]["score"] == run["test"]
        assert metrics["datasets"]["pos_rel"]["train"] == run["labelled"]  # N labelled target sentences


def test_the_related_source_helps_at_the_smallest_n_and_more_than_the_unrelated_one(demo: Demo) -> None:
    smallest = str(min(QUICK.labelled))
    gains = demo.results["gains"]
    assert gains["related"][smallest] > 0
    assert gains["related"][smallest] > gains["unrelated"][smallest]


def test_each_gain_is_tested_run_against_run(demo: Demo) -> None:
    """McNemar's test of each source variant against target only, on the runs' saved test
    predictions; the mark in the table is the one the tests give."""
    smallest = str(min(QUICK.labelled))
    [test] = demo.results["mcnemar"]["related"][smallest]  # quick mode: one run per cell
    assert test["items"] > 0 and test["b"] + test["c"] > 0 and 0 <= test["p_value"] <= 1
    assert test["b"] > test["c"]  # the related source fixes more target tokens than it breaks
    mark = demo.results["marks"]["related"][smallest]
    assert mark == ("**" if test["p_value"] < 0.01 else "*" if test["p_value"] < 0.05 else "")
    markdown = (demo.out / "results.md").read_text(encoding="utf-8")
    row = next(line for line in markdown.splitlines() if line.startswith(f"| {smallest} |"))
    assert row.split("|")[-3].strip().endswith(mark) and "McNemar" in markdown


def test_learning_curve_and_tables_are_written(demo: Demo) -> None:
    plot = Path(demo.results["plots"]["learning_curve"])
    assert plot == demo.out / "learning_curve.png"
    assert plot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and plot.stat().st_size > 10_000
    markdown = (demo.out / "results.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in markdown and "learning_curve.png" in markdown
    assert "| N target sentences | target only | + related source | + unrelated source |" in markdown
    assert all(f"\n| {n} | " in markdown for n in QUICK.labelled)  # one row per N
    rows = (demo.out / "results.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("variant,labelled,seed,test,dev") and len(rows) == 1 + len(demo.results["runs"])


def test_the_data_is_synthetic_and_said_to_be(demo: Demo) -> None:
    assert demo.results["synthetic"] is True
    data = demo.out / "data"
    assert "SYNTHETIC" in (data / "README.txt").read_text(encoding="utf-8")
    for code in CODES.values():
        assert (data / "ud" / code / "train.conllu").is_file()


def test_progress_lines_and_the_table_go_to_the_stream_and_epoch_lines_to_run_logs(demo: Demo) -> None:
    total = len(VARIANTS) * len(QUICK.labelled)
    assert f"[{total}/{total}]" in demo.messages
    assert "| N target sentences | target only | + related source | + unrelated source |" in demo.messages
    assert "epoch   1" not in demo.messages
    first = Path(demo.results["runs"][0]["run_dir"])
    assert "epoch   1" in (first / "train.log").read_text(encoding="utf-8")


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_variant_trains_the_target_with_at_most_one_source(variant: str) -> None:
    config = demo_config(FULL, variant, 25, seed=3, codes=CODES)
    target = config.datasets["pos_rel"]
    assert config.targets() == ["pos_rel"]
    assert (target.language, target.labelled_sentences, target.sample_seed) == ("syn_rel", 25, 3)
    sources = {name: entry.language for name, entry in config.datasets.items() if name != "pos_rel"}
    expected = {"target_only": {}, "related": {"pos_src": "syn_src"}, "unrelated": {"pos_unr": "syn_unr"}}
    assert sources == expected[variant]
    assert all(
        entry.labelled_sentences is None for name, entry in config.datasets.items() if name != "pos_rel"
    )
    sharing = config.sharing
    assert (sharing.chars, sharing.word_embedding, sharing.word_encoder, sharing.output) == (
        "all",
        "per_language",
        "all",
        "per_task",
    )
    assert config.sampling.epoch_unit == "updates" and config.sampling.epoch_size == FULL.updates_per_epoch
    assert config.training.threads == 1 and config.training.seed == 3


def test_report_rebuilds_the_demo_tables_without_training(demo: Demo) -> None:
    from babeltag.cli import main

    before = (demo.out / "results.md").read_text(encoding="utf-8")
    (demo.out / "results.md").unlink()
    assert main(["report", str(demo.out)]) == 0
    assert (demo.out / "results.md").read_text(encoding="utf-8") == before
    assert json.loads((demo.out / "results.json").read_text())["marks"] == demo.results["marks"]
