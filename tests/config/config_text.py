"""A one-model config to build on, and the plan resolved from it."""
import pytest

from evalbeam.config import parse_config, resolve_config
from evalbeam.errors import ConfigError

BASE = 'model_specs { label_key: "y" prediction_key: "p" %s }\n'


def plan(text, weight=""):
    return resolve_config(parse_config(BASE % weight + text))


def assert_one_line_error(text, match):
    """Resolving the one-model config with ``text`` fails with one line matching ``match``."""
    with pytest.raises(ConfigError, match=match) as info:
        plan(text)
    assert "\n" not in str(info.value)
