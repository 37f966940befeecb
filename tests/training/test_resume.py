"""Checkpoints: a run stopped by Ctrl-C or killed by a crash, then run again with the same command,
ends with exactly the weights, log and scores of a run that was never stopped (on the CPU)."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from babeltag.config import parse_any_config
from babeltag.errors import ConfigError
from babeltag.training import trainer as trainer_module
from babeltag.training.multitask_run import train_multitask
from babeltag.training.run import train
from babeltag.training.trainer import Interrupted

TINY = {
    "word_embedding": {"dim": 8, "unk_dropout": 0.1},
    "char_encoder": {"type": "cnn", "char_dim": 4, "widths": [3], "filters": 4},
    "word_encoder": {"hidden": 8},
    "head": {"type": "crf"},
    "dropout": 0.2,  # dropout and word dropout draw from the global streams the checkpoint must carry
}
TRAINING = {
    "epochs": 3,
    "batch_size": 8,
    "optimizer": {"type": "adam", "lr": 0.01},
    "lr_decay": 0.95,
    "lr_decay_unit": "step",
    "seed": 3,
    "threads": 1,
}


def files(kind: str, language: str, ext: str) -> dict[str, str]:
    return {split: f"{kind}/{language}/{split}.{ext}" for split in ("train", "dev", "test")}


def single_config() -> dict[str, Any]:
    return {
        "data": {
            "format": "conll",
            "tag_scheme": "iob2",
            "language": "syn_src",
            **files("ner", "syn_src", "txt"),
        },
        "model": TINY,
        "training": TRAINING,
    }


def multi_config() -> dict[str, Any]:
    """Two languages mixed by temperature, a separately trained language critic (its own
    optimiser and batches) and the target's unlabelled text: every random stream a run has."""
    ner = {"task": "ner", "format": "conll", "tag_scheme": "iob2"}
    return {
        "datasets": {
            "target": {
                **ner,
                "language": "syn_rel",
                **files("ner", "syn_rel", "txt"),
                "role": "target",
                "labelled_sentences": 20,
                "keep_unlabelled": True,
            },
            "source": {**ner, "language": "syn_src", **files("ner", "syn_src", "txt")},
        },
        "objectives": {"adversarial": {"training": "separate", "critic_steps": 1, "filters": 4, "hidden": 8}},
        "sampling": {"proportions": "temperature", "epoch_unit": "updates", "epoch_size": 5},
        "model": TINY,
        "training": TRAINING,
    }


def sparse_config() -> dict[str, Any]:
    """The multi-dataset run with its word tables updated sparsely (a row-wise optimiser's state)."""
    config = multi_config()
    config["model"] = {**TINY, "word_embedding": {**TINY["word_embedding"], "update": "sparse"}}
    return config


def run(config: dict[str, Any], out: Path, data_dir: Path) -> dict[str, Any]:
    parsed = parse_any_config(config)
    if "datasets" in config:
        return train_multitask(parsed, out, data_dir, progress=False)  # type: ignore[arg-type]
    return train(parsed, out, data_dir, progress=False)  # type: ignore[arg-type]


def fail_at_update(monkeypatch: pytest.MonkeyPatch, update: int, action: Callable[[], None]) -> None:
    """Call ``action`` just before the ``update``-th training update (counting from 1) moves its batch."""
    calls = {"n": 0}
    real = trainer_module.to_device

    def counting(inputs: Any, device: torch.device) -> Any:
        calls["n"] += 1
        if calls["n"] == update:
            action()
        return real(inputs, device)

    monkeypatch.setattr(trainer_module, "to_device", counting)


def crash() -> None:
    raise RuntimeError("the machine went away")


def epochs_logged(out: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    return [entry for entry in lines if "epoch" in entry and "loss" in entry]


def assert_same_run(a: Path, b: Path, summary_a: dict[str, Any], summary_b: dict[str, Any]) -> None:
    weights_a, weights_b = (
        load_file(str(a / "model/model.safetensors")),
        load_file(str(b / "model/model.safetensors")),
    )
    assert weights_a.keys() == weights_b.keys()
    for name in weights_a:
        assert torch.equal(weights_a[name], weights_b[name]), name
    epochs_a, epochs_b = epochs_logged(a), epochs_logged(b)
    assert [e["epoch"] for e in epochs_a] == [e["epoch"] for e in epochs_b]
    assert [e["loss"] for e in epochs_a] == [e["loss"] for e in epochs_b]
    assert [e["dev"] for e in epochs_a] == [e["dev"] for e in epochs_b]
    for key in ("dev", "test", "datasets", "best_epoch"):
        assert summary_a.get(key) == summary_b.get(key)


@pytest.mark.parametrize(
    "make_config",
    [single_config, multi_config, sparse_config],
    ids=["one dataset", "multi-dataset", "sparse word updates"],
)
def test_ctrl_c_mid_epoch_then_resume_is_exact(
    request: pytest.FixtureRequest,
    make_config: Callable[[], dict[str, Any]],
    synthetic_data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = make_config()
    whole = run(config, tmp_path / "whole", synthetic_data_dir)
    # as in a terminal (a background job, e.g. under nohup, starts with Ctrl-C ignored)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    request.addfinalizer(lambda: signal.signal(signal.SIGINT, previous))

    # Ctrl-C in the middle of epoch 2: the update under way finishes, a checkpoint is written
    fail_at_update(monkeypatch, 11, lambda: signal.raise_signal(signal.SIGINT))
    with pytest.raises(Interrupted):
        run(config, tmp_path / "stopped", synthetic_data_dir)
    assert (tmp_path / "stopped/checkpoint.pt").is_file()
    assert not (tmp_path / "stopped/checkpoint.pt.partial").exists()
    monkeypatch.undo()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back

    resumed = run(config, tmp_path / "stopped", synthetic_data_dir)
    assert_same_run(tmp_path / "whole", tmp_path / "stopped", whole, resumed)
    log = (tmp_path / "stopped/train_log.jsonl").read_text()
    assert '"event": "resume"' in log
    assert not (
        tmp_path / "stopped/checkpoint.pt"
    ).exists()  # a finished run keeps its model, not its checkpoint


def test_crash_resumes_from_the_last_checkpoint(
    synthetic_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash loses only the updates since the last checkpoint (here every 4 updates); the
    rerun repeats them from the saved state and lands on the same weights."""
    config = single_config()
    config["training"] = {**TRAINING, "checkpoint_every": 4}
    whole = run(config, tmp_path / "whole", synthetic_data_dir)
    fail_at_update(monkeypatch, 14, crash)
    with pytest.raises(RuntimeError, match="went away"):
        run(config, tmp_path / "crashed", synthetic_data_dir)
    state = torch.load(tmp_path / "crashed/checkpoint.pt", weights_only=False)
    assert (state["run"].epoch, state["run"].current.position) == (2, 4)  # 8 updates an epoch; 12 done
    monkeypatch.undo()
    resumed = run(config, tmp_path / "crashed", synthetic_data_dir)
    assert_same_run(tmp_path / "whole", tmp_path / "crashed", whole, resumed)


def test_epochs_may_grow_on_resume(
    synthetic_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 2-epoch run stopped in its second epoch and resumed with epochs: 3 is the 3-epoch run."""
    config = single_config()
    whole = run(config, tmp_path / "whole", synthetic_data_dir)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    fail_at_update(monkeypatch, 12, lambda: signal.raise_signal(signal.SIGINT))
    try:
        with pytest.raises(Interrupted):
            run({**config, "training": {**TRAINING, "epochs": 2}}, tmp_path / "grown", synthetic_data_dir)
    finally:
        signal.signal(signal.SIGINT, previous)
    monkeypatch.undo()
    resumed = run(config, tmp_path / "grown", synthetic_data_dir)
    assert_same_run(tmp_path / "whole", tmp_path / "grown", whole, resumed)


def test_a_checkpoint_of_another_configuration_is_refused(
    synthetic_data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = single_config()
    fail_at_update(monkeypatch, 10, crash)  # after epoch 1's checkpoint
    with pytest.raises(RuntimeError):
        run(config, tmp_path / "run", synthetic_data_dir)
    monkeypatch.undo()
    changed = {**config, "model": {**TINY, "word_encoder": {"hidden": 10}}}
    with pytest.raises(ConfigError, match=r"model\.word_encoder\.hidden differ"):
        run(changed, tmp_path / "run", synthetic_data_dir)
    # where it runs and for how long may change
    longer = {**config, "training": {**TRAINING, "epochs": 4, "threads": 2}}
    summary = run(longer, tmp_path / "run", synthetic_data_dir)
    assert summary["epochs_run"] == 4
