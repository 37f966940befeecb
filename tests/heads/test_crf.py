"""The CRF against the slow obvious versions: enumerating every tag sequence, and the textbook
log-space recursions with autograd."""

from __future__ import annotations

import itertools

import pytest
import torch

import babeltag.heads.crf as crf_module
from babeltag.heads.crf import (
    FORBIDDEN,
    CRFHead,
    LinearChainCRF,
    _log_partition_log_space,
    _outer_sum,
    _path_score,
    _viterbi_textbook,
)

# --- the fast versions: every test runs with each ----------------------------------------------


@pytest.fixture(autouse=True, params=["compiled", "batched"])
def fast_version(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CPU uses the compiled loops; other devices use the batched versions, tested here on the
    CPU by making them the ones chosen."""
    if request.param == "batched":
        versions = (crf_module._ForwardBackward, crf_module._viterbi_batched)
        monkeypatch.setattr(crf_module, "_fast_versions", lambda device: versions)
    return str(request.param)


# --- helpers ---------------------------------------------------------------------------------------


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _random_crf(num_tags: int, seed: int, constrained: bool = False, scale: float = 1.0) -> LinearChainCRF:
    """A float64 CRF with parameters of a realistic size (not the near-zero initial ones)."""
    allowed = _bio_constraints(num_tags) if constrained else (None, None, None)
    crf = LinearChainCRF(num_tags, *allowed).double()
    generator = _generator(seed)
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.copy_(scale * torch.randn(parameter.shape, generator=generator, dtype=torch.float64))
    return crf


def _bio_constraints(num_tags: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """IOB2-like rules over tags O, B-X, I-X, B-Y, I-Y, ...: I-X only after B-X or I-X. Odd tags
    are B-, even tags from 2 on are I-; the last tag may not end a sentence (an arbitrary extra
    rule, so that end constraints are exercised too)."""
    start = torch.ones(num_tags, dtype=torch.bool)
    transitions = torch.ones(num_tags, num_tags, dtype=torch.bool)
    end = torch.ones(num_tags, dtype=torch.bool)
    for tag in range(2, num_tags, 2):
        start[tag] = False
        transitions[:, tag] = False
        transitions[tag - 1, tag] = True
        transitions[tag, tag] = True
    end[num_tags - 1] = False
    return start, transitions, end


def _batch(
    batch: int, length: int, num_tags: int, seed: int, dtype: torch.dtype = torch.float64, scale: float = 2.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Emissions, tags and a left-aligned mask with lengths 1..T (T itself always included)."""
    generator = _generator(seed)
    emissions = scale * torch.randn(batch, length, num_tags, generator=generator, dtype=dtype)
    tags = torch.randint(num_tags, (batch, length), generator=generator)
    lengths = torch.randint(1, length + 1, (batch,), generator=generator)
    lengths[0] = length
    mask = torch.arange(length) < lengths.unsqueeze(1)
    return emissions, tags, mask


def _every_path(num_tags: int, length: int) -> torch.Tensor:
    return torch.tensor(list(itertools.product(range(num_tags), repeat=length)))


def _brute_force_scores(
    crf: LinearChainCRF, emissions: torch.Tensor, length: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every path of one sentence [N, L] and its score [N], from the definition."""
    start, transitions, end = crf.scores()
    paths = _every_path(crf.num_tags, length)
    scores = start[paths[:, 0]] + end[paths[:, -1]]
    for t in range(length):
        scores = scores + emissions[t, paths[:, t]]
        if t:
            scores = scores + transitions[paths[:, t - 1], paths[:, t]]
    return paths, scores


# --- the partition function ------------------------------------------------------------------------


@pytest.mark.parametrize("constrained", [False, True])
@pytest.mark.parametrize(("num_tags", "length"), [(3, 5), (4, 4), (5, 1)])
def test_log_partition_is_the_sum_over_every_path(constrained: bool, num_tags: int, length: int) -> None:
    crf = _random_crf(num_tags, seed=1, constrained=constrained)
    emissions, _, mask = _batch(6, length, num_tags, seed=2)
    log_z = crf.log_partition(emissions, mask)
    for b, sentence_length in enumerate(mask.sum(1).tolist()):
        _, scores = _brute_force_scores(crf, emissions[b], sentence_length)
        assert log_z[b].item() == pytest.approx(torch.logsumexp(scores, 0).item(), abs=1e-9)


def test_gold_score_and_nll_from_the_definition() -> None:
    crf = _random_crf(4, seed=3, constrained=True)
    emissions, tags, mask = _batch(5, 4, 4, seed=4)
    tags = tags.masked_fill(~mask, -100)  # padding may hold anything
    gold = crf.gold_score(emissions, tags, mask)
    nll = crf.nll(emissions, tags, mask)
    for b, length in enumerate(mask.sum(1).tolist()):
        paths, scores = _brute_force_scores(crf, emissions[b], length)
        index = (paths == tags[b, :length]).all(1).nonzero().item()
        assert gold[b].item() == pytest.approx(scores[index].item(), abs=1e-9)
        assert nll[b].item() == pytest.approx((torch.logsumexp(scores, 0) - scores[index]).item(), abs=1e-9)


def test_long_sentences_rescale_correctly() -> None:
    """Past a few dozen positions the scaled recursion must rescale; compare with log space."""
    crf = _random_crf(6, seed=5, constrained=True)
    emissions, tags, mask = _batch(4, 150, 6, seed=6, scale=4.0)
    expected = _log_partition_log_space(emissions, mask, *crf.scores())
    assert torch.allclose(crf.log_partition(emissions, mask), expected, rtol=0, atol=1e-8)
    expected_nll = expected - _path_score(emissions, tags, mask, *crf.scores())
    assert torch.allclose(crf.nll(emissions, tags, mask), expected_nll, rtol=0, atol=1e-8)


def test_inputs_the_fast_path_cannot_represent_fall_back_to_log_space(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """I-X (tag 2) outscores every other tag by 2000 nats but may not start a sentence: every path
    that is allowed has probability exp(-2000) relative to the best tag, zero in float64."""
    fallbacks = []

    def counted(*args: torch.Tensor) -> torch.Tensor:
        fallbacks.append(True)
        return _log_partition_log_space(*args)

    monkeypatch.setattr(crf_module, "_log_partition_log_space", counted)
    crf = _random_crf(3, seed=7, constrained=True)
    emissions, tags, mask = _batch(3, 5, 3, seed=8)
    emissions[:, :, 2] += 2000.0
    inputs = emissions.clone().requires_grad_()
    nll = crf.nll(inputs, tags, mask)
    assert fallbacks
    expected = _log_partition_log_space(emissions, mask, *crf.scores()) - _path_score(
        emissions, tags, mask, *crf.scores()
    )
    assert torch.isfinite(expected).all()
    assert torch.allclose(nll, expected, rtol=0, atol=1e-8)
    nll.sum().backward()
    assert inputs.grad is not None and torch.isfinite(inputs.grad).all()


def test_float32_agrees_with_float64() -> None:
    crf = _random_crf(5, seed=9)
    emissions, tags, mask = _batch(8, 12, 5, seed=10)
    nll64 = crf.nll(emissions, tags, mask)
    nll32 = crf.float().nll(emissions.float(), tags, mask)
    assert nll32.dtype == torch.float32
    assert torch.allclose(nll32.double(), nll64, rtol=1e-6, atol=1e-5)


# --- gradients -------------------------------------------------------------------------------------


@pytest.mark.parametrize("constrained", [False, True])
def test_gradients_match_autograd_through_the_log_space_version(constrained: bool) -> None:
    crf = _random_crf(5, seed=11, constrained=constrained)
    emissions, tags, mask = _batch(7, 19, 5, seed=12)
    weights = torch.rand(7, generator=_generator(13), dtype=torch.float64)  # a non-uniform upstream gradient

    def gradients(fast: bool) -> list[torch.Tensor]:
        inputs = emissions.clone().requires_grad_()
        crf.zero_grad()
        if fast:
            nll = crf.nll(inputs, tags, mask)
        else:
            nll = _log_partition_log_space(inputs, mask, *crf.scores()) - _path_score(
                inputs, tags, mask, *crf.scores()
            )
        (weights * nll).sum().backward()
        grads = [inputs.grad] + [
            p.grad for p in (crf.start_transitions, crf.transitions, crf.end_transitions)
        ]
        return [g.clone() for g in grads if g is not None]

    for fast, slow in zip(gradients(fast=True), gradients(fast=False), strict=True):
        assert torch.allclose(fast, slow, rtol=0, atol=1e-10)


def test_gradcheck_of_log_partition_and_nll() -> None:
    crf = _random_crf(3, seed=14, constrained=True)
    emissions, tags, mask = _batch(3, 4, 3, seed=15)
    inputs = (emissions.requires_grad_(), *(scores.detach().requires_grad_() for scores in crf.scores()))
    forward_backward, _ = crf_module._fast_versions(emissions.device)

    def fast(with_tags: bool) -> object:
        def value(*inputs: torch.Tensor) -> torch.Tensor:
            result, trusted = forward_backward.apply(
                inputs[0], tags if with_tags else None, mask, *inputs[1:]
            )
            assert trusted
            return result

        return value

    assert torch.autograd.gradcheck(fast(with_tags=False), inputs)
    assert torch.autograd.gradcheck(fast(with_tags=True), inputs)


def test_outer_sum_in_blocks_is_one_product() -> None:
    generator = _generator(26)
    a = torch.randn(50, 4, generator=generator, dtype=torch.float64)
    b = torch.randn(50, 4, generator=generator, dtype=torch.float64)
    threads = torch.get_num_threads()
    try:
        for count in (1, 2):
            torch.set_num_threads(count)
            assert torch.allclose(_outer_sum(a, b, rows=7), a.t() @ b, rtol=0, atol=1e-12)
    finally:
        torch.set_num_threads(threads)


def test_ordinary_inputs_take_the_fast_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every other test would also pass if the fast paths always declined; make sure they do not."""

    def refuse(*args: object) -> None:
        raise AssertionError("fell back")

    monkeypatch.setattr(crf_module, "_log_partition_log_space", refuse)
    monkeypatch.setattr(crf_module, "_viterbi_textbook", refuse)
    crf = _random_crf(6, seed=24, constrained=True, scale=3.0)
    emissions, tags, mask = _batch(32, 60, 6, seed=25, scale=10.0)
    crf.nll(emissions, tags, mask)
    crf.viterbi(emissions, mask)


def test_the_cpu_uses_the_compiled_loops_and_other_devices_the_batched_versions(fast_version: str) -> None:
    if fast_version == "batched":
        pytest.skip("the fixture chose the batched versions for every device")
    cpu = crf_module._fast_versions(torch.device("cpu"))
    assert cpu == (crf_module._CompiledForwardBackward, crf_module._viterbi_compiled)
    assert crf_module._fast_versions(torch.device("meta")) == (
        crf_module._ForwardBackward,
        crf_module._viterbi_batched,
    )


# --- Viterbi ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("constrained", [False, True])
@pytest.mark.parametrize(("num_tags", "length"), [(3, 5), (4, 4), (4, 1)])
def test_viterbi_is_the_best_of_every_path(constrained: bool, num_tags: int, length: int) -> None:
    crf = _random_crf(num_tags, seed=16, constrained=constrained)
    emissions, _, mask = _batch(8, length, num_tags, seed=17)
    paths, scores = crf.viterbi_with_scores(emissions, mask)
    for b, sentence_length in enumerate(mask.sum(1).tolist()):
        every, every_score = _brute_force_scores(crf, emissions[b], sentence_length)
        assert paths[b, :sentence_length].tolist() == every[every_score.argmax()].tolist()
        assert paths[b, sentence_length:].tolist() == [0] * (length - sentence_length)
        assert scores[b].item() == pytest.approx(every_score.max().item(), abs=1e-9)


def test_viterbi_agrees_with_the_textbook_version_on_larger_inputs() -> None:
    crf = _random_crf(9, seed=18, constrained=True).float()
    emissions, _, mask = _batch(64, 40, 9, seed=19, dtype=torch.float32)
    paths, scores = crf.viterbi_with_scores(emissions, mask)
    expected_paths, expected_scores = _viterbi_textbook(emissions, mask, *crf.scores())
    assert torch.equal(paths, expected_paths)
    assert torch.equal(scores, expected_scores)


def test_viterbi_with_ties_returns_a_best_path(monkeypatch: pytest.MonkeyPatch, fast_version: str) -> None:
    """Paths 0 1 and 1 0 tie for best. Tag 0 and tag 1 each lie on a best path at both positions,
    so the batched version's per-position argmaxes give 0 0, which is not a best path: its exact
    check must catch it. The compiled loops follow back-pointers and need no fallback."""
    fallbacks = []

    def counted(*args: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fallbacks.append(True)
        return _viterbi_textbook(*args)

    monkeypatch.setattr(crf_module, "_viterbi_textbook", counted)
    crf = LinearChainCRF(2).double()
    with torch.no_grad():
        crf.transitions.copy_(torch.tensor([[0.0, 1.0], [1.0, 0.0]]))
        crf.start_transitions.zero_()
        crf.end_transitions.zero_()
    paths, scores = crf.viterbi_with_scores(
        torch.zeros(1, 2, 2, dtype=torch.float64), torch.ones(1, 2, dtype=torch.bool)
    )
    assert bool(fallbacks) == (fast_version == "batched")
    assert paths.tolist() in ([[0, 1]], [[1, 0]])
    assert scores.tolist() == [1.0]


def test_forbidden_moves_never_win_even_when_emissions_favour_them() -> None:
    num_tags = 5
    start, transitions, end = _bio_constraints(num_tags)
    crf = LinearChainCRF(num_tags, start, transitions, end)
    emissions = torch.zeros(4, 6, num_tags)
    emissions[:, :, 4] = 50.0  # I-Y (tag 4) everywhere: it may not start, follow O or B-X, nor end
    emissions[:, 3, 1] = 80.0  # and B-X in the middle, which I-Y may not follow
    mask = torch.ones(4, 6, dtype=torch.bool)
    mask[2, 4:] = False
    paths = crf.viterbi(emissions, mask)
    for b, length in enumerate(mask.sum(1).tolist()):
        path = paths[b, :length].tolist()
        assert start[path[0]] and end[path[-1]]
        assert all(transitions[i, j] for i, j in itertools.pairwise(path))


def test_constraints_cannot_be_learned_back() -> None:
    """Training data that keeps using a forbidden move (O I-X) must not make it allowed."""
    crf = LinearChainCRF(3, *_bio_constraints(3))
    optimiser = torch.optim.SGD(crf.parameters(), lr=100.0)
    emissions = torch.zeros(1, 2, 3)
    mask = torch.ones(1, 2, dtype=torch.bool)
    for _ in range(5):
        optimiser.zero_grad()
        crf.nll(emissions, torch.tensor([[0, 2]]), mask).sum().backward()
        assert crf.transitions.grad is not None and crf.transitions.grad[0, 2] == 0
        optimiser.step()
    assert crf.scores()[1][0, 2].item() == FORBIDDEN
    assert crf.viterbi(emissions, mask).tolist() != [[0, 2]]
    assert {"start_forbidden", "transitions_forbidden", "end_forbidden"} <= set(crf.state_dict())


def test_wrong_constraint_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match="allowed_transitions"):
        LinearChainCRF(3, allowed_transitions=torch.ones(3, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="allowed_start"):
        LinearChainCRF(3, allowed_start=torch.ones(3))


# --- the head --------------------------------------------------------------------------------------


def _hamming_brute_force(crf: LinearChainCRF, emissions: torch.Tensor, gold: list[int], cost: float) -> float:
    paths, scores = _brute_force_scores(crf, emissions, len(gold))
    hamming = (paths != torch.tensor(gold)).sum(1).to(scores.dtype)
    index = (paths == torch.tensor(gold)).all(1).nonzero().item()
    return (torch.logsumexp(scores + cost * hamming, 0) - scores[index]).item()


def test_softmax_margin_is_the_cost_augmented_nll() -> None:
    generator = _generator(20)
    plain = CRFHead(6, 4, *_bio_constraints(4)).double()
    margin = CRFHead(6, 4, *_bio_constraints(4), softmax_margin=1.5).double()
    margin.load_state_dict(plain.state_dict())
    features = torch.randn(3, 4, 6, generator=generator, dtype=torch.float64)
    labels = torch.tensor([[0, 1, 2, 0], [3, 0, 0, 0], [1, 2, 2, 3]])
    mask = torch.tensor([[True] * 4, [True, False, False, False], [True, True, True, False]])

    emissions = plain.emissions(features)
    expected_plain = plain.crf.nll(emissions, labels, mask).mean()
    assert plain.loss(features, labels, mask).item() == pytest.approx(expected_plain.item(), abs=1e-10)
    zero = CRFHead(6, 4, *_bio_constraints(4), softmax_margin=0.0).double()
    zero.load_state_dict(plain.state_dict())
    assert zero.loss(features, labels, mask).item() == pytest.approx(expected_plain.item(), abs=1e-10)

    expected = sum(
        _hamming_brute_force(plain.crf, emissions[b], labels[b, :length].tolist(), 1.5)
        for b, length in enumerate(mask.sum(1).tolist())
    ) / len(labels)
    assert margin.loss(features, labels, mask).item() == pytest.approx(expected, abs=1e-9)
    assert margin.loss(features, labels, mask).item() >= plain.loss(features, labels, mask).item()
    assert torch.equal(margin.decode(features, mask), plain.decode(features, mask))


def test_head_learns_a_toy_tagging_problem() -> None:
    """Chunks where the first feature is positive, tagged O / B-X / I-X (tags 0 / 1 / 2). Whether a
    chunk word is B- or I- depends on its neighbour, which only the transitions can see."""
    torch.manual_seed(0)
    generator = _generator(21)
    features = torch.randn(32, 10, 2, generator=generator)
    inside = features[:, :, 0] > 0
    begins = inside & ~torch.cat((torch.zeros(32, 1, dtype=torch.bool), inside[:, :-1]), dim=1)
    labels = torch.where(begins, 1, torch.where(inside, 2, 0))
    mask = torch.arange(10) < torch.randint(3, 11, (32, 1), generator=generator)
    head = CRFHead(2, 3, *_bio_constraints(3)[:2], softmax_margin=0.5)
    optimiser = torch.optim.Adam(head.parameters(), lr=0.1)
    losses = []
    for _ in range(30):
        optimiser.zero_grad()
        loss = head.loss(features, labels, mask)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]
    predicted = head.decode(features, mask)
    assert predicted.shape == labels.shape and predicted.dtype == torch.long
    assert (predicted[mask] == labels[mask]).float().mean() > 0.9
    assert head.input_dim == 2 and head.num_labels == 3


# --- the reference implementation ------------------------------------------------------------------


def test_agrees_with_pytorch_crf() -> None:
    torchcrf = pytest.importorskip("torchcrf")
    crf = _random_crf(7, seed=22)
    theirs = torchcrf.CRF(7, batch_first=True).double()
    theirs.load_state_dict({name: value for name, value in crf.state_dict().items()})
    emissions, tags, mask = _batch(16, 11, 7, seed=23)

    ours_in, theirs_in = emissions.clone().requires_grad_(), emissions.clone().requires_grad_()
    ours_nll = crf.nll(ours_in, tags, mask)
    theirs_nll = -theirs(theirs_in, tags, mask, reduction="none")
    assert torch.allclose(ours_nll, theirs_nll, rtol=0, atol=1e-10)
    ours_nll.sum().backward()
    theirs_nll.sum().backward()
    assert ours_in.grad is not None and theirs_in.grad is not None
    assert torch.allclose(ours_in.grad, theirs_in.grad, rtol=0, atol=1e-10)
    for name, parameter in crf.named_parameters():
        assert torch.allclose(parameter.grad, getattr(theirs, name).grad, rtol=0, atol=1e-10)

    paths = crf.viterbi(emissions, mask).tolist()
    lengths = mask.sum(1).tolist()
    assert [path[:length] for path, length in zip(paths, lengths, strict=True)] == theirs.decode(
        emissions, mask
    )
