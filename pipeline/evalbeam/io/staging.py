"""Staging directories: who owns one, and clearing those that a killed run left behind.

A run writes into a hidden sibling of its output, ``.NAME.tmp-XXXXXXXXXXXX``
(:func:`evalbeam.io.artifacts.staging_dir`). Before that directory exists, the process that
runs the pipeline writes the owner record beside it, ``.NAME.tmp-XXXXXXXXXXXX.owner``: its host
(name, boot and pid namespace), pid and start time, and whether the run's workers are its own
processes (a local runner). The record goes last, once the directory was put in place or
discarded, so a run killed at any moment (``kill -9``, a power cut) leaves its record beside
whatever it left.

The next run into the same output (:func:`clear_stale`) removes what a dead run left: the
record says this host, and no process with its pid and start time is alive here (or the
machine restarted since), and the run's workers were that process's own. It then removes the
staging directory and the earlier result the run was replacing (``.tmp-XXXXXXXXXXXX.old``; put
back in place if the output is missing: the run was killed between the two renames), and only
files named as evalbeam names them: a directory holding anything else is left, and named. Left
as they are, each with one line on stderr: the staging of a run on another host (it may still
be writing), of a run on a remote runner (its workers outlive the process that started them),
and a staging directory without a record. The staging of a live run is not touched.

On object stores (``gs://...``) the same rule holds: the staging objects of a local run that
died on this host are deleted, those of remote runners (Dataflow: the job goes on without the
launching process) are left and named.
"""
from __future__ import annotations

import datetime
import json
import os
import re
import socket
import sys

from apache_beam.io.filesystems import FileSystems

from evalbeam.errors import OutputError
from evalbeam.io.files import SUMMARY_FILE
from evalbeam.io.output_location import json_object, result_name

OWNER = ".owner"  # the owner record's suffix, beside the staging directory
OLD = ".old"  # an earlier result being replaced, beside the staging directory (local)
_STAGING = r"\.tmp-[0-9a-f]{12}"
_REPORT_BEING_WRITTEN = re.compile(r"report\.html\.tmp-\d+\Z")  # evalbeam.report.page


def _remote(path: str) -> bool:
    return "://" in path


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def _started(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot; Linux), else None."""
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]  # field 22; the name before ")" may hold spaces


def _host() -> dict:
    return {"host": socket.gethostname(), "boot": _read("/proc/sys/kernel/random/boot_id"),
            "pid_namespace": _pid_namespace()}


def record(local: bool) -> dict:
    """This process's owner record of a staging directory."""
    pid = os.getpid()
    return {**_host(), "pid": pid, "started": _started(pid), "local": local,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def claim(staging: str, local: bool) -> None:
    """Write this process's owner record beside ``staging``, then create the directory (local)."""
    try:
        with FileSystems.create(staging + OWNER) as f:  # (creates the missing parents)
            f.write(json.dumps(record(local)).encode())
        if not _remote(staging):
            os.mkdir(staging)
    except Exception as e:  # noqa: BLE001 - each filesystem raises its own error types
        raise OutputError(f"cannot create the staging directory {staging}: {e}") from None


def release(staging: str) -> None:
    """Remove the owner record of ``staging`` (once the directory is in place or gone)."""
    try:
        FileSystems.delete([staging + OWNER])
    except Exception:  # noqa: BLE001 - already gone
        pass


def owner_state(owner: dict) -> str:
    """Where the owner of a record is: ``"gone"`` (it ran on this host and is dead, or the
    machine restarted since), ``"here"`` (a process of this host that may be it is alive) or
    ``"elsewhere"`` (another host, or another container's pids)."""
    here = _host()
    if owner.get("host") != here["host"]:
        return "elsewhere"
    if owner.get("boot") and here["boot"] and owner["boot"] != here["boot"]:
        return "gone"  # every process of the earlier boot is
    if owner.get("pid_namespace") != here["pid_namespace"]:
        return "elsewhere"  # another container of the same name: its pids are not ours
    pid = owner.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return "here"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "gone"
    except OSError:  # alive, another user's
        pass
    started = _started(pid)
    if owner.get("started") and started and started != owner["started"]:
        return "gone"  # its pid now names another process
    return "here"


def owner_gone(staging: str) -> bool:
    """Whether the owner record of ``staging`` says its run is gone (a worker process that
    outlived it must not put its result in place)."""
    owner = json_object(staging + OWNER)
    return owner is not None and owner_state(owner) == "gone"


def _say(line: str) -> None:
    print(f"evalbeam: note: {line}", file=sys.stderr)


def clear_stale(output_dir: str) -> None:
    """Remove what dead runs into ``output_dir`` left beside it (see the module's text); say
    in one line each what is left and why."""
    base = output_dir.rstrip("/")
    parent, name = base.rsplit("/", 1) if "/" in base else (".", base)
    for staging, marked in _left(parent, name):
        if not marked:
            _say(f"left {staging}: a staging directory without an owner record (of an older "
                 "evalbeam?); remove it once no run writes there")
            continue
        owner = json_object(staging + OWNER)
        if owner is None:
            _say(f"left {staging}: its owner record {staging + OWNER} cannot be read")
            continue
        state, who = owner_state(owner), f"pid {owner.get('pid')} on {owner.get('host')}"
        if state == "here":
            continue  # a live run's: its own to put in place or discard
        if state == "elsewhere":
            _say(f"left {staging}: the staging of a run by {who}, which may still be writing "
                 "there; remove it once that run is over")
        elif not owner.get("local"):
            _say(f"left {staging}: the staging of a run on a remote runner started by {who} "
                 "(gone), whose workers may still write there; remove it once that job is over")
        else:
            try:
                foreign = _clear(staging, output_dir)
            except OSError as e:  # e.g. a file that appeared meanwhile, or no permission
                _say(f"left {staging}: a dead run's staging that cannot be removed ({e})")
                continue
            if foreign:
                _say(f"left {staging}: a dead run's staging, but it holds files evalbeam does "
                     f"not write ({', '.join(foreign[:3])})")
            else:
                release(staging)


def _left(parent: str, name: str) -> list:
    """[(staging path, whether it has an owner record)] of the staging directories and owner
    records beside the output ``parent/name``."""
    pattern = re.compile(re.escape(f".{name}") + f"({_STAGING})({re.escape(OLD)}|"
                         f"{re.escape(OWNER)})?\\Z")
    if _remote(parent):
        try:
            found = FileSystems.match([f"{parent}/.{name}.tmp-*{OWNER}"])[0].metadata_list
        except Exception:  # noqa: BLE001 - nothing there, or cannot be listed (said later)
            return []
        names = [m.path.rsplit("/", 1)[-1] for m in found]
    else:
        try:
            names = os.listdir(parent)
        except OSError:
            return []
    stagings = {}
    for entry in names:
        match = pattern.match(entry)
        if match:
            staging = f"{parent}/.{name}{match.group(1)}"
            stagings[staging] = stagings.get(staging, False) or match.group(2) == OWNER
    return sorted(stagings.items())


def _clear(staging: str, output_dir: str) -> list:
    """Remove a dead run's staging (and the earlier result it was replacing, put back in
    place when the output is missing); [] when done, else the names that kept it."""
    if _remote(staging):
        return _clear_remote(staging)
    old = staging + OLD
    foreign = [n for d in (staging, old) if os.path.isdir(d) for n in _foreign_local(d)]
    if foreign:
        return foreign
    if os.path.isdir(old):
        if not os.path.lexists(output_dir) and os.path.exists(os.path.join(old, SUMMARY_FILE)):
            os.rename(old, output_dir)
            _say(f"put back {output_dir}: the earlier result, which a killed run was replacing")
        else:
            _remove_local(old)
    if os.path.isdir(staging):
        _remove_local(staging)
    return []


def _own(name: str) -> bool:
    """Whether a file of a staging directory is named as evalbeam names what it writes there."""
    return bool(result_name(name) or _REPORT_BEING_WRITTEN.match(name))


def _foreign_local(directory: str) -> list:
    with os.scandir(directory) as entries:
        return sorted(e.name for e in entries
                      if not (e.is_file(follow_symlinks=False) and _own(e.name)))


def _remove_local(directory: str) -> None:
    for entry in os.listdir(directory):
        os.remove(os.path.join(directory, entry))
    os.rmdir(directory)


def _clear_remote(staging: str) -> list:
    prefix = FileSystems.join(staging, "")
    try:
        found = FileSystems.match([FileSystems.join(staging, "**")])[0].metadata_list
    except Exception:  # noqa: BLE001 - nothing under it
        found = []
    names = [m.path[len(prefix):] for m in found]
    foreign = sorted(n for n in names if not _own(n))
    if not foreign and found:
        FileSystems.delete([m.path for m in found])
    return foreign
