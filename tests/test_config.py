from pathlib import Path

import pytest

from babeltag.config import load_config, parse_config
from babeltag.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_unknown_key_is_named() -> None:
    with pytest.raises(ConfigError, match=r"data\.formt: unknown key"):
        parse_config({"data": {"language": "en", "formt": "conllu"}})


def test_wrong_type_is_named() -> None:
    with pytest.raises(ConfigError, match=r"training\.epochs"):
        parse_config({"data": {"language": "en"}, "training": {"epochs": "many"}})


def test_head_must_fit_the_data() -> None:
    with pytest.raises(ConfigError, match="classifier"):
        parse_config({"data": {"language": "en", "format": "csv"}, "model": {"head": {"type": "crf"}}})
    with pytest.raises(ConfigError, match="train_scheme"):
        parse_config({"data": {"language": "en"}, "model": {"train_scheme": "bioes"}})


def test_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("data: {language: en}\n")
    config = load_config(path, ["training.epochs=3", "model.char_encoder.widths=[3, 4]"])
    assert config.training.epochs == 3 and config.model.char_encoder.widths == [3, 4]
    with pytest.raises(ConfigError, match="key=value"):
        load_config(path, ["training.epochs"])


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("data: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_validate(path: Path) -> None:
    load_config(path)
