"""A bad config is refused with a message naming the file, the key and the allowed range."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.config import ConfigError, load_athlete, load_machine, load_profile
from controller.config.loader import CONFIG_ROOT

pytestmark = pytest.mark.fast


def test_every_shipped_config_loads():
    for path in (CONFIG_ROOT / "machines").glob("*.toml"):
        load_machine(path)
    for path in (CONFIG_ROOT / "athletes").glob("*.toml"):
        load_athlete(path)


def test_every_shipped_profile_has_a_title_and_description_a_person_reads():
    for path in (CONFIG_ROOT / "profiles").glob("*.toml"):
        profile = load_profile(path)
        assert profile.title and profile.title != profile.name, path.name
        assert len(profile.description) > 20, path.name
        assert "_" not in profile.title + profile.description, path.name  # no config words


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return path


def test_out_of_range_names_file_key_and_range(tmp_path):
    path = write(tmp_path, 'name = "x"\none_rm_kg = -3\nv_at_1rm_mps = 0.2\nv_at_zero_load_mps = 1.5\n')
    with pytest.raises(ConfigError) as err:
        load_athlete(path)
    message = str(err.value)
    assert str(path) in message
    assert "one_rm_kg" in message
    assert "> 0.5 and <= 500" in message
    assert "-3" in message


def test_unknown_key_is_an_error_not_a_default(tmp_path):
    path = write(tmp_path, 'name = "x"\n[limits]\nmax_tensoin_n = 100\n')
    with pytest.raises(ConfigError) as err:
        load_machine(path)
    assert "limits.max_tensoin_n" in str(err.value)
    assert "unknown key" in str(err.value)
    assert "max_tension_n" in str(err.value)


def test_missing_key(tmp_path):
    path = write(tmp_path, 'name = "x"\nv_at_1rm_mps = 0.2\nv_at_zero_load_mps = 1.5\n')
    with pytest.raises(ConfigError, match="one_rm_kg: missing required key"):
        load_athlete(path)


def test_machine_cannot_promise_more_tension_than_its_motor(tmp_path):
    path = write(tmp_path, 'name = "x"\n[limits]\nmax_tension_n = 1000\n')
    with pytest.raises(ConfigError, match=r"max_tension_n = 1000\.0 exceeds what the motor can pull"):
        load_machine(path)


def test_malformed_toml(tmp_path):
    path = write(tmp_path, "name = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_machine(path)


def test_unknown_name_lists_known_ones():
    with pytest.raises(ConfigError, match=r"known names: .*trained"):
        load_athlete("nobody")


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"a = " + b"[" * 5000 + b"]" * 5000, "nested too deeply"), (b"name = '\xff\xfe'", "not UTF-8")],
    ids=["deep", "not-utf8"],
)
def test_a_hostile_file_is_a_clear_error_not_a_traceback(tmp_path, content, words):
    bad = tmp_path / "m.toml"
    bad.write_bytes(content)
    with pytest.raises(ConfigError, match=words):
        load_machine(bad)
