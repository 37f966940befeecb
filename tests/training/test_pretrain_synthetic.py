"""Pretraining reads the synthetic languages as raw text when asked (offline checks and demos)."""

from __future__ import annotations

from pathlib import Path

from babeltag.config import PretrainConfig
from babeltag.training.pretrain import load_text


def test_synthetic_sentences_give_every_synthetic_language(tmp_path: Path) -> None:
    config = PretrainConfig.model_validate({"text": {"synthetic_sentences": 30, "heldout_sentences": 5}})
    text = load_text(config)
    assert sorted(text.train) == ["syn_rel", "syn_rel_cyrl", "syn_src", "syn_unr"]
    assert all(len(text.train[x]) + len(text.heldout[x]) == 30 for x in text.train)
    assert all(len(text.heldout[x]) == 5 for x in text.heldout)
