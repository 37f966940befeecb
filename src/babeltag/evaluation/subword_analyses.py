"""What a multilingual subword encoder shares between languages (Pires et al. 2019).

* Entity piece overlap: do the entities of the fine-tuning language and of the evaluation language
  share subword pieces? Pires et al. ask whether zero-shot NER F1 follows that overlap (it does
  only weakly for mBERT: transfer works even between scripts).
* Translation retrieval per layer: a sentence vector is the mean of its pieces' states at a layer;
  the nearest neighbour of an English PUD sentence among the sentences of language X (after
  removing each language's mean vector) should be its translation. Accuracy per layer says where
  the encoder's representations are most language-neutral.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from babeltag.data.example import Example
from babeltag.data.raw_text import pud_split, read_pud
from babeltag.data.subwords import SubwordVocabulary
from babeltag.data.tag_schemes import to_spans
from babeltag.encoders.pretrained import PretrainedEncoder, load_encoder
from babeltag.evaluation.plots import new_figure, save_png
from babeltag.evaluation.retrieval import translation_retrieval_accuracy
from babeltag.training.pretrain import mlm_batch, with_specials


def entity_pieces(vocabulary: SubwordVocabulary, examples: Sequence[Example], scheme: str) -> set[str]:
    """The subword pieces of every entity mention (its words, as the encoder would cut them)."""
    pieces: set[str] = set()
    for example in examples:
        for _, start, end in to_spans(example.labels or [], scheme):
            pieces.update(vocabulary.pieces(example.tokens[start:end]))
    return pieces


def piece_overlap(train: set[str], evaluation: set[str]) -> float:
    """Pires et al.'s overlap ``|E_train ∩ E_eval| / (|E_train| + |E_eval|)``: 0.5 when the sets
    are identical, 0 when they share nothing."""
    total = len(train) + len(evaluation)
    return len(train & evaluation) / total if total else 0.0


@torch.no_grad()
def sentence_vectors(
    pretrained: PretrainedEncoder, sentences: Sequence[Sequence[str]], language: str, batch_size: int = 64
) -> list[np.ndarray]:
    """One ``[N, D]`` matrix per layer (0 = embeddings): the mean state of each sentence's pieces."""
    encoder = pretrained.encoder.eval()
    limit = encoder.max_positions
    encoded = [with_specials(p, limit) for p in pretrained.vocabulary.encode_batch(sentences)]
    per_layer: list[list[np.ndarray]] = []
    for start in range(0, len(encoded), batch_size):
        batch = mlm_batch(encoded[start : start + batch_size], pretrained.language_id(language))
        states = encoder.hidden_states(batch.piece_ids, batch.mask, batch.language_ids, batch.position_ids)
        # the pieces of the sentence itself, without <s> and </s>
        inside = (batch.maskable | (batch.mask & (batch.piece_ids == SubwordVocabulary.unk_id))).unsqueeze(-1)
        counts = inside.sum(dim=1).clamp(min=1)
        if not per_layer:
            per_layer = [[] for _ in states]
        for layer, state in enumerate(states):
            per_layer[layer].append(((state * inside).sum(dim=1) / counts).numpy())
    return [np.concatenate(chunks) for chunks in per_layer]


def retrieval_by_layer(
    encoder_dir: str | Path, data_dir: str | Path, languages: Sequence[str], pivot: str = "en"
) -> dict[str, list[float]]:
    """Accuracy of finding the translation of each pivot sentence among language X's sentences,
    per layer, on PUD's ``probe`` half (never seen as a pair in translation-LM pretraining)."""
    pretrained = load_encoder(encoder_dir)
    corpus = read_pud(data_dir, [pivot, *[x for x in languages if x != pivot]])
    _, probe = pud_split(corpus[pivot])
    source = sentence_vectors(pretrained, [corpus[pivot][i] for i in probe], pivot)
    result = {}
    for language in languages:
        if language == pivot:
            continue
        target = sentence_vectors(pretrained, [corpus[language][i] for i in probe], language)
        result[language] = [translation_retrieval_accuracy(s, t) for s, t in zip(source, target, strict=True)]
    return result


def plot_retrieval_by_layer(
    accuracy: Mapping[str, Sequence[float]], path: str | Path, title: str = ""
) -> Path:
    figure = new_figure(7.0, 4.5, path)
    axes = figure.add_subplot()
    for language, values in sorted(accuracy.items()):
        axes.plot(range(len(values)), [100 * v for v in values], marker="o", label=language)
    axes.set_xlabel("layer (0 = embeddings)")
    axes.set_ylabel("translation retrieval accuracy (%)")
    axes.set_title(title or "nearest-neighbour translation retrieval on PUD, per layer")
    axes.legend(ncol=3, fontsize="small")
    axes.grid(alpha=0.3)
    return save_png(figure, path)


def plot_f1_against_overlap(
    points: Sequence[tuple[str, str, float, float]], path: str | Path, title: str = ""
) -> Path:
    """``(train language, evaluation language, overlap, F1)`` per pair, as a labelled scatter."""
    figure = new_figure(6.0, 4.5, path)
    axes = figure.add_subplot()
    for train, evaluation, overlap, f1 in points:
        axes.scatter([overlap], [f1], color="tab:blue")
        axes.annotate(
            f"{train}→{evaluation}",
            (overlap, f1),
            fontsize="small",
            xytext=(3, 3),
            textcoords="offset points",
        )
    axes.set_xlabel("entity subword overlap |E_train ∩ E_eval| / (|E_train| + |E_eval|)")
    axes.set_ylabel("zero-shot F1")
    axes.set_title(title or "zero-shot NER F1 against entity subword overlap")
    axes.grid(alpha=0.3)
    return save_png(figure, path)


def retrieval_command(
    encoder_dir: str | Path,
    data_dir: str | Path,
    languages: Sequence[str] | None,
    out: str | Path,
    pivot: str = "en",
) -> dict[str, list[float]]:
    """``babeltag encoder retrieval``: the accuracies as JSON and the per-layer plot."""
    import json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not languages:
        languages = sorted(p.name for p in (Path(data_dir) / "ud-pud").iterdir() if p.is_dir())
    accuracy = retrieval_by_layer(encoder_dir, data_dir, languages, pivot)
    (out / "retrieval.json").write_text(json.dumps(accuracy, indent=1), encoding="utf-8")
    plot_retrieval_by_layer(
        accuracy, out / "retrieval_by_layer.png", f"{pivot} → X translation retrieval, PUD probe half"
    )
    return accuracy


def zero_shot_average(scores: Mapping[str, Mapping[str, float]], source: str) -> float:
    """The mean score of a source's model over every *other* language (the zero-shot average)."""
    return float(np.mean([value for target, value in scores[source].items() if target != source]))


def zero_shot_table(result: Mapping[str, object], baseline: Mapping[str, object] | None = None) -> str:
    """A markdown table of a transfer matrix (rows: fine-tuning language, columns: evaluation
    language, last column the zero-shot average); with a baseline, each cell is ``score (+gain)``
    and a final row gives the mean gain."""
    scores = result["scores"]
    assert isinstance(scores, Mapping)
    base_scores = baseline["scores"] if baseline is not None else None
    assert base_scores is None or isinstance(base_scores, Mapping)
    targets = list(result["languages"])  # type: ignore[call-overload]
    lines = [
        "| fine-tuned on | " + " | ".join(targets) + " | zero-shot avg |",
        "|---|" + "---:|" * (len(targets) + 1),
    ]
    gains = []
    for source in scores:
        cells = []
        for target in [*targets, "avg"]:
            value = zero_shot_average(scores, source) if target == "avg" else scores[source][target]
            text = f"{value:.1f}"
            if base_scores is not None and source in base_scores:
                reference = (
                    zero_shot_average(base_scores, source) if target == "avg" else base_scores[source][target]
                )
                text += f" ({value - reference:+.1f})"
                if target == "avg":
                    gains.append(value - reference)
            cells.append(f"**{text}**" if target == source else text)
        lines.append(f"| {source} | " + " | ".join(cells) + " |")
    if gains:
        lines.append(f"\nMean gain in zero-shot average over the baseline: {np.mean(gains):+.2f} points.")
    return "\n".join(lines)
