"""Data-parallel training: 2 gloo processes started by torchrun, each with batch B, end with the
weights of 1 process with batch 2B; a data-parallel run stopped and resumed ends where an
uninterrupted one does; updates are split so each keeps its dataset."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

from babeltag.data.mixing import Schedule
from babeltag.errors import ConfigError
from babeltag.training.distributed import Distributed, Shard, ShardedSource, shard_step
from babeltag.training.trainer import SingleDataset

# float32 sums in another order: DDP averages two half-batch gradients, one process sums one batch
TOLERANCE = 1e-5


def test_shard_step_splits_one_dataset_or_several() -> None:
    assert shard_step([5, 1, 7, 3, 9], 0, 2) == [5, 7, 9]
    assert shard_step([5, 1, 7, 3, 9], 1, 2) == [1, 3]
    step = [("a", [1, 2, 3]), ("b", [4])]
    assert shard_step(step, 0, 2) == [("a", [1, 3]), ("b", [4])]
    assert shard_step(step, 1, 2) == [("a", [2])]  # no empty batch of b


class _Fixed:
    def __init__(self, steps: list[list[int]]) -> None:
        self.steps = steps

    def epoch(self) -> list[list[int]]:
        return self.steps

    def inputs(self, step: list[int]) -> list[int]:
        return step

    def sentences(self, step: list[int]) -> int:
        return len(step)


def test_sharded_source_skips_updates_too_small_to_split_and_weighs_shares() -> None:
    steps = [[0, 1, 2], [3], [4, 5, 6, 7]]
    ranks = [ShardedSource(_Fixed(steps), Distributed(rank=r, world_size=2)) for r in (0, 1)]
    epochs = [source.epoch() for source in ranks]
    assert [shard.step for shard in epochs[0]] == [[0, 2], [4, 6]]
    assert [shard.step for shard in epochs[1]] == [[1], [5, 7]]
    assert ranks[0].skipped == 1
    # DDP averages the two processes' losses; with these scales the average is the batch's mean
    for first, second in zip(*epochs, strict=True):
        scales = [ranks[0].loss_scale(first), ranks[1].loss_scale(second)]
        assert sum(scales) == pytest.approx(2.0)
    assert ranks[0].loss_scale(Shard([0, 2], 3)) == pytest.approx(4 / 3)


def test_a_multi_dataset_schedule_keeps_its_proportions_when_sharded() -> None:
    """Every process sees the same datasets in the same order as one process would."""
    lengths = {"a": np.full(400, 5), "b": np.full(100, 5)}

    def schedule() -> Schedule:
        return Schedule(
            lengths, {"a": 0.8, "b": 0.2}, 8, "alternating", "updates", 50, ["a"], np.random.default_rng(0)
        )

    whole = SingleDatasetLike(schedule())
    epochs = [ShardedSource(SingleDatasetLike(schedule()), Distributed(r, 2)).epoch() for r in (0, 1)]
    names = [[name for name, _ in step] for step in whole.epoch()]
    for epoch in epochs:
        assert [[name for name, _ in shard.step] for shard in epoch] == names
    for shard_0, shard_1 in zip(*epochs, strict=True):
        # halves of each batch (b's last batch of a pass has 4 sentences: 2 + 2)
        assert len(shard_0.step[0][1]) == len(shard_1.step[0][1]) == shard_0.total // 2


class SingleDatasetLike:
    """A Schedule seen as a BatchSource (multitask_run.MultiDatasetSource without tensors)."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule

    def epoch(self) -> list[Any]:
        return self.schedule.epoch()

    def inputs(self, step: Any) -> Any:
        return step

    def sentences(self, step: Any) -> int:
        return sum(len(indices) for _, indices in step)


def test_one_process_needs_no_sharding() -> None:
    with pytest.raises(ConfigError):
        ShardedSource(SingleDataset.__new__(SingleDataset), Distributed())


# ---------------------------------------------------------------------------------------------
# torchrun end to end


def _config(data: dict[str, Any], batch_size: int, **training: Any) -> dict[str, Any]:
    return {
        **data,
        # no dropout: each process draws its own masks, and the comparison is of the arithmetic
        "model": {
            "word_embedding": {"dim": 8},
            "char_encoder": {"type": "cnn", "char_dim": 4, "widths": [3], "filters": 4},
            "word_encoder": {"hidden": 8},
            "head": {"type": "crf"},
            "dropout": 0.0,
        },
        "training": {
            "epochs": 2,
            "batch_size": batch_size,
            "optimizer": {"type": "adam", "lr": 0.01},
            "seed": 1,
            "threads": 1,
            **training,
        },
    }


def _ner(language: str, with_dev: bool = False) -> dict[str, Any]:
    splits = ("train", "dev") if with_dev else ("train",)
    return {
        "task": "ner",
        "format": "conll",
        "tag_scheme": "iob2",
        "language": language,
        **{split: f"ner/{language}/{split}.txt" for split in splits},
    }


def single(batch_size: int, **training: Any) -> dict[str, Any]:
    return _config({"data": _ner("syn_src")}, batch_size, **training)


def sparse_multi(batch_size: int, **training: Any) -> dict[str, Any]:
    """Two datasets whose word tables are updated sparsely (only the batch's rows): an update
    leaves the other dataset's table without a gradient."""
    config = multi(batch_size, **training)
    config["model"]["word_embedding"] = {"dim": 8, "update": "sparse"}
    return config


def multi(batch_size: int, **training: Any) -> dict[str, Any]:
    """Two datasets with their own word tables (parts unused by the other's updates)."""
    return _config(
        {
            "datasets": {
                "target": {**_ner("syn_rel"), "role": "target"},
                "source": _ner("syn_src"),
            },
            "sampling": {"proportions": "proportional", "epoch_unit": "updates", "epoch_size": 6},
        },
        batch_size,
        **training,
    )


def babeltag(
    config: dict[str, Any], out: Path, data_dir: Path, processes: int, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    out.mkdir(parents=True, exist_ok=True)
    path = out.parent / f"{out.name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    command = ["-m", "babeltag", "train", str(path), "--out", str(out), "--data-dir", str(data_dir)]
    command += ["--no-progress"]
    if processes > 1:
        launcher = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
        command = launcher + command
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, *command], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def in_process(config: dict[str, Any], out: Path, data_dir: Path) -> None:
    """One process, without torchrun: the reference run."""
    from babeltag.config import parse_any_config
    from babeltag.training.multitask_run import train_multitask
    from babeltag.training.run import train

    parsed = parse_any_config(config)
    if "datasets" in config:
        train_multitask(parsed, out, data_dir, progress=False)  # type: ignore[arg-type]
    else:
        train(parsed, out, data_dir, progress=False)  # type: ignore[arg-type]


def weights(out: Path) -> dict[str, torch.Tensor]:
    return load_file(str(out / "model/model.safetensors"))


def assert_close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    worst = max((a[k].double() - b[k].double()).abs().max().item() for k in a)
    assert worst < TOLERANCE
    return worst


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from babeltag.data.synthetic import make_language_family, write_corpus

    root = tmp_path_factory.mktemp("ddp") / "data"
    # 64 training sentences: whole batches of 8 (2 x 4), so no update is too small to split
    write_corpus(root, list(make_language_family(seed=0).values()), sizes={"train": 64, "dev": 20}, seed=0)
    return root


@pytest.fixture(scope="module")
def two_processes(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The 2-process runs the tests compare with (each torchrun start costs seconds)."""
    runs = {}
    for name, make in (("single", single), ("multi", multi), ("sparse", sparse_multi)):
        out = tmp_path_factory.mktemp(name) / "two"
        done = babeltag(make(4), out, data_dir, processes=2)
        assert done.returncode == 0, done.stderr[-3000:]
        runs[name] = (out, done)
    return runs


@pytest.mark.parametrize(
    "name", ["single", "multi", "sparse"], ids=["one dataset", "two datasets", "sparse word updates"]
)
def test_two_processes_of_batch_b_equal_one_of_batch_2b(
    name: str, two_processes: dict[str, Any], data_dir: Path, tmp_path: Path
) -> None:
    two_out, two = two_processes[name]
    in_process(
        {"single": single, "multi": multi, "sparse": sparse_multi}[name](8), tmp_path / "one", data_dir
    )
    assert_close(weights(two_out), weights(tmp_path / "one"))
    # one summary (rank 0's), one log, and the logged losses are the whole batches' losses
    assert len([line for line in two.stdout.splitlines() if line.startswith("{")]) == 1
    logs = [
        [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
        for run in (two_out, tmp_path / "one")
    ]
    losses = [[entry["loss"] for entry in log if "loss" in entry] for log in logs]
    for a, b in zip(*losses, strict=True):
        assert a.keys() == b.keys()
        assert all(a[name] == pytest.approx(b[name], rel=1e-5) for name in a)
    assert [e["sentences"] for e in logs[0] if "loss" in e] == [
        e["sentences"] for e in logs[1] if "loss" in e
    ]


def test_a_stopped_data_parallel_run_resumes_exactly(
    two_processes: dict[str, Any], data_dir: Path, tmp_path: Path
) -> None:
    """Ctrl-C to torchrun (it passes SIGINT on to both processes): they agree on the update to
    stop after, rank 0 writes the checkpoint with both processes' state, and the same command
    then finishes the run with the uninterrupted run's weights, bit for bit. (Without dropout, to
    compare with the run above; the random streams' restoring is tested in test_resume.py.)"""
    config = single(4, checkpoint_every=1)
    out = tmp_path / "stopped"
    out.mkdir()
    path = tmp_path / "stopped.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    command += ["-m", "babeltag", "train", str(path), "--out", str(out), "--data-dir", str(data_dir)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen(
        command + ["--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    # wait for the first checkpoint (the run is under way), then Ctrl-C
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.pt").is_file() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=120)
    if not (out / "checkpoint.pt").is_file():
        pytest.skip("the run finished before it could be interrupted")
    log = (out / "train_log.jsonl").read_text()
    assert '"event": "interrupted"' in log
    resumed = babeltag(config, out, data_dir, processes=2)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert '"event": "resume"' in (out / "train_log.jsonl").read_text()
    a, b = weights(two_processes["single"][0]), weights(out)
    assert all(torch.equal(a[k], b[k]) for k in a)
