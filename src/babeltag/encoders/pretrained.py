"""A pretrained multilingual encoder on disk: what ``babeltag pretrain`` writes and fine-tuning loads.

DIR/encoder.safetensors   the transformer's weights
DIR/encoder.json          its settings and the language table (id 0 = no language given)
DIR/subwords.json         the shared subword vocabulary (a ``tokenizers`` file)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from safetensors.torch import load_file, save_file

from babeltag.data.subwords import SubwordVocabulary
from babeltag.encoders.transformer import TransformerEncoder
from babeltag.errors import ModelArchiveError

ENCODER_FILES = ("encoder.safetensors", "encoder.json", "subwords.json")


@dataclass
class PretrainedEncoder:
    encoder: TransformerEncoder
    vocabulary: SubwordVocabulary
    languages: list[str]  # language i has embedding row i + 1

    def language_id(self, language: str) -> int:
        """The language-embedding row of a language, 0 for one the pretraining never saw."""
        return self.languages.index(language) + 1 if language in self.languages else 0


def save_encoder(
    directory: str | Path,
    encoder: TransformerEncoder,
    vocabulary: SubwordVocabulary,
    languages: Sequence[str],
) -> None:
    """Write the three files, each atomically (a reader never sees half a file)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().contiguous().cpu() for name, tensor in encoder.state_dict().items()}
    _atomic(directory / "encoder.safetensors", lambda path: save_file(state, str(path)))
    meta = json.dumps({"settings": encoder.settings, "languages": list(languages)}, indent=2)
    _atomic(directory / "encoder.json", lambda path: path.write_text(meta, encoding="utf-8"))
    _atomic(directory / "subwords.json", lambda path: vocabulary.save(path))


def load_encoder(directory: str | Path, weights: bool = True) -> PretrainedEncoder:
    """The encoder, its vocabulary and its languages; ``weights=False`` gives the same
    architecture freshly initialised (the no-pretraining baseline)."""
    directory = Path(directory)
    needed = ENCODER_FILES if weights else ENCODER_FILES[1:]
    missing = [name for name in needed if not (directory / name).is_file()]
    if missing:
        raise ModelArchiveError(
            f"{directory}: not a pretrained encoder (missing {', '.join(missing)}; "
            "expected the output folder of `babeltag pretrain`)"
        )
    try:
        meta = json.loads((directory / "encoder.json").read_text(encoding="utf-8"))
        settings, languages = meta["settings"], list(meta["languages"])
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ModelArchiveError(f"{directory / 'encoder.json'}: unreadable ({error})") from None
    vocabulary = SubwordVocabulary.load(directory / "subwords.json")
    if settings["vocab_size"] != len(vocabulary):
        raise ModelArchiveError(
            f"{directory}: the encoder has {settings['vocab_size']} piece embeddings but "
            f"subwords.json has {len(vocabulary)} pieces"
        )
    encoder = TransformerEncoder(**settings)
    if weights:
        state = load_file(str(directory / "encoder.safetensors"))
        problems = encoder.load_state_dict(state, strict=False)
        if problems.missing_keys or problems.unexpected_keys:
            raise ModelArchiveError(
                f"{directory / 'encoder.safetensors'}: weights do not fit encoder.json "
                f"(missing {problems.missing_keys[:3]}, unexpected {problems.unexpected_keys[:3]})"
            )
    return PretrainedEncoder(encoder, vocabulary, languages)


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    staging = path.with_name(path.name + ".partial")
    write(staging)
    os.replace(staging, path)
