"""Multilingual masked-LM pretraining (XLM, Lample and Conneau 2019): ``babeltag pretrain``.

    raw text of every language ─ temperature-sampled ─ shared subword vocabulary
                                                           │
    each step: a language drawn with q_i ∝ p_i^alpha ─ a batch of its sentences ─ mask 15%
               (or, with TLM, a batch of translation pairs, masked on both sides)  │
                                                           transformer ─ MLM head ─ loss

Every ``checkpoint_every`` steps the whole state (weights, optimiser, schedule, random streams,
position in every language's data) goes to ``checkpoint.pt``; running the same command again
continues from there and ends with the same weights as a run that was never interrupted. Ctrl-C
stops at the end of the current step and writes a checkpoint first.
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from babeltag.config import PretrainConfig, dump_pretrain_config, load_pretrain_config, read_raw_config
from babeltag.data.mixing import temperature
from babeltag.data.raw_text import (
    gather_raw_text,
    parallel_pairs,
    pud_split,
    read_pud,
    read_raw_text_dir,
    synthetic_parallel,
)
from babeltag.data.subwords import SPECIALS, SubwordVocabulary, format_shares, shares_to_json, train_subwords
from babeltag.data.synthetic import generate, make_language_family
from babeltag.encoders.pretrained import save_encoder
from babeltag.encoders.transformer import TransformerEncoder
from babeltag.errors import ConfigError
from babeltag.objectives.masked_lm import MaskedLMHead, mask_pieces
from babeltag.training import resume
from babeltag.training.log import RunLog

Pair = tuple[list[str], list[str]]
# settings that may change when a run is resumed: they do not change what is computed
RESUMABLE_CHANGES = ("device", "threads", "mixed_precision", "eval_every", "checkpoint_every", "steps")
# ``steps`` may change too (to extend or shorten a run): the learning-rate schedule is recomputed for
# the new total from the current step on, so the result is not the run that had the new total from
# the start; the log records the change.


# ---------------------------------------------------------------------------------------------
# text


@dataclass
class PretrainText:
    train: dict[str, list[list[str]]]  # language -> sentences for MLM
    heldout: dict[str, list[list[str]]]  # language -> sentences for held-out perplexity
    pairs: dict[tuple[str, str], list[Pair]]  # (language a, language b) -> translation pairs for TLM

    @property
    def languages(self) -> list[str]:
        return sorted(set(self.train) | {language for pair in self.pairs for language in pair})


def load_text(config: PretrainConfig) -> PretrainText:
    text = config.text
    corpus: dict[str, list[list[str]]] = {}
    if text.data_dir is not None:
        corpus.update(gather_raw_text(text.data_dir, None, False, text.max_sentences_per_language))
    for directory in text.dirs:
        for language, sentences in read_raw_text_dir(directory).items():
            corpus.setdefault(language, []).extend(sentences[: text.max_sentences_per_language])
    if text.synthetic_sentences:
        for spec in make_language_family(config.training.seed).values():
            examples = generate(spec, text.synthetic_sentences, seed=config.training.seed)
            corpus.setdefault(spec.code, []).extend(list(e.tokens) for e in examples)
    if text.languages is not None:
        missing = sorted(set(text.languages) - set(corpus))
        if missing:
            raise ConfigError(
                f"text.languages: no raw text for {', '.join(missing)}; found {', '.join(sorted(corpus))}"
            )
        corpus = {language: corpus[language] for language in text.languages}
    train, heldout = {}, {}
    rng = np.random.default_rng(config.training.seed)
    for language in sorted(corpus):
        sentences = corpus[language]
        order = rng.permutation(len(sentences))
        # a small language keeps most of its text for training
        n_heldout = min(text.heldout_sentences, len(sentences) // 5)
        heldout[language] = [sentences[i] for i in order[:n_heldout]]
        train[language] = [sentences[i] for i in order[n_heldout:]]
    return PretrainText(train, heldout, translation_pairs(config))


def translation_pairs(config: PretrainConfig) -> dict[tuple[str, str], list[Pair]]:
    """Pivot-X pairs: PUD's ``tlm`` half (its ``probe`` half stays unseen), or synthetic renderings."""
    tlm = config.tlm
    if tlm.source == "none":
        return {}
    if tlm.source == "pud":
        assert tlm.data_dir is not None
        languages = tlm.languages or sorted(
            p.name for p in (Path(tlm.data_dir) / "ud-pud").iterdir() if p.is_dir()
        )
        corpus = read_pud(tlm.data_dir, [tlm.pivot, *[x for x in languages if x != tlm.pivot]])
        ids, _probe = pud_split(corpus[tlm.pivot])
    else:
        by_code = {spec.code: spec for spec in make_language_family(config.training.seed).values()}
        unknown = sorted(set(tlm.languages or []) - set(by_code))
        if unknown:
            raise ConfigError(
                f"tlm.languages: {', '.join(unknown)} are not synthetic languages ({', '.join(sorted(by_code))})"
            )
        specs = [by_code[code] for code in (tlm.languages or sorted(by_code))]
        corpus = synthetic_parallel(specs, tlm.synthetic_sentences, config.training.seed)
        ids = list(corpus[next(iter(corpus))])
    if tlm.pivot not in corpus:
        raise ConfigError(
            f"tlm.pivot: {tlm.pivot!r} has no parallel sentences; languages: {', '.join(corpus)}"
        )
    return {
        (tlm.pivot, language): parallel_pairs(corpus, tlm.pivot, language, ids)
        for language in sorted(corpus)
        if language != tlm.pivot
    }


def vocabulary_text(text: PretrainText) -> dict[str, list[list[str]]]:
    """What the subword vocabulary learns from: the training text, plus the translation pairs'
    sentences (some PUD languages have no other text here)."""
    corpus = {language: list(sentences) for language, sentences in text.train.items()}
    for (a, b), pairs in text.pairs.items():
        for side, language in ((0, a), (1, b)):
            corpus.setdefault(language, []).extend(pair[side] for pair in pairs)
    return corpus


# ---------------------------------------------------------------------------------------------
# batches


@dataclass
class PieceBatch:
    piece_ids: torch.Tensor  # [B, S]
    mask: torch.Tensor  # [B, S] real pieces
    language_ids: torch.Tensor  # [B, S]
    position_ids: torch.Tensor  # [B, S]

    def to(self, device: torch.device) -> PieceBatch:
        return PieceBatch(
            *(t.to(device) for t in (self.piece_ids, self.mask, self.language_ids, self.position_ids))
        )

    @property
    def maskable(self) -> torch.Tensor:
        return self.mask & (self.piece_ids >= len(SPECIALS))


def with_specials(pieces: Sequence[int], max_pieces: int) -> list[int]:
    return [SubwordVocabulary.bos_id, *pieces[: max_pieces - 2], SubwordVocabulary.eos_id]


def mlm_batch(sequences: Sequence[Sequence[int]], language_id: int) -> PieceBatch:
    """Monolingual sentences (with <s> and </s>) of one language, padded."""
    S = max(len(s) for s in sequences)
    ids = torch.zeros(len(sequences), S, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = torch.tensor(sequence)
    mask = ids != SubwordVocabulary.pad_id
    positions = torch.arange(S).expand(len(sequences), S).clone()
    return PieceBatch(ids, mask, torch.full_like(ids, language_id) * mask, positions)


def tlm_batch(
    pairs: Sequence[tuple[Sequence[int], Sequence[int]]], language_ids: tuple[int, int]
) -> PieceBatch:
    """Translation pairs side by side: ``<s> a </s> <s> b </s>``, positions restarting at b, each
    side with its own language embedding (XLM's TLM)."""
    S = max(len(a) + len(b) for a, b in pairs)
    B = len(pairs)
    ids = torch.zeros(B, S, dtype=torch.long)
    languages = torch.zeros(B, S, dtype=torch.long)
    positions = torch.zeros(B, S, dtype=torch.long)
    for row, (a, b) in enumerate(pairs):
        ids[row, : len(a) + len(b)] = torch.tensor([*a, *b])
        languages[row, : len(a)] = language_ids[0]
        languages[row, len(a) : len(a) + len(b)] = language_ids[1]
        positions[row, : len(a)] = torch.arange(len(a))
        positions[row, len(a) : len(a) + len(b)] = torch.arange(len(b))
    return PieceBatch(ids, ids != SubwordVocabulary.pad_id, languages, positions)


class Stream:
    """Endless shuffled passes over ``size`` items; its state is two numbers and an order."""

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        self.size = size
        self.order = rng.permutation(size)
        self.position = 0

    def take(self, count: int, rng: np.random.Generator) -> list[int]:
        taken: list[int] = []
        while len(taken) < count:
            if self.position == self.size:
                self.order, self.position = rng.permutation(self.size), 0
            step = min(count - len(taken), self.size - self.position)
            taken.extend(self.order[self.position : self.position + step].tolist())
            self.position += step
        return taken

    def state(self) -> dict[str, Any]:
        return {"order": self.order.tolist(), "position": self.position}

    def restore(self, state: dict[str, Any]) -> None:
        self.order, self.position = np.asarray(state["order"], dtype=np.int64), int(state["position"])


# ---------------------------------------------------------------------------------------------
# the model being pretrained


class MaskedLanguageModel(nn.Module):
    """The encoder and an MLM head tied to its piece embeddings; only the encoder is kept."""

    def __init__(self, encoder: TransformerEncoder) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = MaskedLMHead(encoder.pieces)

    def loss(
        self, batch: PieceBatch, targets: torch.Tensor, inputs: torch.Tensor
    ) -> tuple[torch.Tensor, int]:
        states = self.encoder(inputs, batch.mask, batch.language_ids, batch.position_ids)
        return self.head.loss(states, targets)


# ---------------------------------------------------------------------------------------------
# the loop


class Pretraining:
    """Everything a pretraining run holds, so that it can be checkpointed and resumed."""

    def __init__(self, config: PretrainConfig, out_dir: Path, progress: bool | None = None) -> None:
        self.config = config
        self.out_dir = out_dir
        self.progress = progress
        t = config.training
        if t.threads is not None:
            torch.set_num_threads(t.threads)
        self.device = torch.device(t.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"training.device: {t.device!r} requested but no CUDA device is available")
        self.autocast = t.mixed_precision == "on" or (
            t.mixed_precision == "auto" and self.device.type == "cuda"
        )
        resuming = (out_dir / "checkpoint.pt").is_file()
        if resuming:
            check_resumable(config, out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.log = RunLog(out_dir / "log.jsonl", append=resuming)

        torch.manual_seed(t.seed)  # dropout draws from torch's global generator
        self.rng = np.random.default_rng(t.seed)
        self.masking = torch.Generator().manual_seed(t.seed)

        text = load_text(config)
        self.languages = text.languages
        if resuming:
            self.vocabulary = SubwordVocabulary.load(out_dir / "subwords.json")
        else:
            s = config.subwords
            self.vocabulary, shares = train_subwords(
                vocabulary_text(text),
                s.vocab_size,
                s.kind,
                s.alpha,
                s.sample_sentences,
                s.lowercase,
                s.min_frequency,
                t.seed,
            )
            self.vocabulary.save(out_dir / "subwords.json")
            (out_dir / "shares.json").write_text(shares_to_json(shares), encoding="utf-8")
            self.log.record(
                {"event": "subwords", "size": len(self.vocabulary)},
                "subword vocabulary:\n" + format_shares(shares),
            )
        self.train = {lang: self._encode(s) for lang, s in text.train.items() if s}
        self.heldout = {lang: self._encode(s) for lang, s in text.heldout.items() if s}
        self.pairs = {
            key: [
                (self._encode([a], t.max_pieces // 2)[0], self._encode([b], t.max_pieces // 2)[0])
                for a, b in pairs
            ]
            for key, pairs in text.pairs.items()
        }
        if not self.train:
            raise ConfigError("pretraining: no raw text left for training after holding out")
        self.train_languages = sorted(self.train)
        # XLM: q_i ∝ p_i^alpha over sentence counts, so small languages are seen more than their share
        self.language_q = temperature([len(self.train[x]) for x in self.train_languages], config.mlm.alpha)
        self.streams = {lang: Stream(len(self.train[lang]), self.rng) for lang in self.train_languages}
        self.pair_streams = {key: Stream(len(pairs), self.rng) for key, pairs in self.pairs.items()}

        e = config.encoder
        self.encoder = TransformerEncoder(
            len(self.vocabulary),
            e.dim,
            e.layers,
            e.heads,
            e.ff_dim,
            e.dropout,
            e.positions,
            e.max_positions,
            len(self.languages) if e.language_embeddings else 0,
            embedding_norm=e.embedding_norm,
        )
        if t.max_pieces > e.max_positions:
            raise ConfigError(
                f"training.max_pieces ({t.max_pieces}) exceeds encoder.max_positions ({e.max_positions})"
            )
        self.model = MaskedLanguageModel(self.encoder).to(self.device)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=t.lr, weight_decay=t.weight_decay, betas=(0.9, 0.98), fused=True
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.step = 0
        if resuming:
            self._restore(torch.load(out_dir / "checkpoint.pt", weights_only=False))
            self.log.record({"event": "resumed", "step": self.step}, f"resuming from step {self.step}")
            saved_steps = load_pretrain_config(out_dir / "config.yaml").training.steps
            if saved_steps != t.steps:
                self.log.record(
                    {"event": "steps_changed", "step": self.step, "from": saved_steps, "to": t.steps},
                    f"training.steps changed from {saved_steps} to {t.steps}: the schedule follows the new total",
                )
                (out_dir / "config.yaml").write_text(dump_pretrain_config(config), encoding="utf-8")
        else:
            (out_dir / "config.yaml").write_text(dump_pretrain_config(config), encoding="utf-8")

    def _encode(self, sentences: Sequence[Sequence[str]], max_pieces: int | None = None) -> list[list[int]]:
        limit = max_pieces or self.config.training.max_pieces
        return [with_specials(p, limit) for p in self.vocabulary.encode_batch(sentences)]

    def _lr_factor(self, step: int) -> float:
        t = self.config.training
        if step < t.warmup:
            return (step + 1) / t.warmup
        return max(0.0, (t.steps - step) / max(1, t.steps - t.warmup))

    def language_id(self, language: str) -> int:
        return self.languages.index(language) + 1 if self.config.encoder.language_embeddings else 0

    # -- one step ---------------------------------------------------------------------------

    def next_batch(self) -> tuple[str, PieceBatch]:
        t = self.config.training
        if self.pairs and self.rng.random() < self.config.tlm.probability:
            keys = sorted(self.pairs)
            key = keys[int(self.rng.integers(len(keys)))]
            chosen = self.pair_streams[key].take(t.batch_size, self.rng)
            pairs = [self.pairs[key][i] for i in chosen]
            return "tlm", tlm_batch(pairs, (self.language_id(key[0]), self.language_id(key[1])))
        language = self.train_languages[int(self.rng.choice(len(self.train_languages), p=self.language_q))]
        chosen = self.streams[language].take(t.batch_size, self.rng)
        return "mlm", mlm_batch([self.train[language][i] for i in chosen], self.language_id(language))

    def masked(self, batch: PieceBatch, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        m = self.config.mlm
        return mask_pieces(
            batch.piece_ids,
            batch.maskable,
            SubwordVocabulary.mask_id,
            len(SPECIALS),
            len(self.vocabulary),
            generator,
            m.rate,
            m.mask,
            m.random,
        )

    def train_step(self) -> tuple[str, float, int]:
        self.model.train()
        kind, batch = self.next_batch()
        inputs, targets = self.masked(batch, self.masking)
        batch, inputs, targets = batch.to(self.device), inputs.to(self.device), targets.to(self.device)
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            loss, _ = self.model.loss(batch, targets, inputs)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"step {self.step}: loss became {loss.item()}; lower training.lr")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.training.clip is not None:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.config.training.clip)
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        return kind, float(loss.item()), int(batch.mask.sum())

    @torch.no_grad()
    def heldout_perplexity(self) -> dict[str, float]:
        """exp(mean cross-entropy) on each language's held-out sentences, masked the same way
        at every evaluation so the numbers are comparable along the run."""
        self.model.eval()
        fixed = torch.Generator().manual_seed(self.config.training.seed + 1)
        size = self.config.training.batch_size
        result = {}
        for language in sorted(self.heldout):
            total, count = 0.0, 0
            sentences = self.heldout[language]
            for start in range(0, len(sentences), size):
                batch = mlm_batch(sentences[start : start + size], self.language_id(language))
                inputs, targets = self.masked(batch, fixed)
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast):
                    loss, n = self.model.loss(
                        batch.to(self.device), targets.to(self.device), inputs.to(self.device)
                    )
                total += float(loss) * n
                count += n
            if count:
                result[language] = math.exp(min(total / count, 50.0))
        return result

    # -- checkpoints ------------------------------------------------------------------------

    def checkpoint(self) -> None:
        state = {
            "step": self.step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "rng": self.rng.bit_generator.state,
            "masking": self.masking.get_state(),
            "torch": torch.get_rng_state(),
            "streams": {lang: s.state() for lang, s in self.streams.items()},
            "pair_streams": {"|".join(k): s.state() for k, s in self.pair_streams.items()},
        }
        staging = self.out_dir / "checkpoint.pt.partial"
        torch.save(state, staging)
        os.replace(staging, self.out_dir / "checkpoint.pt")
        save_encoder(self.out_dir, self.encoder, self.vocabulary, self.languages)

    def _restore(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.rng.bit_generator.state = state["rng"]
        self.masking.set_state(state["masking"])
        torch.set_rng_state(state["torch"])
        for language, stream_state in state["streams"].items():
            self.streams[language].restore(stream_state)
        for key, stream_state in state["pair_streams"].items():
            a, b = key.split("|")
            self.pair_streams[(a, b)].restore(stream_state)

    # -- the run ----------------------------------------------------------------------------

    def run(self, stop_after: int | None = None) -> dict[str, float]:
        """Train up to ``training.steps`` (or ``stop_after`` more steps); return the final
        held-out perplexities."""
        t = self.config.training
        interrupted = False

        def stop(signum: int, frame: FrameType | None) -> None:
            nonlocal interrupted
            interrupted = True

        previous = signal.signal(signal.SIGINT, stop) if _main_thread() else None
        bar = tqdm(
            total=t.steps,
            initial=self.step,
            unit="step",
            disable=None if self.progress is None else not self.progress,
            dynamic_ncols=True,
        )
        goal = t.steps if stop_after is None else min(t.steps, self.step + stop_after)
        pieces, started = 0, time.perf_counter()
        losses: dict[str, list[float]] = {"mlm": [], "tlm": []}
        try:
            while self.step < goal and not interrupted:
                kind, loss, n = self.train_step()
                losses[kind].append(loss)
                pieces += n
                rate = pieces / max(time.perf_counter() - started, 1e-9)
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}", tokens_per_s=f"{rate:,.0f}")
                if self.step % t.eval_every == 0 or self.step == t.steps:
                    self._report(losses, rate)
                    losses = {"mlm": [], "tlm": []}
                if self.step % t.checkpoint_every == 0 or self.step == goal or interrupted:
                    self.checkpoint()
        finally:
            bar.close()
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
        if interrupted:
            self.log.record(
                {"event": "interrupted", "step": self.step},
                f"stopped at step {self.step}; run the same command to resume",
            )
            raise KeyboardInterrupt
        return self.heldout_perplexity()

    def _report(self, losses: dict[str, list[float]], rate: float) -> None:
        perplexity = self.heldout_perplexity()
        entry: dict[str, Any] = {
            "event": "eval",
            "step": self.step,
            "lr": self.scheduler.get_last_lr()[0],
            "tokens_per_s": rate,
            **{f"{k}_loss": float(np.mean(v)) for k, v in losses.items() if v},
            "heldout_perplexity": perplexity,
        }
        table = "  ".join(f"{lang} {ppl:.1f}" for lang, ppl in perplexity.items())
        mean = float(np.mean(list(perplexity.values()))) if perplexity else float("nan")
        self.log.record(
            entry, f"step {self.step}: {rate:,.0f} pieces/s, held-out perplexity mean {mean:.1f} | {table}"
        )


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def check_resumable(config: PretrainConfig, out_dir: Path) -> None:
    saved_path = out_dir / "config.yaml"
    saved = None
    if saved_path.is_file():
        encoder = read_raw_config(saved_path).get("encoder") or {}
        # a config written before the option existed describes an encoder without the norm
        before_the_norm = [] if "embedding_norm" in encoder else ["encoder.embedding_norm=false"]
        saved = load_pretrain_config(saved_path, before_the_norm).model_dump(mode="json")
    may_change = [f"training.{key}" for key in RESUMABLE_CHANGES]
    resume.check_resumable(out_dir, saved, config.model_dump(mode="json"), may_change)


def pretrain(config: PretrainConfig, out_dir: str | Path, progress: bool | None = None) -> dict[str, float]:
    """Run (or resume) a pretraining; the encoder ends up in ``out_dir`` (see encoders/pretrained.py)."""
    out_dir = Path(out_dir)
    run = Pretraining(config, out_dir, progress)
    perplexity = run.run()
    (out_dir / "heldout_perplexity.json").write_text(json.dumps(perplexity, indent=2), encoding="utf-8")
    return perplexity
