"""Multi-dataset training end to end on synthetic data: sampled labelled sets, loss weights, one
saved model that loads whole or as any dataset's model, and the CLI on a ``datasets:`` config."""

from __future__ import annotations

import copy
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from babeltag.cli import main
from babeltag.config import MultiTaskConfig, OptimizerConfig, TrainingConfig, parse_multitask_config
from babeltag.data.batching import TensorDataset
from babeltag.data.datasets import normaliser_of, read_split, to_scheme
from babeltag.data.example import Example
from babeltag.data.shared_vocab import SharedVocabularies
from babeltag.data.synthetic import LanguageSpec, write_corpus
from babeltag.errors import BabeltagError, ConfigError, DataError, ModelArchiveError
from babeltag.heads.classifier import ClassifierHead
from babeltag.models.archive import LoadedMultiTaskModel, load_any_model, load_model
from babeltag.models.build import training_scheme
from babeltag.models.multitask import MultiTaskModel
from babeltag.models.predict import predict_labels
from babeltag.training import multitask_run
from babeltag.training.log import RunLog
from babeltag.training.multitask_run import DatasetSplits, loss_weights, train_multitask
from babeltag.training.optim import make_optimizer
from babeltag.training.trainer import Trainer

TINY_MODEL: dict[str, Any] = {
    "word_embedding": {"dim": 8},
    "char_encoder": {"type": "cnn", "char_dim": 4, "widths": [3], "filters": 4},
    "word_encoder": {"hidden": 8},
    "head": {"type": "crf"},
    "dropout": 0.1,
    "train_scheme": "bioes",
}
TINY_TRAINING: dict[str, Any] = {
    "epochs": 2,
    "batch_size": 8,
    "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9},
    "seed": 1,
    "threads": 1,
}


def files(kind: str, language: str, ext: str) -> dict[str, str]:
    return {split: f"{kind}/{language}/{split}.{ext}" for split in ("train", "dev", "test")}


def ner(language: str) -> dict[str, Any]:
    return {
        "task": "ner",
        "language": language,
        "format": "conll",
        "tag_scheme": "iob2",
        **files("ner", language, "txt"),
    }


def pos(language: str) -> dict[str, Any]:
    return {"task": "upos", "language": language, "format": "conllu", **files("ud", language, "conllu")}


def sentiment(language: str) -> dict[str, Any]:
    return {"task": "sentiment", "language": language, "format": "csv", **files("cls", language, "csv")}


def run_config() -> dict[str, Any]:
    """A low-resource NER target with a cross-lingual, a cross-task and a classification auxiliary;
    uniform round-robin over 4 updates an epoch, so each epoch trains on every dataset once."""
    return {
        "datasets": {
            "ner_src": {
                **ner("syn_src"),
                "role": "target",
                "labelled_sentences": 20,
                "keep_unlabelled": True,
            },
            "ner_rel": {**ner("syn_rel"), "loss_weight": "size_ratio"},
            "pos_rel": pos("syn_rel"),
            "sent_rel": sentiment("syn_rel"),
        },
        "sharing": {"private_output": "per_dataset"},
        "sampling": {
            "proportions": "uniform",
            "order": "round_robin",
            "epoch_unit": "updates",
            "epoch_size": 4,
        },
        "model": TINY_MODEL,
        "training": TINY_TRAINING,
    }


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, synthetic_languages: dict[str, LanguageSpec]) -> Path:
    root = tmp_path_factory.mktemp("multitask_run") / "data"
    write_corpus(root, list(synthetic_languages.values()), sizes={"train": 60, "dev": 20, "test": 20}, seed=0)
    return root


@dataclass
class Run:
    config: MultiTaskConfig
    out: Path
    summary: dict[str, Any]
    model: MultiTaskModel  # the in-memory model at the end of training
    vocabularies: SharedVocabularies
    log: list[dict[str, Any]]


@pytest.fixture(scope="module")
def run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One training run that the end-to-end tests share. The model and vocabularies are caught as
    they leave the builder: that model is the one trained, holding the selected epoch's weights."""
    config = parse_multitask_config(run_config())
    build = multitask_run.build_for_config
    built: list[tuple[MultiTaskModel, SharedVocabularies]] = []

    def build_and_keep(
        config: MultiTaskConfig, vocabularies: SharedVocabularies, pretrained: Any = None
    ) -> MultiTaskModel:
        model = build(config, vocabularies, pretrained)
        built.append((model, vocabularies))
        return model

    out = tmp_path_factory.mktemp("run") / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(multitask_run, "build_for_config", build_and_keep)
        summary = train_multitask(config, out, data_dir, progress=False)
    [(model, vocabularies)] = built
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text(encoding="utf-8").splitlines()]
    return Run(config, out, summary, model, vocabularies, log)


def dev_of(run: Run, name: str, data_dir: Path) -> list[Example]:
    return read_split(run.config.datasets[name].single(), "dev", data_dir)


def test_metrics_have_every_dataset_dev_and_test_and_the_sampled_train_size(run: Run) -> None:
    metrics = json.loads((run.out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics == json.loads(json.dumps(run.summary))
    assert metrics["selected_on"] == "targets' dev" and metrics["epochs_run"] == 2
    datasets = metrics["datasets"]
    assert set(datasets) == {"ner_src", "ner_rel", "pos_rel", "sent_rel"}
    for name, scores in datasets.items():
        for split in ("dev", "test"):
            assert 0.0 <= scores[split]["score"] <= 100.0, (name, split)
    assert datasets["ner_src"]["train"] == 20  # labelled_sentences
    assert datasets["ner_rel"]["train"] == datasets["pos_rel"]["train"] == 60
    assert datasets["ner_src"]["role"] == "target" and datasets["pos_rel"]["role"] == "auxiliary"
    assert {name: s["metric"] for name, s in datasets.items()} == {
        "ner_src": "span_f1",
        "ner_rel": "span_f1",
        "pos_rel": "accuracy",
        "sent_rel": "accuracy",
    }
    assert "f1" in datasets["ner_rel"]["test"] and "macro_f1" in datasets["sent_rel"]["test"]


def test_start_record_counts_labelled_and_unlabelled_sentences_and_weights(run: Run) -> None:
    start = next(entry for entry in run.log if entry.get("event") == "start")
    datasets = start["datasets"]
    assert datasets["ner_src"]["train"] == 20 and datasets["ner_src"]["train_file"] == 60
    assert datasets["ner_src"]["unlabelled"] == 40  # keep_unlabelled: the rest of the training file
    assert datasets["ner_rel"]["unlabelled"] == 0
    assert datasets["ner_rel"]["loss_weight"] == pytest.approx(20 / 60)  # size_ratio
    assert datasets["pos_rel"]["loss_weight"] == 1.0
    assert datasets["ner_src"]["proportion"] == pytest.approx(0.25)
    assert (
        "gate/sent_rel" not in datasets["sent_rel"]["parts"]
        and "output/sentiment" in datasets["sent_rel"]["parts"]
    )
    assert "gate/ner_src" in datasets["ner_src"]["parts"]
    assert sum(start["parameters"].values()) == sum(p.numel() for p in run.model.parameters())


def test_every_dataset_trains_each_epoch_including_the_classifier(run: Run) -> None:
    epochs = [entry for entry in run.log if "loss" in entry and "epoch" in entry]
    assert [entry["epoch"] for entry in epochs] == [1, 2]
    for entry in epochs:
        assert entry["updates"] == 4
        assert set(entry["loss"]) == {"ner_src", "ner_rel", "pos_rel", "sent_rel"}
        assert entry["dev"]["datasets"].keys() == {"ner_src"}  # selection is on the targets only
    assert isinstance(run.model.views["sent_rel"].head, ClassifierHead)


def test_saved_model_loads_whole_with_the_trained_weights(run: Run) -> None:
    loaded = load_any_model(run.out / "model")
    assert isinstance(loaded, LoadedMultiTaskModel)
    assert loaded.meta["kind"] == "multitask"
    assert set(loaded.model.views) == set(run.config.datasets)
    assert loaded.vocabularies.to_json() == run.vocabularies.to_json()
    saved, trained = loaded.model.state_dict(), run.model.state_dict()
    assert saved.keys() == trained.keys()
    assert all(torch.equal(saved[key], trained[key]) for key in saved)


@pytest.mark.parametrize("name", ["ner_src", "ner_rel", "pos_rel", "sent_rel"])
def test_each_dataset_model_predicts_as_the_in_memory_one(run: Run, name: str, data_dir: Path) -> None:
    loaded = load_model(run.out / "model", dataset=name)
    assert loaded.dataset == name and loaded.config == run.config.dataset_view(name)
    examples = dev_of(run, name, data_dir)
    view = run.config.dataset_view(name)
    scheme, data_scheme = training_scheme(view), view.data.tag_scheme
    expected = predict_labels(
        run.model.views[name], examples, run.vocabularies.of(name), normaliser_of(view), scheme, data_scheme
    )
    got = predict_labels(
        loaded.model, examples, loaded.vocabularies, normaliser_of(loaded.config), scheme, data_scheme
    )
    assert got == expected


def test_an_unknown_dataset_is_an_error_listing_the_datasets(run: Run) -> None:
    with pytest.raises(
        ModelArchiveError, match="no dataset 'ner_xx'; it has ner_src, ner_rel, pos_rel, sent_rel"
    ):
        load_model(run.out / "model", dataset="ner_xx")
    assert load_model(run.out / "model").dataset == "ner_src"  # the default is the first target


def test_cli_evaluates_one_dataset_of_a_multi_dataset_model(
    run: Run, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = str(run.out / "model")
    assert main(["evaluate", model, str(data_dir / "ud/syn_rel/dev.conllu"), "--dataset", "pos_rel"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["dataset"] == "pos_rel"
    assert result["score"] == pytest.approx(run.summary["datasets"]["pos_rel"]["dev"]["score"])
    assert main(["evaluate", model, str(data_dir / "ud/syn_rel/dev.conllu"), "--dataset", "nope"]) == 2
    assert "ner_src, ner_rel, pos_rel, sent_rel" in capsys.readouterr().err


def test_cli_trains_from_a_datasets_config(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {
        "datasets": {"ner_src": {**ner("syn_src"), "role": "target"}, "pos_src": pos("syn_src")},
        "sampling": {"epoch_unit": "updates", "epoch_size": 2},
        "model": TINY_MODEL,
        "training": {**TINY_TRAINING, "epochs": 1},
    }
    path = tmp_path / "multi.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    out = tmp_path / "run"
    args = ["train", str(path), "--out", str(out), "--data-dir", str(data_dir), "--no-progress"]
    assert main([*args, "--set", "sampling.epoch_size=1"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(summary["datasets"]) == {"ner_src", "pos_src"}
    assert (out / "metrics.json").is_file() and (out / "model" / "model.safetensors").is_file()
    assert yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))["sampling"]["epoch_size"] == 1


# --- loss weights -----------------------------------------------------------------------------


def test_size_ratio_is_target_train_over_dataset_train() -> None:
    config = parse_multitask_config(
        {
            "datasets": {
                "target": {**ner("a"), "role": "target"},
                "big": {**ner("b"), "loss_weight": "size_ratio"},
                "small": {**pos("a"), "loss_weight": "size_ratio"},
                "fixed": {**pos("b"), "loss_weight": 0.25},
            }
        }
    )
    sizes = {"target": 30, "big": 120, "small": 10, "fixed": 50}
    splits = {name: DatasetSplits(train=[Example(["x"], "a", "t", ["O"])] * n) for name, n in sizes.items()}
    assert loss_weights(config, splits) == {
        "target": 1.0,
        "big": pytest.approx(30 / 120),
        "small": pytest.approx(3.0),
        "fixed": 0.25,
    }


class TwoParts(nn.Module):
    """Two one-number parts; a step names the parts whose losses it returns (like datasets)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.tensor([1.0, 2.0]))
        self.b = nn.Parameter(torch.tensor([-1.0, 0.5]))

    def forward(self, step: list[str]) -> dict[str, torch.Tensor]:
        return {name: (getattr(self, name) ** 2).sum() for name in step}


class Steps:
    """A BatchSource whose epoch is a fixed list of steps."""

    def __init__(self, steps: list[list[str]]) -> None:
        self.steps = steps

    def epoch(self) -> list[list[str]]:
        return self.steps

    def inputs(self, step: list[str]) -> list[str]:
        return step

    def sentences(self, step: list[str]) -> int:
        return len(step)


def train_two_parts(
    steps: list[list[str]], optimizer: dict[str, Any], weights: dict[str, float] | None
) -> TwoParts:
    model = TwoParts()
    config = TrainingConfig(epochs=1, clip=None, optimizer=OptimizerConfig(**optimizer))
    Trainer(model, config, RunLog(None, stream=io.StringIO()), loss_weights=weights, progress=False).fit(
        Steps(steps)
    )
    return model


def test_trainer_multiplies_each_named_loss_by_its_weight() -> None:
    sgd = {"type": "sgd", "lr": 0.1}
    plain = train_two_parts([["a", "b"]], sgd, None)
    weighted = train_two_parts([["a", "b"]], sgd, {"a": 3.0, "c": 100.0})  # c names no loss: ignored
    start = TwoParts()
    # d/da of w * sum(a^2) is 2 w a, so a step moves a by 0.1 * 2 * w * a
    assert torch.allclose(start.a - plain.a, 0.2 * start.a)
    assert torch.allclose(start.a - weighted.a, 3 * 0.2 * start.a)
    assert torch.allclose(weighted.b, plain.b)  # no weight: 1
    zero = train_two_parts([["a", "b"]], sgd, {"b": 0.0})
    assert torch.equal(zero.b, start.b)


def test_logged_losses_are_unweighted(tmp_path: Path) -> None:
    model = TwoParts()
    log = RunLog(tmp_path / "log.jsonl", stream=io.StringIO())
    config = TrainingConfig(epochs=1, clip=None, optimizer=OptimizerConfig(type="sgd", lr=0.1))
    result = Trainer(model, config, log, loss_weights={"a": 10.0}, progress=False).fit(Steps([["a", "b"]]))
    assert result.history[0]["loss"] == {"a": pytest.approx(5.0), "b": pytest.approx(1.25)}


# --- optimisers over steps that use different parts ----------------------------------------------


@pytest.mark.parametrize(
    "optimizer",
    [
        {"type": "sgd", "lr": 0.1, "momentum": 0.9},
        {"type": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.01},
        {"type": "sgd", "lr": 0.1},
        {"type": "adam", "lr": 0.1},
        {"type": "adagrad", "lr": 0.1},
    ],
    ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items() if k != "lr"),
)
def test_steps_on_different_parts_update_like_the_unfused_optimiser(optimizer: dict[str, Any]) -> None:
    """A step on one dataset leaves the other's parts without gradients; the fused kernels must
    take a mix of parameters with and without state, and match the plain for-loop optimiser."""
    steps = [["a"], ["b"], ["a", "b"], ["b"], ["a"]]
    trained = train_two_parts(steps, optimizer, None)

    reference = TwoParts()
    kind = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adagrad": torch.optim.Adagrad}[
        optimizer["type"]
    ]
    settings = {k: v for k, v in optimizer.items() if k != "type"}
    slow = kind(reference.parameters(), foreach=False, **settings)
    for step in steps:
        slow.zero_grad(set_to_none=True)
        sum(reference(step).values()).backward()  # type: ignore[union-attr]
        slow.step()
    assert torch.allclose(trained.a, reference.a) and torch.allclose(trained.b, reference.b)


def test_sgd_momentum_over_a_multitask_model_whose_steps_use_different_parts(
    run: Run, data_dir: Path
) -> None:
    """The real case: batches of different datasets through one shared model, fused SGD with
    momentum; a dataset's private layer moves on its own steps only."""
    model = copy.deepcopy(run.model)
    optimizer = make_optimizer(model.parameters(), OptimizerConfig(type="sgd", lr=0.01, momentum=0.9))
    batches = {}
    for name, entry in run.config.datasets.items():
        view = run.config.dataset_view(name)
        examples = to_scheme(
            read_split(entry.single(), "train", data_dir)[:4], entry.tag_scheme, training_scheme(view)
        )
        kind = "sentence" if entry.kind == "classification" else "token"
        batches[name] = TensorDataset(examples, run.vocabularies.of(name), normaliser_of(view), kind).batch(
            range(4)
        )
    private = model.parts["private/pos_rel"].weight
    for name in ["ner_src", "pos_rel", "ner_src", "sent_rel", "pos_rel", "ner_rel"]:
        before = private.detach().clone()
        optimizer.zero_grad(set_to_none=True)
        model([(name, batches[name])])[name].backward()
        optimizer.step()
        assert torch.equal(private, before) == (name != "pos_rel"), name


# --- checks and pretrained vectors ------------------------------------------------------------


def one_dataset_config(**sections: Any) -> dict[str, Any]:
    return {
        "datasets": {"ner_src": {**ner("syn_src"), "role": "target"}},
        "sampling": {"epoch_unit": "updates", "epoch_size": 1},
        "model": TINY_MODEL,
        "training": {**TINY_TRAINING, "epochs": 1},
        **sections,
    }


def test_a_config_the_recipe_refuses_creates_no_run_directory(data_dir: Path, tmp_path: Path) -> None:
    config = one_dataset_config(recipe="lin2018")
    config["model"] = {**TINY_MODEL, "char_encoder": {"type": "lstm", "char_dim": 4, "hidden": 4}}
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match="recipe lin2018"):
        train_multitask(parse_multitask_config(config), out, data_dir, progress=False)
    assert not out.exists()


@pytest.mark.parametrize(
    "word_embedding",
    ["per_language", "per_dataset"],
)
def test_word_vectors_initialise_the_language_word_embedding(
    word_embedding: str, data_dir: Path, tmp_path: Path
) -> None:
    vectors = tmp_path / "syn_src.vec"
    vectors.write_text("1 8\nzzunseen 1 2 3 4 5 6 7 8\n", encoding="utf-8")
    config = one_dataset_config(
        word_vectors={"syn_src": str(vectors)}, sharing={"word_embedding": word_embedding}
    )
    config["model"] = {**TINY_MODEL, "word_embedding": {"dim": 8, "freeze": True}}
    train_multitask(parse_multitask_config(config), tmp_path / "run", data_dir, progress=False)
    loaded = load_model(tmp_path / "run" / "model", "ner_src")
    words = loaded.vocabularies.words
    assert "zzunseen" in words.stoi  # the vocabulary is the union with the file's words
    table = loaded.model.word_embedding.embedding.weight  # type: ignore[union-attr]
    assert torch.equal(table[words.id("zzunseen")], torch.arange(1.0, 9.0))


def test_a_transliterated_dataset_is_read_in_latin_letters_and_predicted_in_its_own(
    data_dir: Path, tmp_path: Path
) -> None:
    """syn_rel_cyrl is syn_rel written in Cyrillic. With transliterate: cyrillic-latin its words
    join syn_rel's in the shared word table and its characters are Latin ones; the saved model
    reads Cyrillic input exactly as its transliteration, and writes the Cyrillic tokens back."""
    from babeltag.embeddings.transliterate import cyrillic_to_latin
    from babeltag.models.predict import predict_file

    config = {
        "datasets": {
            "ner_cyrl": {**ner("syn_rel_cyrl"), "role": "target", "transliterate": "cyrillic-latin"},
            "ner_rel": ner("syn_rel"),
        },
        "sharing": {"word_embedding": "all"},
        "sampling": {"epoch_unit": "updates", "epoch_size": 2},
        "model": TINY_MODEL,
        "training": {**TINY_TRAINING, "epochs": 1},
    }
    train_multitask(parse_multitask_config(config), tmp_path / "run", data_dir, progress=False)
    loaded = load_model(tmp_path / "run" / "model", "ner_cyrl")
    symbols = "".join(loaded.vocabularies.words.itos) + "".join(loaded.vocabularies.chars.itos)
    assert not any("\u0400" <= c <= "\u04ff" for c in symbols)  # no Cyrillic letter anywhere

    def words(language: str) -> set[str]:
        lines = (data_dir / f"ner/{language}/train.txt").read_text(encoding="utf-8").splitlines()
        return {line.split()[0] for line in lines if line and not line.startswith("-DOCSTART-")}

    # one table: syn_rel's words and the Cyrillic words as transliterated, many of them the same
    read_in_latin = {cyrillic_to_latin(word) for word in words("syn_rel_cyrl")}
    assert set(loaded.vocabularies.words.itos) - {"<pad>", "<unk>"} == words("syn_rel") | read_in_latin
    assert len(words("syn_rel") & read_in_latin) > 100

    cyrillic = data_dir / "ner/syn_rel_cyrl/test.txt"
    latin = tmp_path / "latin.txt"
    latin.write_text(cyrillic_to_latin(cyrillic.read_text(encoding="utf-8")), encoding="utf-8")
    outputs = []
    for source in (cyrillic, latin):
        out = tmp_path / f"{source.stem}.predicted.txt"
        predict_file(tmp_path / "run" / "model", str(source), "conll", str(out), dataset="ner_cyrl")
        outputs.append([line.split() for line in out.read_text(encoding="utf-8").splitlines() if line])
    assert [row[0] for row in outputs[0]] == [
        line.split()[0] for line in cyrillic.read_text(encoding="utf-8").splitlines() if line
    ]
    assert [row[-1] for row in outputs[0]] == [row[-1] for row in outputs[1]]


def test_an_unknown_transliteration_is_named() -> None:
    config = one_dataset_config()
    config["datasets"]["ner_src"]["transliterate"] = "klingon-latin"
    with pytest.raises(
        ConfigError,
        match="datasets.ner_src.transliterate: unknown transliteration 'klingon-latin'; known: cyrillic",
    ):
        parse_multitask_config(config)


@pytest.mark.parametrize("update", ["dense", "sparse"])
def test_sparse_updates_leave_a_pretrained_vector_unseen_in_training_where_it_was(
    update: str, data_dir: Path, tmp_path: Path
) -> None:
    """With momentum and weight decay a dense update moves every row, also a word no batch has;
    a sparse one moves only the rows of the batch's words."""
    vectors = tmp_path / "syn_src.vec"
    vectors.write_text("1 8\nzzunseen 1 2 3 4 5 6 7 8\n", encoding="utf-8")
    config = one_dataset_config(word_vectors={"syn_src": str(vectors)})
    config["model"] = {**TINY_MODEL, "word_embedding": {"dim": 8, "update": update}}
    config["training"] = {
        **TINY_TRAINING,
        "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.1},
    }
    config["sampling"] = {"epoch_unit": "updates", "epoch_size": 3}
    train_multitask(parse_multitask_config(config), tmp_path / "run", data_dir, progress=False)
    loaded = load_model(tmp_path / "run" / "model", "ner_src")
    words = loaded.vocabularies.words
    table = loaded.model.word_embedding.embedding.weight  # type: ignore[union-attr]
    unseen_kept = torch.equal(table[words.id("zzunseen")], torch.arange(1.0, 9.0))
    assert unseen_kept == (update == "sparse")


def test_man_moe_trains_with_sparse_word_updates(data_dir: Path, tmp_path: Path) -> None:
    """MAN-MoE (per-language tables, a separately trained critic) with update: sparse."""
    config = chen2019_config()
    config["model"] = {**TINY_MODEL, "word_embedding": {"dim": 8, "update": "sparse"}}
    summary = train_multitask(parse_multitask_config(config), tmp_path / "run", data_dir, progress=False)
    assert summary["epochs_run"] == 1


def test_word_vectors_of_the_wrong_size_or_language_are_named(data_dir: Path, tmp_path: Path) -> None:
    vectors = tmp_path / "v.vec"
    vectors.write_text("1 4\nzzunseen 1 2 3 4\n", encoding="utf-8")
    for word_vectors, match in (
        ({"syn_src": str(vectors)}, r"v\.vec has 4-dimensional vectors; set model.word_embedding.dim: 4"),
        ({"xx": str(vectors)}, r"word_vectors\.xx: no dataset is in language 'xx'"),
    ):
        config = parse_multitask_config(one_dataset_config(word_vectors=word_vectors))
        with pytest.raises(ConfigError, match=match):
            train_multitask(config, tmp_path / "run", data_dir, progress=False)
        assert not (tmp_path / "run").exists()  # checked before the run directory is made


def test_word_vectors_refused_for_a_word_table_shared_by_languages(data_dir: Path, tmp_path: Path) -> None:
    vectors = tmp_path / "syn_src.vec"
    vectors.write_text("1 8\nzzunseen 1 2 3 4 5 6 7 8\n", encoding="utf-8")
    config = one_dataset_config(word_vectors={"syn_src": str(vectors)}, sharing={"word_embedding": "all"})
    config["datasets"]["ner_rel"] = ner("syn_rel")
    config["model"] = {**TINY_MODEL, "word_embedding": {"dim": 8}}
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match="shared by languages"):
        train_multitask(parse_multitask_config(config), out, data_dir, progress=False)
    assert not out.exists()


def test_mixed_batches_train_every_dataset_in_one_update(data_dir: Path, tmp_path: Path) -> None:
    """order: mixed puts sentences of several datasets in one update: each update's losses name
    more than one dataset, and the per-dataset losses are all logged."""
    config = one_dataset_config(
        sampling={"proportions": "uniform", "order": "mixed", "epoch_unit": "updates", "epoch_size": 3}
    )
    config["datasets"]["pos_src"] = pos("syn_src")
    config["training"]["batch_size"] = 16
    parsed = parse_multitask_config(config)
    summary = train_multitask(parsed, tmp_path / "run", data_dir, progress=False)
    epoch = [json.loads(line) for line in (tmp_path / "run/train_log.jsonl").read_text().splitlines()][1]
    assert set(epoch["loss"]) == {"ner_src", "pos_src"}
    assert epoch["updates"] == 3 and epoch["sentences"] == 3 * 16
    assert "mixed" in summary["schedule"]


def test_adversarial_and_bilm_objectives_train_and_are_saved(data_dir: Path, tmp_path: Path) -> None:
    """Objectives log their own losses, their lambda follows the schedule, and the saved model
    (objective parts included) loads back with the same weights."""
    config = one_dataset_config(
        objectives={
            "adversarial": {"weight": 0.5, "schedule": "linear", "filters": 4, "hidden": 8},
            "bilm": {"weight": 0.3, "output_words": 20},
        },
        sampling={"proportions": "uniform", "epoch_unit": "updates", "epoch_size": 4},
    )
    config["datasets"]["ner_rel"] = ner("syn_rel")
    config["training"]["epochs"] = 2
    parsed = parse_multitask_config(config)
    train_multitask(parsed, tmp_path / "run", data_dir, progress=False)
    records = [json.loads(line) for line in (tmp_path / "run/train_log.jsonl").read_text().splitlines()]
    epoch = next(r for r in records if r.get("epoch") == 1)
    assert {"adversarial", "bilm", "ner_src", "ner_rel"} <= set(epoch["loss"])
    loaded = load_any_model(tmp_path / "run/model")
    assert isinstance(loaded, LoadedMultiTaskModel)
    names = set(loaded.model.parts)
    assert {"objective/adversary", "objective/bilm/syn_src", "objective/bilm/syn_rel"} <= names
    model = loaded.model
    model.set_progress(0.25)
    assert model.adversary is not None and model.adversary.reversal.scale == pytest.approx(0.25)


def test_objectives_refused_with_a_recipe_and_for_one_language(data_dir: Path, tmp_path: Path) -> None:
    config = one_dataset_config(recipe="lin2018", objectives={"bilm": {}})
    config["model"] = {
        **TINY_MODEL,
        "char_encoder": {"type": "cnn", "char_dim": 4, "filters": 4},
        "head": {"type": "crf"},
    }
    with pytest.raises(ConfigError, match="recipe lin2018 trains its task losses only"):
        train_multitask(parse_multitask_config(config), tmp_path / "a", data_dir, progress=False)
    config = one_dataset_config(objectives={"adversarial": {}})
    with pytest.raises(ConfigError, match="all in one language"):
        train_multitask(parse_multitask_config(config), tmp_path / "b", data_dir, progress=False)


def test_held_out_dev_comes_out_of_the_training_pool_before_the_labelled_sample(data_dir: Path) -> None:
    """Kim et al.'s low-resource setting: one pool gives a held-out dev set, a labelled sample and
    unlabelled text, all disjoint, and together the whole pool."""
    from babeltag.training.multitask_run import read_datasets

    config = one_dataset_config()
    config["datasets"]["ner_src"].pop("dev", None)
    config["datasets"]["ner_src"].update(
        held_out_dev=15, labelled_sentences=20, keep_unlabelled=True, sample_seed=3
    )
    parsed = parse_multitask_config(config)
    splits = read_datasets(parsed, data_dir)["ner_src"]
    assert splits.dev is not None
    assert (len(splits.dev), len(splits.train), len(splits.unlabelled)) == (15, 20, 60 - 35)
    pool = [tuple(e.tokens) for e in read_split(parsed.datasets["ner_src"].single(), "train", data_dir)]
    dev, train, rest = (
        [tuple(e.tokens) for e in part] for part in (splits.dev, splits.train, splits.unlabelled)
    )
    assert sorted(dev + train + rest) == sorted(pool)
    assert all(e.labels is not None for e in splits.dev)
    again = read_datasets(parsed, data_dir)["ner_src"]
    assert [e.tokens for e in again.dev or []] == [list(t) for t in dev]  # seeded


def test_held_out_dev_with_a_dev_file_is_refused() -> None:
    config = one_dataset_config()
    config["datasets"]["ner_src"]["held_out_dev"] = 5
    with pytest.raises(ConfigError, match="held_out_dev"):
        parse_multitask_config(config)


def test_unlabelled_text_trains_the_objectives_only(data_dir: Path, tmp_path: Path) -> None:
    """keep_unlabelled text comes with each labelled batch of its dataset, unlabelled, and adds to
    the bi-LM (and adversary) but never to the task loss."""
    from babeltag.training.multitask_run import MultiDatasetSource, read_datasets

    config = one_dataset_config(objectives={"bilm": {"output_words": 20}})
    config["datasets"]["ner_src"].update(labelled_sentences=20, keep_unlabelled=True)
    parsed = parse_multitask_config(config)
    summary = train_multitask(parsed, tmp_path / "run", data_dir, progress=False)
    assert summary["datasets"]["ner_src"]["train"] == 20

    splits = read_datasets(parsed, data_dir)["ner_src"]
    loaded = load_any_model(tmp_path / "run/model")
    assert isinstance(loaded, LoadedMultiTaskModel)
    vocab = loaded.vocabularies.of("ner_src")
    normaliser = normaliser_of(parsed.dataset_view("ner_src"))
    scheme = training_scheme(parsed.dataset_view("ner_src"))
    labelled = TensorDataset(to_scheme(splits.train, "iob2", scheme), vocab, normaliser, "token")
    text = TensorDataset(splits.unlabelled, vocab, normaliser, None)
    source = MultiDatasetSource({"ner_src": labelled}, None, {"ner_src": text})  # type: ignore[arg-type]
    batches = source.inputs([("ner_src", [0, 1, 2, 3])])
    assert [name for name, _ in batches] == ["ner_src", "ner_src"]
    assert batches[0][1].label_ids is not None and batches[1][1].label_ids is None
    assert len(batches[1][1]) == 4
    model = loaded.model
    model.train()
    only_text = model([batches[1]])
    assert set(only_text) == {"bilm"}
    both = model(batches)
    assert set(both) == {"ner_src", "bilm"}


def test_separate_discriminator_training_updates_it_only_in_critic_steps(
    data_dir: Path, tmp_path: Path
) -> None:
    """MAN-style training: the discriminator has its own optimiser and k updates per main update;
    the main optimiser holds none of its parameters, and training runs end to end."""
    from babeltag.training.log import RunLog
    from babeltag.training.multitask_run import MultiDatasetSource
    from babeltag.training.trainer import Trainer

    config = one_dataset_config(
        objectives={"adversarial": {"training": "separate", "critic_steps": 2, "filters": 4, "hidden": 8}},
        sampling={"proportions": "uniform", "epoch_unit": "updates", "epoch_size": 3},
    )
    config["datasets"]["ner_rel"] = ner("syn_rel")
    parsed = parse_multitask_config(config)
    summary = train_multitask(parsed, tmp_path / "run", data_dir, progress=False)
    assert summary["epochs_run"] == 1

    loaded = load_any_model(tmp_path / "run/model")
    assert isinstance(loaded, LoadedMultiTaskModel)
    model = loaded.model
    model.train_discriminator_separately(steps=2, lr=0.01)
    trainer = Trainer(model, parsed.training, RunLog(None, io.StringIO()))
    critic_ids = {id(p) for p in model.critic.parameters()}  # type: ignore[union-attr]
    in_main = {id(p) for group in trainer.optimizer.param_groups for p in group["params"]}
    assert critic_ids and not critic_ids & in_main
    assert critic_ids <= {id(p) for group in trainer.critic_optimizer.param_groups for p in group["params"]}  # type: ignore[union-attr]

    normaliser = normaliser_of(parsed.dataset_view("ner_src"))
    tensors = {
        name: TensorDataset(
            to_scheme(
                read_split(parsed.datasets[name].single(), "train", data_dir),
                "iob2",
                training_scheme(parsed.dataset_view(name)),
            ),
            loaded.vocabularies.of(name),
            normaliser,
            "token",
        )
        for name in ("ner_src", "ner_rel")
    }

    class OneStep:
        batch_size = 8

    source = MultiDatasetSource(tensors, OneStep(), {}, np.random.default_rng(0))  # type: ignore[arg-type]
    discriminator = {k: v.clone() for k, v in model.critic.discriminator.state_dict().items()}  # type: ignore[union-attr]
    trainer.train_critic(source, [("ner_src", [0, 1, 2])])
    after = model.critic.discriminator.state_dict()  # type: ignore[union-attr]
    assert any(not torch.equal(after[k], v) for k, v in discriminator.items())  # the critic moved it


def test_wasserstein_critic_trains_with_clipped_weights(data_dir: Path, tmp_path: Path) -> None:
    """MAN with a Wasserstein critic: it trains end to end, and after training every critic weight is
    inside the clipping bound (it is clipped after each of its updates)."""
    config = one_dataset_config(
        objectives={
            "adversarial": {
                "training": "separate",
                "loss": "wasserstein",
                "clip": 0.02,
                "critic_steps": 2,
                "filters": 4,
                "hidden": 8,
            }
        },
        sampling={"proportions": "uniform", "epoch_unit": "updates", "epoch_size": 3},
    )
    config["datasets"]["ner_rel"] = ner("syn_rel")
    summary = train_multitask(parse_multitask_config(config), tmp_path / "run", data_dir, progress=False)
    assert summary["epochs_run"] == 1
    loaded = load_any_model(tmp_path / "run/model")
    assert isinstance(loaded, LoadedMultiTaskModel) and loaded.model.adversary is not None
    assert loaded.model.adversary.loss == "wasserstein"
    assert all(p.abs().max() <= 0.02 + 1e-7 for p in loaded.model.adversary.discriminator.parameters())

    config["objectives"]["adversarial"]["training"] = "reversal"
    with pytest.raises(ConfigError, match="wasserstein needs training: separate"):
        parse_multitask_config(config)


def reloaded_f1(model_dir: Path, dataset: str, examples: list[Any]) -> float:
    """Span F1 of the saved model of ``dataset`` on ``examples`` (IOB2), predicted afresh."""
    from babeltag.evaluation.scoring import score
    from babeltag.models.predict import predict_labels

    loaded = load_model(model_dir, dataset=dataset)
    predicted = predict_labels(
        loaded.model,
        examples,
        loaded.vocabularies,
        normaliser_of(loaded.config),
        training_scheme(loaded.config),
        "iob2",
    )
    return float(score(examples, predicted, "span_f1", "iob2")["f1"])


def test_man_moe_trains_saves_and_reloads(data_dir: Path, tmp_path: Path) -> None:
    """Experts per source language + a separately trained discriminator (MAN-MoE) train end to end,
    log the gate loss, and the saved model predicts as the trained one."""
    config = one_dataset_config(
        sharing={"experts": "source_languages", "expert_hidden": 6},
        objectives={"adversarial": {"training": "separate", "critic_steps": 1, "filters": 4, "hidden": 8}},
        sampling={"proportions": "uniform", "epoch_unit": "updates", "epoch_size": 4},
    )
    config["datasets"]["ner_rel"] = ner("syn_rel")
    parsed = parse_multitask_config(config)
    summary = train_multitask(parsed, tmp_path / "run", data_dir, progress=False)
    records = [json.loads(line) for line in (tmp_path / "run/train_log.jsonl").read_text().splitlines()]
    epoch = next(r for r in records if r.get("epoch") == 1)
    assert {"gate", "adversarial", "ner_src", "ner_rel"} <= set(epoch["loss"])
    dev = read_split(parsed.datasets["ner_src"].single(), "dev", data_dir)
    assert reloaded_f1(tmp_path / "run/model", "ner_src", dev) == pytest.approx(
        summary["datasets"]["ner_src"]["dev"]["f1"]
    )


def test_average_expert_gates_of_a_trained_man_moe(data_dir: Path, tmp_path: Path) -> None:
    """babeltag gates: each gate's average over a text's real tokens (padding excluded: batched equals
    one sentence at a time, token-weighted), rows summing to one, one column per source expert."""
    from babeltag.data.batching import TensorDataset
    from babeltag.evaluation.gates import average_gates, gates_command

    config = one_dataset_config(
        sharing={"experts": "source_languages", "expert_hidden": 6},
        sampling={"proportions": "uniform", "epoch_unit": "updates", "epoch_size": 2},
    )
    config["datasets"]["ner_rel"] = ner("syn_rel")
    config["datasets"]["ner_unr"] = ner("syn_unr")
    train_multitask(parse_multitask_config(config), tmp_path / "run", data_dir, progress=False)
    texts = {language: data_dir / "ner" / language / "test.txt" for language in ("syn_src", "syn_rel")}
    result = gates_command(tmp_path / "run/model", texts, tmp_path / "gates", dataset="ner_src")
    assert set(result["gates"]) == {"features", "predictor"}
    for rows in result["gates"].values():
        assert set(rows) == {"syn_src", "syn_rel"}
        for weights in rows.values():
            assert list(weights) == ["syn_rel", "syn_unr"]  # the sources; the target has no expert
            assert sum(weights.values()) == pytest.approx(1.0)
    assert json.loads((tmp_path / "gates/gates.json").read_text()) == result["gates"]
    assert all(Path(f).stat().st_size > 0 for f in result["files"])

    loaded = load_model(tmp_path / "run/model", dataset="ner_src")
    examples = read_split(loaded.config.data, "test", data_dir)[:7]
    tensors = TensorDataset(examples, loaded.vocabularies, normaliser_of(loaded.config), None)
    batched = average_gates(loaded.model, tensors, batch_size=4)
    one_by_one = [
        (
            len(e.tokens),
            average_gates(
                loaded.model, TensorDataset([e], loaded.vocabularies, normaliser_of(loaded.config), None)
            ),
        )
        for e in examples
    ]
    total = sum(n for n, _ in one_by_one)
    for gate, weights in batched.items():
        for expert, value in weights.items():
            assert value == pytest.approx(sum(n * g[gate][expert] for n, g in one_by_one) / total, abs=1e-6)


def test_gates_of_a_model_without_experts_is_an_error(run: Run) -> None:
    from babeltag.evaluation.gates import gates_of

    with pytest.raises(BabeltagError, match="no mixture of experts"):
        gates_of(next(iter(run.model.views.values())))


def test_a_zero_resource_target_is_scored_and_feeds_the_objectives_text_only(
    data_dir: Path, tmp_path: Path
) -> None:
    """MAN-MoE's setting: the target language has no labelled sentences; its training file is text
    for the discriminator, its model is the sources' parts (task output + the experts' gate), and it
    is scored on its dev and test files."""
    config = {
        "datasets": {
            "ner_rel": {**ner("syn_rel"), "role": "target", "labelled_sentences": 0},
            "ner_src": ner("syn_src"),
            "ner_unr": ner("syn_unr"),
        },
        "sharing": {"experts": "source_languages", "expert_hidden": 6},
        "objectives": {"adversarial": {"training": "separate", "critic_steps": 1, "filters": 4, "hidden": 8}},
        "sampling": {"proportions": "uniform", "epoch_unit": "updates", "epoch_size": 3},
        "model": TINY_MODEL,
        "training": {**TINY_TRAINING, "epochs": 1},
    }
    parsed = parse_multitask_config(config)
    summary = train_multitask(parsed, tmp_path / "run", data_dir, progress=False)
    target = summary["datasets"]["ner_rel"]
    assert target["train"] == 0 and "f1" in target["dev"] and "f1" in target["test"]
    start = json.loads((tmp_path / "run/train_log.jsonl").read_text().splitlines()[0])
    assert (
        start["datasets"]["ner_rel"]["unlabelled"] == 60 and start["datasets"]["ner_rel"]["proportion"] == 0.0
    )
    epoch = json.loads((tmp_path / "run/train_log.jsonl").read_text().splitlines()[1])
    assert "ner_rel" not in epoch["loss"] and "adversarial" in epoch["loss"]
    assert load_model(tmp_path / "run/model", dataset="ner_rel").dataset == "ner_rel"


def test_zero_resource_needs_an_update_count_and_a_shared_output(data_dir: Path, tmp_path: Path) -> None:
    config = one_dataset_config()
    config["datasets"]["ner_src"]["labelled_sentences"] = 0
    config["datasets"]["ner_rel"] = ner("syn_rel")
    config["sampling"] = {"epoch_unit": "target_batches"}
    with pytest.raises(ConfigError, match="epoch_unit: updates"):
        train_multitask(parse_multitask_config(config), tmp_path / "a", data_dir, progress=False)
    config["sampling"] = {"epoch_unit": "updates", "epoch_size": 2}
    config["sharing"] = {"output": "per_dataset"}
    with pytest.raises(DataError, match="no labels to predict"):
        train_multitask(parse_multitask_config(config), tmp_path / "b", data_dir, progress=False)


def chen2019_config(**sharing: Any) -> dict[str, Any]:
    """Zero-resource syn_rel NER from syn_src and syn_unr, selected on the sources' dev sets."""
    return {
        "recipe": "chen2019",
        "model_selection": "sources",
        "datasets": {
            "ner_rel": {**ner("syn_rel"), "role": "target", "labelled_sentences": 0},
            "ner_src": ner("syn_src"),
            "ner_unr": ner("syn_unr"),
        },
        "sharing": {"expert_hidden": 6, **sharing},
        "objectives": {"adversarial": {"training": "separate", "critic_steps": 1, "filters": 4, "hidden": 8}},
        "sampling": {
            "proportions": "uniform",
            "order": "round_robin",
            "epoch_unit": "updates",
            "epoch_size": 3,
        },
        "model": TINY_MODEL,
        "training": {**TINY_TRAINING, "epochs": 1},
    }


@pytest.mark.parametrize("variant", ["man_moe", "man", "weight_sharing"])
def test_chen2019_variants_train_select_on_sources_and_reload(
    variant: str, data_dir: Path, tmp_path: Path
) -> None:
    """MAN-MoE and its baselines from one config: each trains, is selected on the sources' dev sets
    (never the zero-resource target's), and the saved model predicts as the scores say."""
    config = chen2019_config(**({} if variant == "man_moe" else {"experts": "none"}))
    if variant == "weight_sharing":
        config["objectives"] = {}
    parsed = parse_multitask_config(config)
    summary = train_multitask(parsed, tmp_path / "run", data_dir, progress=False)
    log = [json.loads(line) for line in (tmp_path / "run/train_log.jsonl").read_text().splitlines()]
    epoch = next(r for r in log if r.get("epoch") == 1)
    assert set(epoch["dev"]["datasets"]) == {"ner_src", "ner_unr"}  # the sources' dev, not the target's
    assert ("gate" in epoch["loss"]) == (variant == "man_moe")
    assert ("adversarial" in epoch["loss"]) == (variant != "weight_sharing")
    meta = json.loads((tmp_path / "run/model/meta.json").read_text())
    assert "sources' dev" in json.dumps(meta)
    test = read_split(parsed.datasets["ner_rel"].single(), "test", data_dir)
    assert reloaded_f1(tmp_path / "run/model", "ner_rel", test) == pytest.approx(
        summary["datasets"]["ner_rel"]["test"]["f1"]
    )


def test_chen2019_refuses_what_it_does_not_build() -> None:
    config = chen2019_config()
    config["model"] = {**TINY_MODEL, "char_encoder": {"type": "lstm", "char_dim": 4, "hidden": 4}}
    with pytest.raises(ConfigError, match="recipe chen2019 is a char CNN"):
        train_multitask(parse_multitask_config(config), "/nonexistent", None, progress=False)
    config = chen2019_config(private_encoder="per_language")
    with pytest.raises(ConfigError, match="recipe chen2019 fixes what is shared"):
        parse_multitask_config(config)


def test_model_selection_on_sources_needs_a_source_dev_set(data_dir: Path, tmp_path: Path) -> None:
    config = chen2019_config()
    for name in ("ner_src", "ner_unr"):
        del config["datasets"][name]["dev"]
    with pytest.raises(ConfigError, match="no auxiliary dataset has a dev set"):
        train_multitask(parse_multitask_config(config), tmp_path / "run", data_dir, progress=False)


def test_chen2019_classifies_with_experts_gated_per_sentence(data_dir: Path, tmp_path: Path) -> None:
    """MAN-MoE for zero-resource sentiment (the paper's Amazon reviews setting): attention pooling
    of [F_s; F_p], then the expert predictor, its gate one row per sentence and trained to pick the
    sentence's source language; the model reloads and its gates can be read."""
    from babeltag.encoders.moe_features import ExpertPredictor
    from babeltag.evaluation.gates import gates_command

    config = chen2019_config()
    config["datasets"] = {
        "sent_rel": {**sentiment("syn_rel"), "role": "target", "labelled_sentences": 0},
        "sent_src": sentiment("syn_src"),
        "sent_unr": sentiment("syn_unr"),
    }
    config["model"] = {**TINY_MODEL, "head": {"type": "softmax", "pooling": "attention"}}
    parsed = parse_multitask_config(config)
    summary = train_multitask(parsed, tmp_path / "run", data_dir, progress=False)
    log = [json.loads(line) for line in (tmp_path / "run/train_log.jsonl").read_text().splitlines()]
    epoch = next(r for r in log if r.get("epoch") == 1)
    assert {"gate", "adversarial"} <= set(epoch["loss"]) and "sent_rel" not in epoch["loss"]
    assert "accuracy" in summary["datasets"]["sent_rel"]["test"]

    loaded = load_any_model(tmp_path / "run/model")
    assert isinstance(loaded, LoadedMultiTaskModel)
    head = loaded.model.views["sent_rel"].head
    assert isinstance(head, ClassifierHead) and isinstance(head.projection, ExpertPredictor)
    assert head is loaded.model.views["sent_src"].head  # one classifier C for every language
    test = read_split(parsed.datasets["sent_rel"].single(), "test", data_dir)
    view = load_model(tmp_path / "run/model", dataset="sent_rel")
    predicted = predict_labels(
        view.model, test, view.vocabularies, normaliser_of(view.config), "none", "none", 64
    )
    accuracy = 100 * np.mean([p == [e.label] for p, e in zip(predicted, test, strict=True)])
    assert accuracy == pytest.approx(summary["datasets"]["sent_rel"]["test"]["accuracy"])
    texts = [f"{language}={data_dir}/cls/{language}/test.csv" for language in ("syn_src", "syn_unr")]
    result = gates_command(tmp_path / "run/model", dict(t.split("=") for t in texts), tmp_path / "gates")
    assert set(result["gates"]["predictor"]) == {"syn_src", "syn_unr"}
    assert all(abs(sum(row.values()) - 1) < 1e-5 for row in result["gates"]["predictor"].values())
