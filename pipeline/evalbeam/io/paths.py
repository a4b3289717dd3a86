"""A user's files on any Beam filesystem (local paths, gs://, s3://, ...): reading the text of a
config or schema file, with the reason it cannot be read in one line."""
from __future__ import annotations

import os


def is_local(path: str) -> bool:
    return "://" not in path


def read_text(path: str, what: str) -> str:
    """The UTF-8 text of the file at ``path``; an ``OSError`` whose message names ``what``
    and ``path`` and says why the file cannot be read."""
    try:
        if is_local(path):
            with open(path, encoding="utf-8") as f:
                return f.read()
        from apache_beam.io.filesystems import FileSystems

        if not FileSystems.exists(path):
            raise FileNotFoundError(path)
        with FileSystems.open(path, compression_type="uncompressed") as f:
            return f.read().decode("utf-8")
    except FileNotFoundError:
        reason = "no such file"
    except IsADirectoryError:
        reason = "is a folder, not a file"
    except PermissionError:
        reason = "permission denied"
    except UnicodeDecodeError as e:
        reason = f"not UTF-8 text (byte {e.start})"
    except ValueError as e:  # no filesystem for the scheme: unknown, or its extra not installed
        reason = f"cannot be read ({_first_line(e)})"
    except OSError as e:  # BeamIOError is one too
        reason = f"cannot be read ({e.strerror or _first_line(e)})"
    raise OSError(f"{what} {path}: {reason}")


def _first_line(e) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def is_file(path: str) -> bool:
    """Whether ``path`` names an existing file (never raises)."""
    if is_local(path):
        return os.path.isfile(path)
    try:
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.exists(path)
    except Exception:  # noqa: BLE001 - no filesystem for the scheme: not a file we can read
        return False
