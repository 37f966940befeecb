"""Device and precision settings: what is asked for is what is used, or a refusal that says why."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from babeltag.config import parse_config
from babeltag.data.batching import Batch
from babeltag.errors import ConfigError
from babeltag.training.devices import Precision, resolve_device, to_device

needs_no_gpu = pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks the refusals of a machine without CUDA"
)


def test_cpu_and_auto() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


@needs_no_gpu
def test_cuda_without_a_gpu_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError, match="training.device: 'cuda:1'.*no CUDA device"):
        resolve_device("cuda:1")


@needs_no_gpu
@pytest.mark.parametrize("mode", ["bf16", "fp16"])
def test_mixed_precision_is_for_cuda(mode: str) -> None:
    with pytest.raises(ConfigError, match=f"mixed_precision: {mode} is for CUDA"):
        Precision(mode, torch.device("cpu"))


def test_float32_precision_is_a_plain_update() -> None:
    """off: no autocast, no scaler; backward and step are the optimiser's own."""
    weight = torch.nn.Parameter(torch.tensor([1.0]))
    optimizer = torch.optim.SGD([weight], lr=0.5)
    precision = Precision("off", torch.device("cpu"))
    with precision.autocast():
        loss = (weight * 2.0).sum()
    assert loss.dtype == torch.float32
    precision.backward(loss)
    precision.unscale(optimizer)
    precision.step(optimizer)
    assert weight.item() == pytest.approx(0.0) and precision.state_dict() == {}


def test_cpu_inputs_stay_where_they_are() -> None:
    batch = Batch(*(torch.zeros(1, 1, dtype=torch.long) for _ in range(5)), label_ids=None, indices=[0])
    assert to_device(batch, torch.device("cpu")) is batch
    assert to_device([("a", batch)], torch.device("cpu"))[0][1] is batch


@pytest.mark.parametrize("value", ["gpu", "cuda:x", "CPU", "cuda:"])
def test_a_device_name_is_checked_with_the_config(value: str) -> None:
    with pytest.raises(ConfigError, match="training.device"):
        parse_config({"data": {"language": "xx", "train": "t.conllu"}, "training": {"device": value}})


@needs_no_gpu
def test_a_run_that_cannot_get_its_device_writes_nothing(synthetic_data_dir: Path, tmp_path: Path) -> None:
    from babeltag.training.run import train

    config = parse_config(
        {
            "data": {"language": "syn_src", "train": "ud/syn_src/train.conllu"},
            "model": {
                "word_embedding": {"dim": 4},
                "char_encoder": {"type": "none"},
                "word_encoder": {"hidden": 4},
            },
            "training": {"device": "cuda", "epochs": 1},
        }
    )
    with pytest.raises(ConfigError, match="no CUDA device"):
        train(config, tmp_path / "run", synthetic_data_dir, progress=False)
    assert not (tmp_path / "run").exists()
