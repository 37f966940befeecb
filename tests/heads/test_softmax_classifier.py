import torch
import torch.nn.functional as F

from babeltag.heads.classifier import ClassifierHead, Pooling
from babeltag.heads.softmax import SoftmaxHead


def test_softmax_loss_ignores_padding_and_is_per_sentence() -> None:
    torch.manual_seed(0)
    head = SoftmaxHead(4, 3)
    features = torch.randn(2, 3, 4)
    labels = torch.tensor([[0, 1, 2], [2, 0, 0]])
    mask = torch.tensor([[True, True, True], [True, False, False]])
    expected = (
        F.cross_entropy(head.scores(features[0]), labels[0], reduction="sum")
        + F.cross_entropy(head.scores(features[1, :1]), labels[1, :1], reduction="sum")
    ) / 2
    assert torch.allclose(head.loss(features, labels, mask), expected)
    assert head.decode(features, mask)[1, 1:].tolist() == [0, 0]


def test_pooling_kinds_against_obvious_versions() -> None:
    torch.manual_seed(0)
    states = torch.randn(2, 4, 3)
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    assert torch.allclose(Pooling(3, "max")(states, mask)[0], states[0, :2].max(0).values)
    assert torch.allclose(Pooling(3, "mean")(states, mask)[0], states[0, :2].mean(0))
    attention = Pooling(3, "attention")
    assert attention.query is not None
    weights = torch.softmax(states[0, :2] @ attention.query, dim=0)
    assert torch.allclose(attention(states, mask)[0], (weights[:, None] * states[0, :2]).sum(0), atol=1e-6)


def test_classifier_learns_a_separable_toy_problem() -> None:
    torch.manual_seed(0)
    head = ClassifierHead(2, 2, pooling="mean", hidden_dim=8)
    features = torch.randn(64, 5, 2)
    labels = (features[:, :, 0].mean(1) > 0).long()
    mask = torch.ones(64, 5, dtype=torch.bool)
    optimiser = torch.optim.Adam(head.parameters(), lr=0.05)
    for _ in range(100):
        optimiser.zero_grad()
        head.loss(features, labels, mask).backward()
        optimiser.step()
    assert (head.decode(features, mask) == labels).float().mean() > 0.9


def test_a_text_without_tokens_pools_to_zero_and_keeps_the_loss_finite() -> None:
    """An empty CSV text (sentiment-typology bg/train.csv has one) is a row with no real token."""
    torch.manual_seed(0)
    states = torch.randn(2, 3, 4, requires_grad=True)
    mask = torch.tensor([[True, True, False], [False, False, False]])
    for kind in Pooling.KINDS:
        pooled = Pooling(4, kind)(states, mask)
        assert torch.equal(pooled[1], torch.zeros(4)), kind
        head = ClassifierHead(4, 2, pooling=kind)
        loss = head.loss(states, torch.tensor([0, 1]), mask)
        loss.backward()
        assert torch.isfinite(loss) and states.grad is not None and torch.isfinite(states.grad).all(), kind
        states.grad = None
