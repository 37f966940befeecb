"""``babeltag report RUN_DIR`` for one training run: its scores as tables, its training as a plot,
and where its character encoder puts words, all rebuilt from what the run saved (metrics.json,
train_log.jsonl, model/), nothing retrained.

    RUN_DIR/report/
      scores.md, scores.csv      dev and test scores (per dataset for multi-dataset runs), per type for spans
      training_curve.png         training loss and dev score per epoch, the selected epoch marked
      char_tsne.png              t-SNE of character-level word representations (models with a char encoder)
      gates_*.png                expert-gate heatmaps, for a MoE model whose `babeltag gates` went to RUN_DIR/gates
      report.json                what was written, and why anything was left out
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from babeltag.errors import BabeltagError, ConfigError
from babeltag.evaluation.plots import expert_gate_heatmap, new_figure, results_csv, save_png
from babeltag.evaluation.tables import render_markdown

SCORE_KEYS = ("accuracy", "precision", "recall", "f1")


def read_log(path: Path) -> list[dict[str, Any]]:
    entries = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            entries.append(json.loads(line))
        except ValueError:
            raise ConfigError(
                f"{path}:{number}: not a JSON line; is this a babeltag train_log.jsonl?"
            ) from None
    return entries


def score_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (dataset, split, entity type): the scores metrics.json holds."""
    datasets = metrics.get("datasets") or {"": metrics}
    rows = []
    for dataset, scores in datasets.items():
        for split in ("dev", "test"):
            result = scores.get(split)
            if not isinstance(result, dict):
                continue
            base = {"dataset": dataset, "split": split} if dataset else {"split": split}
            rows.append({**base, "type": "all", **{k: result[k] for k in SCORE_KEYS if k in result}})
            for kind, per_type in sorted((result.get("per_type") or {}).items()):
                rows.append(
                    {
                        **base,
                        "type": kind,
                        **{k: per_type[k] for k in ("precision", "recall", "f1") if k in per_type},
                        "gold": per_type.get("gold_spans"),
                    }
                )
    return rows


def scores_markdown(rows: list[dict[str, Any]], metrics: dict[str, Any]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    body = [[_cell(row.get(column)) for column in columns] for row in rows]
    best, run, on = metrics.get("best_epoch"), metrics.get("epochs_run"), metrics.get("selected_on")
    selected = f"epoch {best} of {run}, selected on {on}"
    return f"# Scores\n\n{selected}.\n\n" + render_markdown(columns, body)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def training_curve(log: list[dict[str, Any]], path: Path, best_epoch: int | None) -> Path:
    """Loss per epoch (each named loss) on the left axis, the dev score on the right."""
    epochs = [entry for entry in log if "epoch" in entry and "loss" in entry]
    if not epochs:
        raise ConfigError(f"{path.parent.parent}: the log has no epochs to plot")
    figure = new_figure(7.0, 4.2, path)
    axes = figure.add_subplot(1, 1, 1)
    x = [entry["epoch"] for entry in epochs]
    for name in dict.fromkeys(name for entry in epochs for name in entry["loss"]):
        axes.plot(
            x, [entry["loss"].get(name) for entry in epochs], marker="o", markersize=3, label=f"{name} loss"
        )
    axes.set_xlabel("epoch")
    axes.set_ylabel("training loss")
    dev = [(entry["epoch"], entry["dev"]["score"]) for entry in epochs if entry.get("dev")]
    if dev:
        right = axes.twinx()
        right.plot(
            [e for e, _ in dev],
            [s for _, s in dev],
            color="black",
            marker="s",
            markersize=3,
            label="dev score",
        )
        right.set_ylabel("dev score")
        if best_epoch is not None:
            right.axvline(best_epoch, color="grey", linestyle=":", label=f"selected (epoch {best_epoch})")
        right.legend(loc="lower right")
    axes.legend(loc="upper right")
    return save_png(figure, path)


def report_run(
    run_dir: str | Path, tsne_datasets: list[str] | None = None, tsne_words: int = 150
) -> dict[str, Any]:
    run_dir = Path(run_dir)
    metrics_path, log_path = run_dir / "metrics.json", run_dir / "train_log.jsonl"
    if not metrics_path.is_file() and not log_path.is_file():
        raise ConfigError(
            f"{run_dir}: neither metrics.json nor train_log.jsonl; is it a `babeltag train` --out?"
        )
    out = run_dir / "report"
    out.mkdir(exist_ok=True)
    files: dict[str, str] = {}
    skipped: dict[str, str] = {}
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
    rows = score_rows(metrics)
    if rows:
        (out / "scores.md").write_text(scores_markdown(rows, metrics), encoding="utf-8")
        files["scores_md"] = str(out / "scores.md")
        files["scores_csv"] = str(results_csv(rows, out / "scores.csv"))
    else:
        skipped["scores"] = "no metrics.json (the run has not finished)"
    if log_path.is_file():
        files["training_curve"] = str(
            training_curve(read_log(log_path), out / "training_curve.png", metrics.get("best_epoch"))
        )
    if (run_dir / "model").is_dir():
        try:
            files["char_tsne"] = str(
                _char_map(run_dir / "model", out / "char_tsne.png", tsne_datasets, tsne_words)
            )
        except BabeltagError as error:
            skipped["char_tsne"] = str(error)
    else:
        skipped["char_tsne"] = "no saved model"
    gates = run_dir / "gates" / "gates.json"  # `babeltag gates MODEL ... --out RUN_DIR/gates`
    if gates.is_file():
        for gate, rows in json.loads(gates.read_text(encoding="utf-8")).items():
            heatmap = expert_gate_heatmap(
                rows, out / f"gates_{gate}.png", title=f"average {gate} gate weight"
            )
            files[f"gates_{gate}"] = str(heatmap)
    report = {"run": str(run_dir), "files": files, "skipped": skipped}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def _char_map(model_dir: Path, path: Path, datasets: list[str] | None, words: int) -> Path:
    from babeltag.evaluation.char_tsne import map_languages
    from babeltag.models.archive import LoadedMultiTaskModel, load_any_model, select_dataset

    loaded = load_any_model(model_dir)
    if isinstance(loaded, LoadedMultiTaskModel):
        names = datasets or _one_per_language(loaded.config.datasets)
        models = {name: select_dataset(loaded, name, model_dir) for name in names}
        labels = {f"{m.config.data.language} ({name})": m for name, m in models.items()}
    else:
        labels = {loaded.config.data.language: loaded}
    map_languages(labels, path, words)
    return path


def _one_per_language(datasets: dict[str, Any]) -> list[str]:
    first: dict[str, str] = {}
    for name, entry in datasets.items():
        first.setdefault(entry.language, name)
    return list(first.values())
