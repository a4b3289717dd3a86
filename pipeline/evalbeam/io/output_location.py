"""Where a run may write its artifacts, and how a finished run takes that place.

evalbeam replaces only what it wrote. The output location may be missing, an empty directory,
or an earlier evalbeam result (its files all named as evalbeam names them, its
``eval_config.json`` written by evalbeam); anything else is refused before any work, in one
line naming the location and why. A finished run replaces an earlier result only once the new
one is complete:

- local directories: the complete staging directory is renamed into place and the old one
  removed afterwards;
- object stores (``gs://...``; no rename of directories): the old ``summary.json`` is removed
  first (so the place is not read as a result meanwhile), the new files are moved in, the new
  ``summary.json`` (listing the run's files) last, and then the old result's other files are
  deleted. Readers read only the files that ``summary.json`` lists.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile

from apache_beam.io.filesystems import FileSystems

from evalbeam.errors import OutputError, first_line
from evalbeam.io.files import (BLESSED_FILE, CONFIG_FILE, NOT_BLESSED_FILE, REGRESSIONS_FILE,
                                   REPORT_FILE, SUMMARY_FILE, VALIDATIONS_FILE)

_RESULT_NAMES = re.compile(
    r"(?:(?:metrics|plots)-\d{5}-of-\d{5}\.tfrecord|" + "|".join(re.escape(n) for n in (
        CONFIG_FILE, SUMMARY_FILE, VALIDATIONS_FILE, BLESSED_FILE, NOT_BLESSED_FILE,
        REGRESSIONS_FILE, REPORT_FILE)) + r")\Z")

_WANTED = "give a new or empty directory, or an earlier evalbeam result to replace"


def result_name(name: str) -> bool:
    """Whether a file's name is one evalbeam gives the files of a result."""
    return bool(_RESULT_NAMES.match(name))


def _remote(path: str) -> bool:
    return "://" in path


def local_entries(path: str):
    """Names in a local directory, each with whether it is a plain file."""
    with os.scandir(path) as entries:
        return [(e.name, e.is_file(follow_symlinks=False)) for e in entries]


def _remote_entries(path: str):
    """Object names under ``path/`` (relative to it); [] when there are none."""
    prefix = FileSystems.join(path, "")
    try:
        found = FileSystems.match([FileSystems.join(path, "**")])[0].metadata_list
    except Exception as e:  # noqa: BLE001 - each filesystem raises its own error types
        raise OutputError(f"output {path}: cannot list it ({first_line(e)})") from None
    return [(m.path[len(prefix):], "/" not in m.path[len(prefix):]) for m in found]


def json_object(path: str):
    """The JSON object in the file at ``path``, or None (missing, unreadable, not an object)."""
    try:
        with FileSystems.open(path) as f:
            value = json.loads(f.read().decode())
    except Exception:  # noqa: BLE001 - missing, unreadable or not JSON
        return None
    return value if isinstance(value, dict) else None


def foreign_entries(path: str, entries) -> list:
    """The entries of an existing directory that keep it from being an evalbeam result
    (["eval_config.json"] when that is missing or not evalbeam's); [] for an empty directory
    or a result. A result's files are those evalbeam names, and any its summary.json lists."""
    if not entries:
        return []
    names = {name for name, is_file in entries if is_file}
    listed = set()
    if SUMMARY_FILE in names:
        listed = set((json_object(FileSystems.join(path, SUMMARY_FILE)) or {}).get("files") or [])
    foreign = sorted(name for name, is_file in entries
                     if not is_file or not (_RESULT_NAMES.match(name) or name in listed))
    if foreign:
        return foreign
    run = json_object(FileSystems.join(path, CONFIG_FILE)) if CONFIG_FILE in names else None
    if not run or not str(run.get("version", "")).startswith("evalbeam "):
        return [CONFIG_FILE]
    return []


def _inside(path: str, directory: str) -> bool:
    if _remote(path) != _remote(directory):
        return False
    if _remote(directory):
        return path.startswith(directory.rstrip("/") + "/")
    return os.path.realpath(path).startswith(os.path.realpath(directory) + os.sep)


def check_output(output_dir: str, inputs=()) -> None:
    """Raise OutputError unless the run may write ``output_dir``: missing, an empty directory
    or an earlier evalbeam result, writable, and holding none of ``inputs`` (data, config and
    schema files: paths that need not exist)."""
    if not output_dir or not output_dir.strip():
        raise OutputError("no output directory given")
    if not _remote(output_dir):
        _check_not_current(output_dir)
    for name in inputs:
        if name and _inside(name, output_dir):
            raise OutputError(f"output {output_dir} holds an input of this run ({name}); "
                              f"{_WANTED}")
    if _remote(output_dir):
        _check_remote(output_dir)
    else:
        _check_local(output_dir)


def _check_not_current(output_dir: str) -> None:
    here = os.path.realpath(os.getcwd())
    target = os.path.realpath(output_dir)
    if target == here:
        raise OutputError(f"output {output_dir} is the current directory; give a directory of "
                          "its own, e.g. ./evalbeam-output")
    if here.startswith(target.rstrip(os.sep) + os.sep):
        raise OutputError(f"output {output_dir} holds the current directory; {_WANTED}")


def _check_local(output_dir: str) -> None:
    target = os.path.realpath(output_dir)
    if os.path.islink(output_dir):
        raise OutputError(f"output {output_dir} is a symbolic link; give the directory itself "
                          f"({target})")
    if os.path.lexists(output_dir):
        if not os.path.isdir(output_dir):
            raise OutputError(f"output {output_dir} is an existing file, not a directory; "
                              f"{_WANTED}")
        try:
            entries = local_entries(output_dir)
        except OSError as e:
            raise OutputError(f"output {output_dir} cannot be read: {e.strerror}") from None
        foreign = foreign_entries(output_dir, entries)
        if foreign:
            raise OutputError(f"output {output_dir} is not empty and not an evalbeam result "
                              f"(it holds {_names(foreign)}); {_WANTED}")
    _probe_local(output_dir)


def _names(names: list) -> str:
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _probe_local(output_dir: str) -> None:
    """Can the run create its staging directory next to ``output_dir`` and rename it?"""
    parent = os.path.dirname(os.path.abspath(output_dir))
    existing = parent
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise OutputError(f"output {output_dir} cannot be created: {existing} is a file")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".evalbeam-probe-", dir=existing))
    except OSError as e:
        raise OutputError(f"output {output_dir} cannot be written: {e.strerror} "
                          f"(in {existing})") from None


def _check_remote(output_dir: str) -> None:
    try:
        FileSystems.get_filesystem(output_dir)
    except ValueError:
        scheme = output_dir.split("://", 1)[0]
        raise OutputError(f"output {output_dir}: no filesystem for {scheme}:// is installed "
                          f"(for gs:// install apache-beam[gcp])") from None
    entries = _remote_entries(output_dir)
    foreign = foreign_entries(output_dir, entries)
    if foreign:
        raise OutputError(f"output {output_dir} is not empty and not an evalbeam result "
                          f"(it holds {_names(foreign)}); {_WANTED}")
    probe = FileSystems.join(f"{output_dir.rstrip('/')}.evalbeam-probe", "probe")
    try:
        FileSystems.create(probe).close()
        FileSystems.delete([probe])
    except Exception as e:  # noqa: BLE001 - each filesystem raises its own error types
        raise OutputError(f"output {output_dir} cannot be written ({first_line(e)})") from None


def put_in_place(staging: str, output_dir: str, files: list) -> None:
    """Replace ``output_dir`` (missing, empty or an earlier result) with the complete run in
    ``staging``, whose ``files`` are all its files but ``summary.json``."""
    if _remote(output_dir):
        _put_remote(staging, output_dir, files)
    else:
        _put_local(staging, output_dir)


def _still_replaceable(output_dir: str, entries) -> None:
    foreign = foreign_entries(output_dir, entries)
    if foreign:
        raise OutputError(f"output {output_dir} changed during the run and now holds "
                          f"{_names(foreign)}; it was left as it is and this run's result "
                          "discarded")


def _put_local(staging: str, output_dir: str) -> None:
    old = None
    if os.path.lexists(output_dir):
        _still_replaceable(output_dir, local_entries(output_dir))
        old = f"{staging}.old"
        os.rename(output_dir, old)
    try:
        os.rename(staging, output_dir)
    except OSError:
        if old:
            os.rename(old, output_dir)
        raise
    if old:
        shutil.rmtree(old, ignore_errors=True)


def _put_remote(staging: str, output_dir: str, files: list) -> None:
    entries = _remote_entries(output_dir)
    _still_replaceable(output_dir, entries)
    old = {name for name, _ in entries}
    summary = FileSystems.join(output_dir, SUMMARY_FILE)
    if SUMMARY_FILE in old:
        FileSystems.delete([summary])
    # eval_config.json first: a run killed while moving leaves a place the next run may replace
    files = sorted(files, key=lambda n: n != CONFIG_FILE)
    FileSystems.rename([FileSystems.join(staging, n) for n in files],
                       [FileSystems.join(output_dir, n) for n in files])
    FileSystems.rename([FileSystems.join(staging, SUMMARY_FILE)], [summary])
    stale = sorted(old - set(files) - {SUMMARY_FILE})
    if stale:
        FileSystems.delete([FileSystems.join(output_dir, n) for n in stale])
