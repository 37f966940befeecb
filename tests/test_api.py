"""The Python API on tiny models saved from SYNTHETIC data: ``babeltag.load``, ``tag``, ``classify``;
its labels are the prediction code's, its scores are checked by hand; the code in docs/api.md runs."""

from __future__ import annotations

import itertools
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

import babeltag
from babeltag.api import Classified, Classifier, Tagged, Tagger, split_punctuation
from babeltag.data import tag_schemes
from babeltag.data.batching import TensorDataset
from babeltag.data.datasets import normaliser_of
from babeltag.data.example import Example
from babeltag.data.synthetic import make_language_family, write_corpus
from babeltag.errors import ConfigError, ModelArchiveError
from babeltag.heads.crf import CRFHead
from babeltag.heads.softmax import SoftmaxHead
from babeltag.models.build import training_scheme
from babeltag.models.predict import predict_labels

DOCS = Path(__file__).resolve().parents[1] / "docs" / "api.md"

NER = {
    "task": "ner",
    "language": "syn_src",
    "format": "conll",
    "train": "ner/syn_src/train.txt",
    "tag_scheme": "iob2",
}
POS = {"task": "upos", "language": "syn_src", "format": "conllu", "train": "ud/syn_src/train.conllu"}
SENTIMENT = {"task": "sentiment", "language": "syn_src", "format": "csv", "train": "cls/syn_src/train.csv"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, save_tiny_model: Callable[..., Path]) -> Path:
    """A folder laid out like the one docs/api.md uses: runs/{ner-es,upos-en,sentiment-en}/model."""
    root = tmp_path_factory.mktemp("api")
    data = root / "data"
    write_corpus(
        data, [make_language_family(seed=0)["source"]], sizes={"train": 30, "dev": 5, "test": 5}, seed=0
    )
    # NER trained in BIOES on IOB2 files, like the documented models
    save_tiny_model(NER, "crf", data, root / "runs/ner-es/model", train_scheme="bioes")
    save_tiny_model(POS, "softmax", data, root / "runs/upos-en/model")
    save_tiny_model(SENTIMENT, "classifier", data, root / "runs/sentiment-en/model")
    (root / "noticias.txt").write_text("Juan Carlos visita Madrid .\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def tagger(runs: Path) -> Tagger:
    loaded = babeltag.load(runs / "runs/ner-es/model")
    assert isinstance(loaded, Tagger)
    return loaded


TEXTS = ["Nieda pus Sikuv, o Punum!", "", "kir menmo (pus) Bivtukru.", "   ", "bo"]


def test_import_babeltag_stays_light() -> None:
    code = "import sys, babeltag; assert 'torch' not in sys.modules; babeltag.load; assert 'torch' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_load_gives_a_tagger_or_a_classifier(runs: Path, tagger: Tagger) -> None:
    assert (tagger.task, tagger.language, tagger.tag_scheme) == ("ner", "syn_src", "iob2")
    assert "S-PER" in tagger.labels  # the model decodes in BIOES
    assert repr(tagger).startswith("Tagger(task='ner'")
    assert isinstance(babeltag.load(runs / "runs/upos-en/model"), Tagger)
    assert isinstance(babeltag.load(str(runs / "runs/sentiment-en/model")), Classifier)
    with pytest.raises(ModelArchiveError, match="single-task model has no datasets"):
        babeltag.load(runs / "runs/ner-es/model", dataset="ner_nl")


def test_tag_gives_the_prediction_codes_labels_with_spans_and_probabilities(tagger: Tagger) -> None:
    tagged = tagger.tag(TEXTS)
    assert [t.tokens for t in tagged] == [
        ["Nieda", "pus", "Sikuv", ",", "o", "Punum", "!"],
        [],
        ["kir", "menmo", "(", "pus", ")", "Bivtukru", "."],
        [],
        ["bo"],
    ]
    assert tagged[1] == Tagged(tokens=[], labels=[], scores=[], spans=[])
    loaded = tagger.loaded
    examples = [Example(tokens=t.tokens, language="syn_src", task="ner") for t in tagged if t.tokens]
    expected = predict_labels(
        loaded.model,
        examples,
        loaded.vocabularies,
        normaliser_of(loaded.config),
        training_scheme(loaded.config),
        "iob2",
    )
    assert [t.labels for t in tagged if t.tokens] == expected
    for sentence in tagged:
        assert sentence.spans == tag_schemes.to_spans(sentence.labels, "iob2")
        assert len(sentence.scores) == len(sentence.tokens) and all(
            0 < p <= 1 + 1e-6 for p in sentence.scores
        )
        assert str(sentence) == " ".join(
            f"{a}/{b}" for a, b in zip(sentence.tokens, sentence.labels, strict=True)
        )
    assert tagger.tag([]) == [] and tagger.tag_tokens([]) == []
    assert tagger.tag_tokens([t.tokens for t in tagged]) == tagged


def brute_force_marginals(head: CRFHead, emissions: torch.Tensor) -> torch.Tensor:
    start, transitions, end = (s.double() for s in head.crf.scores())
    length, k = emissions.shape
    weights = torch.zeros(length, k, dtype=torch.float64)
    for path in itertools.product(range(k), repeat=length):
        score = start[path[0]] + end[path[-1]] + sum(emissions[t, y] for t, y in enumerate(path))
        score = score + sum(transitions[a, b] for a, b in itertools.pairwise(path))
        for t, y in enumerate(path):
            weights[t, y] += math.exp(float(score))
    return weights / weights[0].sum()


def model_outputs(tagger: Tagger, tokens: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's label scores for one sentence ``[T, K]`` (emissions or logits), and its label ids."""
    loaded = tagger.loaded
    dataset = TensorDataset(
        [Example(tokens=tokens, language="syn_src", task="x")],
        loaded.vocabularies,
        normaliser_of(loaded.config),
        None,
    )
    batch = dataset.batch([0])
    with torch.no_grad():
        scores = loaded.model.head.projection(loaded.model.encode(batch))  # type: ignore[operator]
    return scores[0].double(), loaded.model.predict(batch)[0]


def test_crf_scores_are_the_marginals_of_the_viterbi_labels(tagger: Tagger) -> None:
    tokens = ["Nieda", "pus", "Sikuv"]
    head = tagger.loaded.model.head
    assert isinstance(head, CRFHead)
    emissions, path = model_outputs(tagger, tokens)
    with torch.no_grad():
        marginals = brute_force_marginals(head, emissions)
    [tagged] = tagger.tag_tokens([tokens])
    expected = [float(marginals[t, y]) for t, y in enumerate(path.tolist())]
    assert tagged.scores == pytest.approx(expected, abs=1e-5)


def test_softmax_scores_are_the_largest_softmax_probability(runs: Path) -> None:
    pos = babeltag.load(runs / "runs/upos-en/model")
    assert isinstance(pos, Tagger) and isinstance(pos.loaded.model.head, SoftmaxHead)
    tokens = ["kir", "menmo", "pus", "Bivtukru", "."]
    logits, _ = model_outputs(pos, tokens)
    [tagged] = pos.tag_tokens([tokens])
    assert tagged.scores == pytest.approx(logits.softmax(dim=-1).amax(dim=-1).tolist(), abs=1e-6)
    assert tagged.spans == []  # POS tags are not spans (scheme "none")


def test_split_punctuation() -> None:
    assert split_punctuation("Hello, (big) world!") == ["Hello", ",", "(", "big", ")", "world", "!"]
    assert split_punctuation("don't Jean-Pierre 3.5 U.S. ... «Sí»") == [
        *["don't", "Jean-Pierre", "3.5", "U.S", "."],
        *[".", ".", "."],
        *["«", "Sí", "»"],
    ]
    assert split_punctuation("  \t\n") == [] and split_punctuation("$5") == ["$", "5"]


def test_the_tokenizer_is_replaceable(runs: Path, tagger: Tagger) -> None:
    by_space = babeltag.load(runs / "runs/ner-es/model", tokenizer=str.split)
    assert by_space.tokenizer is str.split
    assert [t.tokens for t in by_space.tag(["a,b c."])] == [["a,b", "c."]]  # type: ignore[union-attr]
    tagger.tokenizer = lambda text: list(text.replace(" ", ""))
    try:
        assert tagger.tag(["ab c"])[0].tokens == ["a", "b", "c"]
    finally:
        tagger.tokenizer = split_punctuation


def test_one_string_instead_of_a_list_is_an_error(tagger: Tagger) -> None:
    with pytest.raises(TypeError, match="wrap it in a list"):
        tagger.tag("Nieda pus Sikuv")
    with pytest.raises(TypeError, match="not a list of tokens"):
        tagger.tag_tokens(["Nieda pus Sikuv"])


def test_classify_gives_the_label_and_every_class_probability(runs: Path) -> None:
    classifier = babeltag.load(runs / "runs/sentiment-en/model")
    assert isinstance(classifier, Classifier)
    results = classifier.classify(["viipenti beridteeka kuvmonoutu .", "", "bo vidviti Pateka ."])
    assert results[1] == Classified(label=None, probabilities={})
    for result in (results[0], results[2]):
        assert set(result.probabilities) == {"negative", "positive"}
        assert sum(result.probabilities.values()) == pytest.approx(1)
        assert result.label == next(iter(result.probabilities))  # most probable first
        probabilities = list(result.probabilities.values())
        assert probabilities == sorted(probabilities, reverse=True)
    assert classifier.classify([]) == []
    assert classifier.classify_tokens([["bo", "vidviti", "Pateka", "."]]) == [results[2]]


def test_the_code_in_docs_api_md_runs(
    runs: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = re.findall(r"^```python\n(.*?)^```", DOCS.read_text(encoding="utf-8"), re.DOTALL | re.MULTILINE)
    assert len(blocks) >= 5
    monkeypatch.chdir(runs)
    namespace: dict[str, Any] = {}
    for number, code in enumerate(blocks, start=1):
        exec(compile(code, f"{DOCS.name} python block {number}", "exec"), namespace)
    assert "labelled 1 sentences" in capsys.readouterr().err
    assert (runs / "noticias.tagged.txt").read_text(encoding="utf-8").count("/") == 5


def test_a_device_is_chosen_at_load(runs: Path, tagger: Tagger) -> None:
    """auto means the GPU when there is one (here: none, so the CPU, with the same labels);
    asking for CUDA on a machine without it is refused with the way out."""
    on_auto = babeltag.load(runs / "runs/ner-es/model", device="auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert next(on_auto.loaded.model.parameters()).device.type == expected
    assert [t.labels for t in on_auto.tag(TEXTS)] == [t.labels for t in tagger.tag(TEXTS)]
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA device; use cpu or auto"):
            babeltag.load(runs / "runs/ner-es/model", device="cuda:0")
