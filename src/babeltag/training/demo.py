"""``babeltag demo``: cross-lingual transfer on SYNTHETIC languages, offline, in a few minutes.

Everything here runs on artificial data from :mod:`babeltag.data.synthetic`; nothing is real
language data and the numbers say nothing about real languages. What they do show is the mechanism
of the papers this library reproduces: a part-of-speech tagger for a language with only a handful of
labelled sentences gets better when it is trained together with a *related* language that has many,
because the two share a character encoder, a word encoder and an output layer, and the related
language has similar word endings and roots. An *unrelated* language shares only the grammar.

synthetic family (seed) -> out/data: ud/<code>/{train,dev,test}.conllu
  -> for N in the labelled sizes, for each variant:
       target only          : pos_rel (N labelled sentences of syn_rel)
       + related source     : pos_rel + pos_src (all of syn_src's training sentences)
       + unrelated source   : pos_rel + pos_unr (all of syn_unr's training sentences)
     -> train_multitask (chars, word encoder and output shared; word embeddings per language)
     -> target test accuracy of the epoch with the best target dev accuracy
  -> out/results.json, results.md, results.csv, learning_curve.png
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from babeltag.config import MultiTaskConfig, parse_multitask_config
from babeltag.data.synthetic import make_language_family, write_corpus
from babeltag.evaluation.plots import learning_curve, results_csv
from babeltag.evaluation.significance import MCNEMAR_LEGEND, mcnemar_of_files, significance_mark
from babeltag.evaluation.tables import markdown_table, summarise
from babeltag.training.multitask_run import train_multitask

TARGET = "pos_rel"
"""The dataset every score is reported on: UPOS tagging of the ``related`` language."""

#: variant -> (label in tables and the plot, the source language's role in the family or None)
VARIANTS: dict[str, tuple[str, str | None]] = {
    "target_only": ("target only", None),
    "related": ("+ related source", "source"),
    "unrelated": ("+ unrelated source", "unrelated"),
}
SOURCE_DATASETS = {"source": "pos_src", "unrelated": "pos_unr"}


@dataclass(frozen=True)
class DemoSettings:
    """Everything the demo's numbers depend on besides the seed. Tuned on the synthetic data only."""

    labelled: tuple[int, ...]
    """Labelled target sentences N, one point of the learning curve each."""
    sizes: dict[str, int]
    """Sentences per split of every synthetic language (the sources train on all of ``train``)."""
    repeats: int = 1
    """Runs per cell, each with its own labelled sample and training seed (seed, seed + 1, ...)."""
    epochs: int = 8
    updates_per_epoch: int = 30
    batch_size: int = 10
    model: dict[str, Any] = field(
        default_factory=lambda: {
            "word_embedding": {"dim": 16},
            "char_encoder": {"type": "cnn", "char_dim": 12, "widths": [3], "filters": 24},
            "word_encoder": {"hidden": 24},
            "head": {"type": "softmax"},
            "dropout": 0.2,
        }
    )
    optimizer: dict[str, Any] = field(default_factory=lambda: {"type": "adam", "lr": 0.01})


#: 24 runs of one thread each: about 100 s of CPU time in all, so under 3 minutes on 2 idle cores.
FULL = DemoSettings(
    labelled=(10, 25, 50, 100), sizes={"train": 400, "dev": 100, "test": 300}, repeats=2, epochs=8
)
#: A smoke test of the whole pipeline in seconds (one run per cell, a smaller corpus).
QUICK = DemoSettings(labelled=(10, 30), sizes={"train": 200, "dev": 50, "test": 150}, epochs=6)


def demo_config(
    settings: DemoSettings, variant: str, labelled: int, seed: int, codes: dict[str, str]
) -> MultiTaskConfig:
    """The training config of one run: the target's N labelled sentences, plus the variant's source.

    ``codes`` maps a role in the synthetic family (``source``, ``related``, ``unrelated``) to the
    language code its files are under.
    """

    def ud(role: str) -> dict[str, Any]:
        code = codes[role]
        files = {split: f"ud/{code}/{split}.conllu" for split in ("train", "dev", "test")}
        return {"task": "upos", "language": code, "format": "conllu", **files}

    datasets: dict[str, Any] = {
        TARGET: {**ud("related"), "role": "target", "labelled_sentences": labelled, "sample_seed": seed}
    }
    source = VARIANTS[variant][1]
    if source is not None:
        datasets[SOURCE_DATASETS[source]] = ud(source)  # every training sentence, labelled
    raw = {
        "recipe": "generic",
        "datasets": datasets,
        # one character encoder for all (it learns the shared endings), one word table per language,
        # one word encoder and one output layer for all (the tagset is the same)
        "sharing": {
            "chars": "all",
            "word_embedding": "per_language",
            "word_encoder": "all",
            "output": "per_task",
        },
        # half of the updates on each dataset when there is a source; an epoch is the same number of
        # updates in every variant, so every variant trains equally long
        "sampling": {
            "proportions": "uniform",
            "order": "alternating",
            "epoch_unit": "updates",
            "epoch_size": settings.updates_per_epoch,
        },
        "model": settings.model,
        "training": {
            "epochs": settings.epochs,
            "batch_size": settings.batch_size,
            "optimizer": settings.optimizer,
            "seed": seed,
            "threads": 1,
        },
    }
    return parse_multitask_config(raw, f"demo config ({variant}, N={labelled})")


def run_demo(
    out_dir: str | Path,
    seed: int = 1,
    quick: bool = False,
    progress: bool | None = None,
    *,
    settings: DemoSettings | None = None,
    stream: TextIO | None = None,
) -> dict[str, Any]:
    """Write the SYNTHETIC corpus, train every variant for every N, and write the results.

    ``quick`` uses fewer, smaller runs (a smoke test, seconds instead of minutes); ``settings``
    overrides both presets. Each run is in ``runs/<variant>/n<N>/`` (``.../seed<S>/`` when a cell is
    run with several seeds). ``progress`` True shows each run's epoch lines and progress bars; by
    default they go to the run's ``train.log`` and ``stream`` (stderr) shows one line per run and the
    results table after each N. Returns the results (also written to ``results.json``).
    """
    settings = settings or (QUICK if quick else FULL)
    stream = stream if stream is not None else sys.stderr
    started = time.perf_counter()
    out = Path(out_dir)
    data_dir = out / "data"
    family = make_language_family(seed)
    write_corpus(data_dir, list(family.values()), sizes=settings.sizes, seed=seed)
    (data_dir / "README.txt").write_text(
        "SYNTHETIC data written by `babeltag demo` (babeltag.data.synthetic, seed "
        f"{seed}): artificial languages, not real language data.\n",
        encoding="utf-8",
    )
    codes = {role: spec.code for role, spec in family.items()}

    print(
        f"demo: SYNTHETIC languages in {data_dir}; target: UPOS tagging of {codes['related']} with N "
        f"labelled sentences, N in {list(settings.labelled)}; sources: {codes['source']} (related) and "
        f"{codes['unrelated']} (unrelated), {settings.sizes['train']} sentences each",
        file=stream,
        flush=True,
    )
    runs: list[dict[str, Any]] = []
    total = len(settings.labelled) * len(VARIANTS) * settings.repeats
    for labelled in settings.labelled:
        for variant, (label, _) in VARIANTS.items():
            for repeat in range(settings.repeats):
                run_seed = seed + repeat
                run_dir = out / "runs" / variant / f"n{labelled}"
                if settings.repeats > 1:
                    run_dir /= f"seed{run_seed}"
                config = demo_config(settings, variant, labelled, run_seed, codes)
                run_started = time.perf_counter()
                with _quiet_unless(progress, run_dir / "train.log"):
                    summary = train_multitask(config, run_dir, data_dir, progress=None if progress else False)
                scores = summary["datasets"][TARGET]
                run = {
                    "variant": variant,
                    "labelled": labelled,
                    "seed": run_seed,
                    "test": scores["test"]["score"],
                    "dev": scores["dev"]["score"],
                    "best_epoch": summary["best_epoch"],
                    "seconds": round(time.perf_counter() - run_started, 2),
                    "run_dir": str(run_dir),
                }
                runs.append(run)
                print(
                    f"demo: [{len(runs)}/{total}] N={labelled} {label}: test accuracy {run['test']:.2f} "
                    f"(dev {run['dev']:.2f}, epoch {run['best_epoch']}, {run['seconds']:.1f} s)",
                    file=stream,
                    flush=True,
                )
        print("\n" + results_table(summarise_runs(runs, settings)), file=stream, flush=True)

    facts = {
        "synthetic": True,
        "note": "SYNTHETIC languages from babeltag.data.synthetic; the numbers say nothing about real ones",
        "seed": seed,
        "quick": quick,
        "settings": asdict(settings),
        "languages": codes,
        "data_dir": str(data_dir),
        "runs": runs,
        "seconds": round(time.perf_counter() - started, 1),
    }
    results = write_demo_results(out, runs, settings, facts)
    print(
        "\n" + results_table(results) + f"\ndemo: done in {results['seconds']:.0f} s; {out / 'results.md'}, "
        f"{results['plots']['learning_curve']}",
        file=stream,
        flush=True,
    )
    return results


def write_demo_results(
    out: Path, runs: list[dict[str, Any]], settings: DemoSettings, facts: dict[str, Any]
) -> dict[str, Any]:
    """results.json, results.md, results.csv and the learning curve, from the runs."""
    results = summarise_runs(runs, settings)
    results.update(facts)
    results["plots"] = {"learning_curve": str(plot_learning_curve(results, out / "learning_curve.png"))}
    results["files"] = {
        "results_json": str(out / "results.json"),
        "results_md": str(out / "results.md"),
        "results_csv": str(results_csv(runs, out / "results.csv")),
    }
    (out / "results.md").write_text(results_markdown(results), encoding="utf-8")
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


def report_demo(out_dir: str | Path) -> dict[str, Any]:
    """Rebuild a finished demo's tables, significance marks and plot from its runs' saved scores
    and predictions (``babeltag report DEMO_DIR``), training nothing."""
    out = Path(out_dir)
    previous = json.loads((out / "results.json").read_text(encoding="utf-8"))
    settings = DemoSettings(**{**previous["settings"], "labelled": tuple(previous["settings"]["labelled"])})
    keep = ("synthetic", "note", "seed", "quick", "settings", "languages", "data_dir", "runs", "seconds")
    return write_demo_results(
        out, previous["runs"], settings, {k: previous[k] for k in keep if k in previous}
    )


def is_demo_dir(path: str | Path) -> bool:
    results = Path(path) / "results.json"
    if not results.is_file():
        return False
    try:
        content = json.loads(results.read_text(encoding="utf-8"))
    except ValueError:
        return False
    return isinstance(content, dict) and content.get("synthetic") is True and "runs" in content


def summarise_runs(runs: list[dict[str, Any]], settings: DemoSettings) -> dict[str, Any]:
    """Mean ± std of the target's test and dev accuracy per (variant, N), and each source's gain
    over target only (difference of mean test accuracies) per N."""
    cells = []
    means: dict[tuple[str, int], float] = {}
    for variant in VARIANTS:
        for labelled in settings.labelled:
            done = [run for run in runs if run["variant"] == variant and run["labelled"] == labelled]
            if not done:
                continue
            test = summarise([run["test"] for run in done])
            dev = summarise([run["dev"] for run in done])
            means[(variant, labelled)] = test["mean"]
            cells.append({"variant": variant, "labelled": labelled, "test": test, "dev": dev})
    gains: dict[str, dict[str, float]] = {}
    tests: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for variant in VARIANTS:
        if variant == "target_only":
            continue
        gains[variant] = {
            str(n): means[(variant, n)] - means[("target_only", n)]
            for n in settings.labelled
            if (variant, n) in means and ("target_only", n) in means
        }
        tests[variant] = {str(n): paired_tests(runs, variant, n) for n in settings.labelled}
    return {
        "target": {"dataset": TARGET, "task": "upos", "metric": "accuracy", "split": "test"},
        "variants": {variant: label for variant, (label, _) in VARIANTS.items()},
        "labelled": list(settings.labelled),
        "repeats": settings.repeats,
        "cells": cells,
        "gains": gains,
        "mcnemar": tests,
        "marks": {v: {n: significance_mark(t) for n, t in per_n.items()} for v, per_n in tests.items()},
    }


def paired_tests(runs: list[dict[str, Any]], variant: str, labelled: int) -> list[dict[str, Any]]:
    """McNemar's test of the variant against target only, run by run (same seed, same labelled
    sample), on the target's test tokens."""
    by_seed = {
        (run["variant"], run["seed"]): Path(run["run_dir"]) / "predictions" / TARGET / "test.jsonl"
        for run in runs
        if run["labelled"] == labelled
    }
    tests = []
    for (name, seed), path in by_seed.items():
        baseline = by_seed.get(("target_only", seed))
        if name == variant and baseline is not None and path.is_file() and baseline.is_file():
            tests.append({"seed": seed, **mcnemar_of_files(path, baseline)})
    return tests


def results_table(results: dict[str, Any]) -> str:
    """Rows: N; columns: the variants' mean ± std test accuracy, then each source's gain."""
    labels = results["variants"]
    cells = {(str(c["labelled"]), labels[c["variant"]]): c["test"] for c in results["cells"]}
    deltas = {
        f"gain {labels[variant].removeprefix('+ ')}": gains for variant, gains in results["gains"].items()
    }
    marks = {
        f"gain {labels[variant].removeprefix('+ ')}": per_n
        for variant, per_n in results.get("marks", {}).items()
    }
    return markdown_table(
        [str(n) for n in results["labelled"]],
        list(labels.values()),
        cells,
        deltas,
        corner="N target sentences",
        expected_n=results["repeats"],
        marks=marks,
    )


def results_markdown(results: dict[str, Any]) -> str:
    languages = results["languages"]
    repeats = results["repeats"]
    over = f"mean ± std over {repeats} runs (labelled samples and seeds)" if repeats > 1 else "one run each"
    return "\n".join(
        [
            "# babeltag demo: cross-lingual transfer on SYNTHETIC languages",
            "",
            f"Target: UPOS tagging of `{languages['related']}` with N labelled training sentences; test "
            f"accuracy (%) at the epoch with the best target dev accuracy, {over}. Sources: all training "
            f"sentences of `{languages['source']}` (its parent language: shared roots and endings) or of "
            f"`{languages['unrelated']}` (only the grammar is shared). Gain = variant - target only.",
            "",
            "What to look for: the related source should help most when N is small, and less as N grows; "
            "the unrelated one shares only the grammar and should help less, or even hurt (negative "
            "transfer).",
            "",
            results_table(results),
            MCNEMAR_LEGEND,
            "",
            f"![learning curve]({Path(results['plots']['learning_curve']).name})",
            "",
            "All languages are artificial (babeltag.data.synthetic, seed "
            f"{results['seed']}); the numbers say nothing about real languages.",
            "",
        ]
    )


def plot_learning_curve(results: dict[str, Any], path: Path) -> Path:
    points: dict[str, list[tuple[float, float, float]]] = {}
    for cell in results["cells"]:
        label = results["variants"][cell["variant"]]
        points.setdefault(label, []).append((cell["labelled"], cell["test"]["mean"], cell["test"]["std"]))
    return learning_curve(
        points,
        path,
        xlabel="labelled target sentences (N)",
        ylabel="target test accuracy (%)",
        title=f"UPOS tagging of {results['languages']['related']} (SYNTHETIC languages)",
    )


@contextlib.contextmanager
def _quiet_unless(progress: bool | None, log_path: Path) -> Iterator[None]:
    """Send a run's stderr (its epoch lines) to ``log_path`` unless ``progress`` is True."""
    if progress:
        yield
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log, contextlib.redirect_stderr(log):
        yield
