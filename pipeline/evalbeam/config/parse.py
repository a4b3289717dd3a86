"""Read an EvalConfig: text proto or JSON (TFMA's ``eval_config.json`` too), from a file or text.

Every problem is a :class:`~evalbeam.errors.ConfigError` naming the file and what is wrong with
it (where, for a syntax error).
"""
from __future__ import annotations

import json
import os

from google.protobuf import json_format, text_format

from evalbeam.errors import ConfigError
from evalbeam.io.paths import is_file, read_text
from evalbeam.proto import config_pb2

EvalConfig = config_pb2.EvalConfig


def parse_config(text: str, source: str = "config") -> config_pb2.EvalConfig:
    """Parse a config given as text proto or JSON (TFMA's ``eval_config.json`` works too)."""
    config = config_pb2.EvalConfig()
    stripped = text.lstrip()
    try:
        if stripped.startswith("{"):
            data = json.loads(text)
            if "evalConfig" in data or "eval_config" in data:  # an EvalRun (eval_config.json)
                data = data.get("evalConfig", data.get("eval_config"))
            json_format.ParseDict(data, config)
        else:
            text_format.Parse(text, config)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{source}: line {e.lineno} column {e.colno}: {e.msg}") from None
    except (text_format.ParseError, json_format.ParseError) as e:
        raise ConfigError(f"{source}: {e}".replace("\n", " ")) from None
    return config


def load_config(path) -> config_pb2.EvalConfig:
    """Read and parse the config file at ``path`` (a str or ``os.PathLike``; local or on any
    Beam filesystem: gs://, s3://, ...)."""
    path = os.fspath(path)
    try:
        text = read_text(path, "config file")
    except OSError as e:
        raise ConfigError(str(e)) from None
    return parse_config(text, path)


_CONFIG_EXTENSIONS = (".textproto", ".pbtxt", ".prototxt", ".json", ".txt")


def config_path(config) -> str | None:
    """The file a config argument names, or None when it is config text.

    An ``os.PathLike`` is always a path, and so is a str of one line that names an existing
    file or looks like a path (it ends in a config extension, or holds a path separator and no
    brace): a missing file is then said to be missing, rather than parsed as config text.
    Any other str is config text.
    """
    if isinstance(config, os.PathLike):
        return os.fspath(config)
    if not isinstance(config, str):
        return None
    name = config.strip()
    if "\n" in name or "\0" in name:
        return None
    if is_file(name) or name.lower().endswith(_CONFIG_EXTENSIONS):
        return name
    if any(sep in name for sep in {os.sep, "/"}) and not any(c in name for c in "{}"):
        return name
    return None


def read_config(config) -> config_pb2.EvalConfig:
    """An EvalConfig from a path (``os.PathLike``, or a str naming a file) or config text."""
    path = config_path(config)
    return load_config(path) if path is not None else parse_config(config)
