"""Pretraining: a tiny run end to end, resuming after an interruption, TLM batches, config checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from babeltag.cli import main
from babeltag.config import PretrainConfig, load_pretrain_config
from babeltag.data.raw_text import write_raw_text
from babeltag.data.synthetic import LanguageSpec, generate
from babeltag.encoders.pretrained import load_encoder
from babeltag.errors import ConfigError
from babeltag.training.pretrain import Pretraining, pretrain, tlm_batch


@pytest.fixture
def raw_dir(tmp_path: Path, synthetic_languages: dict[str, LanguageSpec]) -> Path:
    corpus = {
        spec.code: [list(e.tokens) for e in generate(spec, 120, seed=2)]
        for spec in synthetic_languages.values()
    }
    write_raw_text(corpus, tmp_path / "raw")
    return tmp_path / "raw"


def tiny_config(raw_dir: Path, **training: object) -> PretrainConfig:
    return PretrainConfig.model_validate(
        {
            "text": {"dirs": [str(raw_dir)], "heldout_sentences": 10},
            "subwords": {"vocab_size": 150},
            "encoder": {"dim": 16, "layers": 1, "heads": 2, "max_positions": 64},
            "tlm": {"source": "synthetic", "pivot": "syn_src", "synthetic_sentences": 40},
            "training": {
                "steps": 8,
                "batch_size": 8,
                "max_pieces": 32,
                "warmup": 2,
                "eval_every": 4,
                "checkpoint_every": 3,
                **training,
            },
        }
    )


def weights(out: Path) -> dict[str, torch.Tensor]:
    return load_file(str(out / "encoder.safetensors"))


def test_a_tiny_run_writes_a_loadable_encoder_and_logs_perplexity(raw_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    perplexity = pretrain(tiny_config(raw_dir), out, progress=False)
    assert set(perplexity) == {"syn_src", "syn_rel", "syn_rel_cyrl", "syn_unr"}
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    evals = [entry for entry in log if entry["event"] == "eval"]
    assert [entry["step"] for entry in evals] == [4, 8]
    assert "tlm_loss" in evals[0] or "tlm_loss" in evals[1]
    assert all(entry["tokens_per_s"] > 0 for entry in evals)
    shares = json.loads((out / "shares.json").read_text())
    assert {share["language"] for share in shares} == set(perplexity)
    loaded = load_encoder(out)
    assert loaded.languages == sorted(perplexity)


def test_an_interrupted_run_resumes_to_the_same_weights(raw_dir: Path, tmp_path: Path) -> None:
    straight = tmp_path / "straight"
    pretrain(tiny_config(raw_dir), straight, progress=False)
    resumed = tmp_path / "resumed"
    Pretraining(tiny_config(raw_dir), resumed, progress=False).run(stop_after=5)  # killed after step 5
    assert json.loads(json.dumps(torch.load(resumed / "checkpoint.pt", weights_only=False)["step"])) == 5
    # the same command again continues from step 5 (eval_every may change: it computes nothing)
    pretrain(tiny_config(raw_dir, eval_every=2), resumed, progress=False)
    a, b = weights(straight), weights(resumed)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[name], b[name]) for name in a)
    assert any(
        json.loads(line)["event"] == "resumed" for line in (resumed / "log.jsonl").read_text().splitlines()
    )


def test_resuming_with_another_configuration_is_refused(raw_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    Pretraining(tiny_config(raw_dir), out, progress=False).run(stop_after=3)
    with pytest.raises(ConfigError, match=r"training\.lr"):
        Pretraining(tiny_config(raw_dir, lr=0.1), out, progress=False)


def test_a_run_from_before_the_embedding_norm_resumes_only_without_it(raw_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    old = tiny_config(raw_dir)
    old.encoder.embedding_norm = False
    Pretraining(old, out, progress=False).run(stop_after=3)
    saved = out / "config.yaml"
    saved.write_text(  # as written before the option existed
        "".join(line for line in saved.read_text().splitlines(keepends=True) if "embedding_norm" not in line)
    )
    with pytest.raises(ConfigError, match=r"encoder\.embedding_norm"):
        Pretraining(tiny_config(raw_dir), out, progress=False)
    Pretraining(old, out, progress=False).run()


def test_tlm_batches_restart_positions_and_switch_language() -> None:
    batch = tlm_batch([([2, 10, 11, 3], [2, 20, 3]), ([2, 12, 3], [2, 21, 22, 23, 3])], (1, 2))
    assert batch.piece_ids[0].tolist() == [2, 10, 11, 3, 2, 20, 3, 0]
    assert batch.position_ids[0].tolist() == [0, 1, 2, 3, 0, 1, 2, 0]
    assert batch.language_ids[1].tolist() == [1, 1, 1, 2, 2, 2, 2, 2]
    assert batch.maskable[0].tolist() == [False, True, True, False, False, True, False, False]


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("text: {dirs: [x]}\nencoder: {dim: 30, heads: 4}\nmlm: {mask: 0.9, random: 0.2}\n")
    with pytest.raises(ConfigError) as error:
        load_pretrain_config(path)
    assert "encoder" in str(error.value) and "mlm" in str(error.value)


def test_the_command_line_runs_a_pretraining(raw_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        f"text: {{dirs: [{raw_dir}], heldout_sentences: 5}}\nsubwords: {{vocab_size: 120}}\n"
        "encoder: {dim: 16, layers: 1, heads: 2, max_positions: 32}\n"
        "training: {steps: 2, batch_size: 4, max_pieces: 32, warmup: 1}\n"
    )
    assert main(["pretrain", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    assert (tmp_path / "out" / "encoder.safetensors").is_file()


def test_a_resumed_run_may_be_given_more_or_fewer_steps(raw_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    Pretraining(tiny_config(raw_dir), out, progress=False).run(stop_after=3)
    pretrain(tiny_config(raw_dir, steps=5), out, progress=False)
    assert load_pretrain_config(out / "config.yaml").training.steps == 5
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert {"event": "steps_changed", "step": 3, "from": 8, "to": 5} in log
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == 5
