import pytest
import torch

from babeltag.config import OptimizerConfig, TrainingConfig
from babeltag.training.optim import make_optimizer, make_scheduler


@pytest.mark.parametrize(
    ("kind", "cls"), [("adam", torch.optim.Adam), ("sgd", torch.optim.SGD), ("adagrad", torch.optim.Adagrad)]
)
def test_optimiser_kinds_and_frozen_parameters_left_out(kind: str, cls: type) -> None:
    trained, frozen = (
        torch.nn.Parameter(torch.ones(2)),
        torch.nn.Parameter(torch.ones(2), requires_grad=False),
    )
    optimiser = make_optimizer(
        [trained, frozen], OptimizerConfig(type=kind, lr=0.1, momentum=0.9 if kind == "sgd" else 0)
    )
    assert isinstance(optimiser, cls)
    assert [p for group in optimiser.param_groups for p in group["params"]] == [trained]
    trained.grad = torch.ones(2)
    optimiser.step()
    assert (trained < 1).all()


def test_exponential_decay_every_n_units() -> None:
    # Lin et al. 2018: lr 0.02, times 0.9 every 10,000 steps (here every 2)
    config = TrainingConfig(lr_decay=0.9, lr_decay_every=2, lr_decay_unit="step")
    optimiser = make_optimizer([torch.nn.Parameter(torch.ones(1))], OptimizerConfig(type="sgd", lr=0.02))
    scheduler = make_scheduler(optimiser, config)
    seen = []
    for _ in range(6):
        seen.append(optimiser.param_groups[0]["lr"])
        optimiser.step()
        scheduler.step()
    assert seen == pytest.approx([0.02, 0.02, 0.018, 0.018, 0.0162, 0.0162])
