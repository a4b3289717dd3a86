"""Beam pipeline flags checked before a run: every flag is one Beam defines (a typo is an
error with the nearest spelling, never a flag Beam silently ignores), the runner exists, and a
job service named by ``--job_endpoint`` answers.
"""
from __future__ import annotations

import difflib
import functools
import importlib

from evalbeam.errors import EvalbeamError

JOB_ENDPOINT_TIMEOUT = 30  # seconds to wait for a job service, unless --job_server_timeout says
_LOCAL = ("DirectRunner", "FnApiRunner")
# options classes Beam defines outside pipeline_options, registered when their module loads
_OPTION_MODULES = ("apache_beam.runners.dask.dask_runner",)
# runners Beam has but does not know by a short name
_RUNNERS = {"daskrunner": "apache_beam.runners.dask.dask_runner.DaskRunner"}
_EXTRAS = {"dataflow": "DataflowRunner needs apache-beam[gcp]",
           "dask": "DaskRunner needs evalbeam[dask], i.e. dask[distributed]"}


def _flags_of_beam(every_module: bool = True) -> dict:
    """{flag spelling: whether it takes a value} of every registered PipelineOptions class;
    ``every_module``: also of those :data:`_OPTION_MODULES` register (loading the Dask runner
    takes most of a second: only for a flag the others do not know)."""
    from apache_beam.options import pipeline_options as po

    for module in _OPTION_MODULES if every_module else ():
        try:
            importlib.import_module(module)
        except ImportError:  # its runner's extra is not installed: its flags are not known
            pass
    return _flags_of(tuple(po.PipelineOptions.__subclasses__()))


@functools.lru_cache(maxsize=4)
def _flags_of(subclasses: tuple) -> dict:
    from apache_beam.options import pipeline_options as po

    classes = {}
    for cls in subclasses:
        classes.setdefault(str(cls), cls)  # as PipelineOptions.get_all_options does
    known = {}
    for cls in classes.values():
        parser = po._BeamArgumentParser(allow_abbrev=False, add_help=False)
        cls._add_argparse_args(parser)
        for action in parser._actions:
            for spelling in action.option_strings:
                known[spelling] = action.nargs != 0
    return known


def _value(flags: list, name: str):
    """The value of ``--name=value`` or ``--name value`` (the last one given), else None."""
    found = None
    for i, flag in enumerate(flags):
        if flag.startswith(name + "="):
            found = flag.split("=", 1)[1]
        elif flag == name and i + 1 < len(flags):
            found = flags[i + 1]
    return found


def _suggest(name: str, candidates) -> str:
    """The nearest flag, spelled as the user spells (``--fail-on-alrt``: ``--fail-on-alert``)
    when it may be, else as first listed (with underscores)."""
    candidates = list(candidates)
    normal = {}
    for c in candidates:
        normal.setdefault(c.replace("-", "_").lower(), c)
    close = difflib.get_close_matches(name.replace("-", "_").lower(), list(normal), n=1,
                                      cutoff=0.6)
    if not close:
        return ""
    found = normal[close[0]]
    hyphens = "--" + found[2:].replace("_", "-")
    if "-" in name[2:] and hyphens in candidates:
        found = hyphens
    return f" (did you mean {found}?)"


_DATA_HINT = ("an unquoted glob the shell expanded? give every data path after --data, or "
              "quote the pattern")


def unexpected(arg: str, flags, hint: str = "nothing takes it") -> str:
    """The message for an argument that no flag takes: an unknown flag with the nearest of
    ``flags``, or a stray word."""
    if arg.startswith("--") and arg != "--":
        name = arg.split("=", 1)[0]
        return f"unknown flag {name}{_suggest(name, flags)}: neither evalbeam nor Beam has it"
    return f"unexpected argument {arg!r} ({hint})"


def check(flags: list, own=()) -> None:
    """Raise EvalbeamError unless every flag is one Beam defines, given with its value, and
    the runner they name can be loaded. ``own``: the caller's flags, suggested for typos."""
    runner = _value(flags, "--runner")
    if runner:
        runner_class(runner)  # importing a runner's module registers its options
    known = _flags_of_beam(every_module=False)
    if any(f.startswith("--") and f.split("=", 1)[0] not in known for f in flags):
        known = _flags_of_beam()
    i = 0
    while i < len(flags):
        flag = flags[i]
        name, has_value = flag.split("=", 1)[0], "=" in flag
        if not flag.startswith("--") or flag == "--" or name not in known:
            raise EvalbeamError(unexpected(flag, [*own, *known], _DATA_HINT))
        i += 1
        if known[name] and not has_value and i < len(flags) and not flags[i].startswith("--"):
            i += 1  # its value, given separately


def runner_class(name: str):
    """The runner class Beam would create for ``--runner=name``, or a one-line error."""
    from apache_beam.options.pipeline_options import StandardOptions
    from apache_beam.runners import runner as beam_runner

    runners = {**beam_runner._RUNNER_MAP, **_RUNNERS}
    path = runners.get(name.lower(), runners.get(name.lower() + "runner", name))
    if "." not in path:
        known = [*StandardOptions.KNOWN_RUNNER_NAMES, "DaskRunner"]
        raise EvalbeamError(f"unknown runner {name!r} for --runner{_suggest(name, known)}; "
                            f"known: {', '.join(known)}, or the module path of a "
                            "PipelineRunner subclass")
    module, cls = path.rsplit(".", 1)
    try:
        return getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as e:
        hint = next((f" ({h})" for word, h in _EXTRAS.items() if word in path.lower()), "")
        raise EvalbeamError(f"runner {name!r} cannot be loaded: {e}{hint}") from None


def _is_local(name) -> bool:
    return name is None or name in _LOCAL or name.lower() in ("direct", "directrunner")


def local_runner(flags) -> bool:
    """Whether the flags leave the run to Beam's in-process runner (whose worker processes,
    if any, run on this machine)."""
    return _is_local(_value(list(flags or []), "--runner"))


def runs_here(runner) -> bool:
    """Whether ``runner`` runs a pipeline in this process and worker processes of its own on
    this machine, not on a cluster or a job service (whose work may outlive this process)."""
    names = {cls.__name__ for cls in type(runner).__mro__}
    return bool(names & {"FnApiRunner", "DirectRunner", "BundleBasedDirectRunner"})


def create_runner(options):
    """The runner for ``options``: Beam's in-process FnApiRunner for local runs (never Prism,
    which downloads a binary), else the one named, once its job service answers."""
    from apache_beam.options.pipeline_options import StandardOptions

    name = options.view_as(StandardOptions).runner
    if _is_local(name):
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        return FnApiRunner()
    runner = runner_class(name)()
    check_job_endpoint(options)
    return runner


def check_job_endpoint(options) -> None:
    """A job service named by ``--job_endpoint`` must answer within ``--job_server_timeout``
    seconds when given, else JOB_ENDPOINT_TIMEOUT (Beam would wait 300 s without a word)."""
    from apache_beam.options.pipeline_options import PortableOptions

    portable = options.view_as(PortableOptions)
    endpoint = portable.job_endpoint
    if not endpoint or endpoint == "embed":
        return
    flags = getattr(options, "_flags", None) or []
    given = any(f.split("=", 1)[0] in ("--job_server_timeout", "--job-server-timeout")
                for f in flags) or "job_server_timeout" in options.get_all_options(
                    drop_default=True)
    timeout = portable.job_server_timeout if given else JOB_ENDPOINT_TIMEOUT
    import grpc

    channel = grpc.insecure_channel(endpoint)
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        raise EvalbeamError(f"no job service answers at {endpoint} (--job_endpoint) within "
                            f"{timeout} s; is it running? (--job_server_timeout=SECONDS waits "
                            "longer)") from None
    finally:
        channel.close()
