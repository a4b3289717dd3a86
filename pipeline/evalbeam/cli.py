"""``evalbeam evaluate``, ``show``, ``diff``, ``history``, ``report`` and ``demo``.

Exit codes: 0 evaluated and validation passed (or no thresholds configured); 1 evaluated and
validation failed; 2 a user error (one-line message, no traceback); 3 an internal error (the
traceback, then a line saying so); 4 a worker process of a local run died (one line; nothing was
written).
"""
from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import logging
import os
import pathlib
import sys
import threading
import warnings

EXIT_CODES = """exit codes: 0 evaluated and validation passed (or no thresholds configured),
1 validation failed, 2 bad input, configuration or flags (one line on stderr),
3 internal error (a traceback), 4 a worker process died (killed, out of memory?): the run was
stopped and wrote nothing; running it again may succeed (one line on stderr)"""
READER_EXIT_CODES = """exit codes: 0 shown, 2 not a readable result directory (one line on stderr),
3 internal error (a traceback)"""
HISTORY_EXIT_CODES = """exit codes: 0 shown (with --fail_on_alert: the latest run violates no value
threshold of the values shown), 1 --fail_on_alert and the latest run violates one (each on
stderr), 2 a RUN_DIR that is not a readable result, or a --metric or --slice that names nothing
there (one line on stderr), 3 internal error (a traceback)"""
HISTORY_EPILOG = """Runs are ordered by the start of their data span (evaluate --data_span; ties by
its end), else by when they were evaluated; runs with neither come last, in the order given.
The last is the latest run. A directory given twice (runs/a and runs/a/) is read once.

Shown by default: every metric of the Overall slice. Bounds are the run's own value thresholds
(not change or cross-slice ones) that check the value in its slice.

""" + HISTORY_EXIT_CODES
SHOW_EXIT_CODES = """exit codes: 0 shown, 2 not a readable result directory, or a --metric, --slice
or --sort that names nothing there (one line on stderr), 3 internal error (a traceback)"""
EVALUATE_USAGE = """evalbeam evaluate --config CFG --data PATH [PATH ...] --output DIR
                         [--format {parquet,csv,tfrecord}] [--schema SCHEMA]
                         [--batch_size N] [--baseline_result DIR]
                         [--statistics] [--statistics_features A,B,...]
                         [--baseline_statistics FILE] [--baseline_data GLOB ...]
                         [--model [NAME=]PATH ...] [--model_option [NAME:]KEY=VALUE ...]
                         [--run_name NAME] [--data_span START..END] [--quiet]
                         [beam flags ...]"""
EVALUATE_EPILOG = """--output may be missing, an empty directory or an earlier evalbeam result
(which the new one replaces once complete); anything else is refused and left untouched.

Without a runner flag a run uses one process: worker processes were measured slower than
one process on every input size tried (10 million rows on 2 cores).

Flags evalbeam does not define go to Beam and win over that choice, e.g.
--direct_num_workers=1 (one process), --runner=DataflowRunner, --runner=PortableRunner
--job_endpoint=HOST:PORT (a job service that does not answer within {0} s, or
--job_server_timeout=SECONDS, stops the run). A flag neither defines is an error.
--runner=DaskRunner --dask_client_address=HOST:PORT runs on that Dask cluster (pip install
evalbeam[dask]); without an address Dask starts a local cluster for the run and stops it
after. Each read task gets its own Dask partition unless --dask_npartitions says otherwise.

""" + EXIT_CODES


QUIET_HELP = ("no progress line (otherwise drawn on stderr when it is a terminal and the "
              "runner is local)")


class _Parser(argparse.ArgumentParser):
    """argparse without abbreviations (``--out`` is not ``--output``: a typo is an error)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(**kwargs)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _flag(parser, name, **kwargs):
    """A flag spelled with underscores, also accepted with hyphens."""
    spellings = [name] + ([name.replace("_", "-")] if "_" in name else [])
    return parser.add_argument(*spellings, **kwargs)


def _parser():
    from evalbeam import __version__
    from evalbeam.pipeline_flags import JOB_ENDPOINT_TIMEOUT

    parser = _Parser(prog="evalbeam", description="Sliced model evaluation on Apache Beam.",
                     epilog="evalbeam COMMAND --help describes each command.\n\n" + EXIT_CODES)
    parser.add_argument("--version", action="version", version=f"evalbeam {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)
    ev = sub.add_parser("evaluate", help="evaluate predictions stored in files (or models)",
                        usage=EVALUATE_USAGE,
                        epilog=EVALUATE_EPILOG.format(JOB_ENDPOINT_TIMEOUT),
                        description="Evaluate predictions stored in files, or models run on "
                                    "them (--model), and write the artifacts to a directory.")
    _flag(ev, "--config", required=True, metavar="CFG", help="EvalConfig file (text proto or JSON)")
    _flag(ev, "--data", required=True, nargs="+", action="extend", metavar="PATH",
          help="files or globs (several, or repeat --data); Parquet, CSV or TFRecord. Every "
               "path given is read.")
    _flag(ev, "--output", required=True, metavar="DIR",
          help="output directory: missing, empty, or an earlier result to replace")
    _flag(ev, "--format", choices=("parquet", "csv", "tfrecord"),
          help="data format (default: from the file extension)")
    _flag(ev, "--schema", help="tensorflow-metadata Schema (text proto) typing CSV columns; "
                               "the data's statistics are validated against it "
                               "(data_quality.schema_path)")
    _flag(ev, "--batch_size", type=_positive, default=None, metavar="N", help="rows per record batch")
    _flag(ev, "--baseline_result", metavar="DIR",
          help="an earlier output directory whose metrics stand for the baseline model (which "
               "is then not evaluated)")
    _flag(ev, "--statistics", action="store_true",
          help="also compute the data's statistics per slice (statistics.tfrecord; "
               "data_quality.statistics)")
    _flag(ev, "--statistics_features", metavar="A,B,...",
          help="the columns the statistics describe (default: every column; "
               "data_quality.features)")
    _flag(ev, "--baseline_statistics", metavar="FILE",
          help="statistics to compare the data's with for drift: an earlier run's "
               "statistics.tfrecord or TFDV's (data_quality.baseline_statistics)")
    _flag(ev, "--baseline_data", action="append", default=[], metavar="GLOB",
          help="baseline data read in the same pipeline (repeat for several): its statistics "
               "are written as baseline_statistics.tfrecord (data_quality.baseline_data)")
    _flag(ev, "--model", action="append", default=[], metavar="[NAME=]PATH",
          help="a model file (.joblib, .pkl, .pickle, .onnx; another suffix: --model_option "
               "format=...) run in the pipeline for the "
               "config's model spec NAME (repeat for several; no NAME: the only model spec); "
               "its predictions replace stored ones. joblib and pickle files run code when "
               "loaded: give only files you trust")
    _flag(ev, "--model_option", action="append", default=[], metavar="[NAME:]KEY=VALUE",
          help="an option of model NAME's file (repeatable; no NAME: the --model given "
               "without one): format=sklearn|onnx when the suffix does not say it; ONNX: "
               "input_name=INPUT, output_name=OUTPUT, kind=classifier|regressor")
    _flag(ev, "--run_name", metavar="NAME",
          help="a name for this run, kept in summary.json (history and reports show it)")
    _flag(ev, "--data_span", metavar="START..END",
          help="the span of time the data covers, ISO dates or date-times "
               "(2026-11-01..2026-11-07), kept in summary.json; history orders runs by it")
    _flag(ev, "--no_report", action="store_true",
          help="do not write report.html (the result's page) beside the artifacts")
    _flag(ev, "--quiet", action="store_true", help=QUIET_HELP)
    show = sub.add_parser("show", help="print the metrics and validation outcome of a result",
                          description="Print the metrics per slice and the validation outcome "
                                      "of an output directory.", epilog=SHOW_EXIT_CODES)
    show.add_argument("dir", metavar="DIR", help="an output directory of evalbeam evaluate")
    form = show.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true",
                      help="one JSON object per metric value (per threshold, matrix entry), "
                      "one per line")
    form.add_argument("--csv", action="store_true", help="the table as CSV, full precision")
    show.add_argument("--metric", action="append", default=[], metavar="NAME",
                      help="show only this metric (repeatable): a name (all its thresholds) "
                      "or a column such as precision@0.3")
    show.add_argument("--slice", action="append", default=[], metavar="COLUMN=VALUE",
                      help="show only slices with this value (repeatable: values of one column "
                      "are alternatives, different columns all apply)")
    show.add_argument("--sort", metavar="METRIC",
                      help="order slices by this metric, highest first (Overall stays first)")
    count = show.add_mutually_exclusive_group()
    count.add_argument("--top", type=_positive, metavar="N", help="only the N highest slices "
                       "by --sort (default: by weighted example count), besides Overall")
    count.add_argument("--bottom", type=_positive, metavar="N",
                       help="only the N lowest slices, lowest first")
    diff = sub.add_parser("diff", help="slices where the candidate is worse than the baseline",
                          description="List the slices where a candidate is worse than the "
                                      "baseline, largest impact first.",
                          epilog=READER_EXIT_CODES)
    diff.add_argument("dir", metavar="DIR", help="an output directory of a run with a baseline")
    diff.add_argument("--json", action="store_true", help="one JSON object per regression")
    _flag(diff, "--top", type=int, default=20, metavar="N",
          help="list the N largest (default 20; 0 lists all)")
    _flag(diff, "--fail_on_regression", action="store_true",
          help="exit 1 when there is any regression")
    hist = sub.add_parser("history", help="a metric across runs, in time order, against its "
                          "value thresholds", epilog=HISTORY_EPILOG,
                          description="Print the values of several runs in time order, each "
                                      "with its run's value thresholds; --fail_on_alert exits 1 "
                                      "when the latest run violates one.")
    hist.add_argument("dirs", nargs="+", metavar="RUN_DIR",
                      help="output directories of evalbeam evaluate (e.g. runs/*/)")
    hist.add_argument("--metric", action="append", default=[], metavar="NAME",
                      help="only this metric (repeatable): a name (all its values: weighted "
                      "and unweighted, every threshold) or a column such as precision@0.5 "
                      "(default: every metric)")
    where = hist.add_mutually_exclusive_group()
    where.add_argument("--slice", action="append", default=[], metavar="COLUMN=VALUE",
                       help="slices with this value instead of Overall (repeatable, as for "
                       "show: values of one column are alternatives, different columns all "
                       "apply)")
    _flag(where, "--all_slices", action="store_true", help="every slice instead of Overall")
    hist.add_argument("--format", choices=("table", "csv", "json"), default="table",
                      help="aligned text (default), CSV (a row per run x slice x value, full "
                      "precision) or one JSON object per row")
    _flag(hist, "--fail_on_alert", action="store_true",
          help="exit 1 when the latest run violates a value threshold of the values shown")
    demo = sub.add_parser("demo", help="generate example data, evaluate it and show the result",
                          description="Generate example data (DIR/data.parquet), evaluate it "
                                      "into DIR/result and show the result.",
                          epilog="DIR may be missing, empty or an earlier demo's folder (which "
                                 "is replaced); anything else is refused.\n\n" + EXIT_CODES)
    demo.add_argument("--output", default="evalbeam-demo", metavar="DIR",
                      help="folder for data and result (default: %(default)s)")
    demo.add_argument("--rows", type=int, default=100_000, metavar="N",
                      help="example rows to generate (default: %(default)s)")
    demo.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    report = sub.add_parser("report", help="build the HTML report of one or several results",
                            description="Build one self-contained HTML page from finished "
                                        "results (several: with a metrics-over-time view). It "
                                        "opens offline in any browser.",
                            epilog="FILE may be missing or an earlier evalbeam report (which is "
                                   "replaced); anything else is refused.\n\n" + READER_EXIT_CODES)
    report.add_argument("dirs", nargs="+", metavar="RUN_DIR", help="output directories of "
                        "evalbeam evaluate (a shell glob such as runs/*/ works)")
    report.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="the page to write, e.g. report.html")
    infer = sub.add_parser("infer-schema", help="write a tensorflow-metadata schema of data files",
                           description="Describe data files and write the schema TFDV's "
                                       "infer_schema would (types, presence, value counts, string "
                                       "domains of low-cardinality strings), ready to edit and "
                                       "commit; evaluate --schema FILE then validates against it.",
                           epilog="FILE is never replaced unless --overwrite is given.\n\n"
                                  "exit codes: 0 written, 2 a data path, column or FILE that "
                                  "cannot be used (one line on stderr), 3 internal error (a "
                                  "traceback)")
    _flag(infer, "--data", required=True, nargs="+", action="extend", metavar="PATH",
          help="files, globs or folders; Parquet, CSV or TFRecord")
    _flag(infer, "--format", choices=("parquet", "csv", "tfrecord"),
          help="data format (default: from the file extension)")
    _flag(infer, "--schema", metavar="SCHEMA",
          help="a schema typing CSV columns (else they are inferred)")
    _flag(infer, "--features", metavar="A,B,...",
          help="the columns the schema describes (default: every column)")
    _flag(infer, "--max_string_domain_size", type=_positive, default=100, metavar="N",
          help="a string column of at most N distinct values gets a domain (default 100)")
    infer.add_argument("-o", "--output", required=True, metavar="FILE",
                       help="the schema to write (text format), e.g. schema.pbtxt")
    _flag(infer, "--overwrite", action="store_true", help="replace FILE if it exists")
    return parser, {"evaluate": ev, "demo": demo, "show": show, "diff": diff, "report": report,
                    "history": hist, "infer-schema": infer}


def _unknown_reader_flag(argv: list, commands: dict):
    """The first flag a reading command (show, diff, report, history, infer-schema) lacks:
    these take no Beam flags, so ``--outptu`` is a typo to name, not a missing ``-o``."""
    if not argv or argv[0] not in commands or argv[0] in ("evaluate", "demo"):
        return None
    own = set(_own_flags(commands[argv[0]]))
    for arg in argv[1:]:
        if arg == "--":
            return None
        if arg.startswith("--") and arg.split("=", 1)[0] not in own:
            return arg
    return None


def _own_flags(parser) -> list:
    return [s for action in parser._actions for s in action.option_strings]


# Set once this process has imported Beam: a thread that lists files through Beam's
# filesystems waits for it, since Beam imported from two threads at once can fail on its own
# circular imports ("partially initialized module").
_BEAM_IMPORTED = threading.Event()


def _import_beam_without_pandas() -> None:
    """Import Beam without letting it import pandas. When pandas is installed Beam imports it
    at start-up, only to register pandas type hints that evalbeam never uses: about half a
    second of every command. pandas stays importable afterwards (EvalResult.to_dataframe)."""
    if "apache_beam" in sys.modules or "pandas" in sys.modules:
        _BEAM_IMPORTED.set()
        return
    sys.modules["pandas"] = None  # makes ``import pandas`` fail, as if not installed
    try:
        import apache_beam  # noqa: F401
    finally:
        del sys.modules["pandas"]
        _BEAM_IMPORTED.set()


def _total_rows(data, data_format):
    """The progress line's total (:func:`evalbeam.io.row_counts.total_rows`), once Beam is
    imported."""
    from evalbeam.io import row_counts

    _BEAM_IMPORTED.wait()
    return row_counts.total_rows(data, data_format)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ["evaluate"]:  # (evaluate imports Beam once its reading has started)
        _import_beam_without_pandas()
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    # Beam logs the traceback of an exception raised in a step before re-raising it; the
    # exception reaches us and is reported in one line below (or, if unexpected, in full).
    logging.getLogger("apache_beam.runners.common").setLevel(logging.CRITICAL)
    # a Dask cluster the run starts (--runner=DaskRunner without an address) logs at INFO in
    # every process it starts; warnings and errors only, unless the environment says otherwise
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    parser, commands = _parser()
    typo = _unknown_reader_flag(argv, commands)
    if typo is not None:  # said before argparse's complaint about what the typo left out
        from evalbeam.pipeline_flags import unexpected

        print(f"evalbeam: error: {unexpected(typo, _own_flags(commands[argv[0]]))}",
              file=sys.stderr)
        return 2
    args, extra = parser.parse_known_args(argv)
    from evalbeam.errors import EvalbeamError

    try:
        own = _own_flags(commands[args.command])
        if args.command in ("evaluate", "demo"):
            from evalbeam import pipeline_flags

            if extra:
                pipeline_flags.check(extra, own)
            return _evaluate(args, extra) if args.command == "evaluate" else _demo(args, extra)
        if extra:
            from evalbeam.pipeline_flags import unexpected

            takes = "directories" if args.command in ("history", "report") else "one directory"
            raise EvalbeamError(unexpected(extra[0], own, f"{args.command} takes {takes}"))
        if args.command == "report":
            return _report(args)
        if args.command == "infer-schema":
            return _infer_schema(args)
        if args.command == "history":
            return _history(args)
        return _diff(args) if args.command == "diff" else _show(args)
    except EvalbeamError as e:
        print(f"evalbeam: error: {e.message}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        wrote = (f": the run wrote nothing to {args.output}" if args.command == "evaluate"
                 else "")
        print(f"evalbeam: interrupted{wrote}", file=sys.stderr)
        return 130  # (128 + SIGINT, as shells report it)
    except Exception:  # noqa: BLE001 - anything else is a bug or a failed environment
        import traceback

        traceback.print_exc()
        print("evalbeam: internal error (exit code 3): a failure that is not about the input or "
              "configuration; the traceback above says where", file=sys.stderr)
        return 3


def _evaluate(args, beam_args) -> int:
    from evalbeam import pipeline_flags, progress, read_ahead, worker_pool
    from evalbeam.errors import EvalbeamWarning
    from evalbeam.io import readers
    from evalbeam.io.files import REPORT_FILE
    from evalbeam.run_facts import check_run_name, parse_span

    batch_size = args.batch_size or readers.DEFAULT_BATCH_SIZE
    run_name = check_run_name(getattr(args, "run_name", None), "--run_name")
    span = getattr(args, "data_span", None)
    span = None if span is None else parse_span(span, "--data_span")
    total = lambda: _total_rows(args.data, args.format)  # noqa: E731
    # a remote runner's workers cannot report to the line
    line = not args.quiet and pipeline_flags.local_runner(beam_args)
    models = _models(getattr(args, "model", []), getattr(args, "model_option", []))
    data_quality = _data_quality(args)
    # --config is always a path (pathlib would mangle a URL's "//")
    config = args.config if "://" in args.config else pathlib.Path(args.config)
    with warnings.catch_warnings(), progress.shown(total, line), \
            contextlib.ExitStack() as ahead:
        if not (beam_args or models or args.baseline_result):
            ahead.callback(worker_pool.stop_ahead)
            read_ahead.start(config, args.data, args.format, args.schema, batch_size,
                             data_quality)
        _import_beam_without_pandas()
        from evalbeam.api import run_evaluation

        warnings.simplefilter("ignore", EvalbeamWarning)  # said in one line each below
        result = run_evaluation(config, args.data, args.output,
                                pipeline_options=beam_args,
                                data_format=args.format, schema=args.schema,
                                batch_size=batch_size, baseline_result=args.baseline_result,
                                report=not args.no_report, run_name=run_name, data_span=span,
                                models=models, data_quality=data_quality)
    from evalbeam.io.artifacts import plot_cut_lines
    from evalbeam.io.data_quality import not_described

    _warnings(result, sys.stderr, "evalbeam: warning: ")
    s = result.summary
    dropped = sum(s["rows_dropped"].values())
    print(f"evaluated {s['rows_used']} of {s['rows_read']} rows ({dropped} dropped) in "
          f"{s['slices']} slices -> {args.output}")
    print("".join(f"{line}\n" for line in plot_cut_lines(s)), end="")
    for name, what in s.get("statistics", {}).items():
        omitted = what.get("omitted_below_min_slice_size", 0)
        print(f"statistics: {what['slices']} slices -> {name}" +
              (f" ({omitted} below min_slice_size left out)" if omitted else ""))
    if not_described(s):
        print(f"statistics: {not_described(s)}")
    code = _outcome(result, sys.stdout)
    if REPORT_FILE in s.get("files", []):
        print(f"report: {_report_path(args.output)} (opens offline in any browser)")
    return code


def _data_quality(args):
    """The data-quality flags as a DataQuality merged into the config's (None: none given)."""
    from evalbeam.errors import ConfigError
    from evalbeam.proto import config_pb2

    dq = config_pb2.DataQuality()
    given = False
    if getattr(args, "statistics", False):
        dq.statistics, given = True, True
    features = getattr(args, "statistics_features", None)
    if features is not None:
        names = [n.strip() for n in features.split(",")]
        if not all(names):
            raise ConfigError(f"--statistics_features: expected column names separated by "
                                f"commas, got {features!r}")
        dq.features.extend(names)
        given = True
    for flag, field in (("baseline_statistics", "baseline_statistics"),
                        ("schema", "schema_path")):
        value = getattr(args, flag, None)
        if value:
            setattr(dq, field, value)
            given = True
    if getattr(args, "baseline_data", None):
        dq.baseline_data.extend(args.baseline_data)
        given = True
    return dq if given else None


def _models(values, option_values=()) -> dict | None:
    """``--model [NAME=]PATH`` values -> ``{NAME: PATH}`` ("" for an unnamed one), with
    ``--model_option [NAME:]KEY=VALUE`` values -> ``{NAME: (PATH, {KEY: VALUE})}``. A NAME
    holds no path separator, so a path with "=" in a folder name stays a path; a VALUE may
    hold ":" and "=" (ONNX names such as ``dense/Sigmoid:0``)."""
    from evalbeam.errors import ConfigError

    if not values and not option_values:
        return None
    from evalbeam.inference.loading import check_model, check_options

    models = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or "/" in name or os.sep in name:
            name, path = "", value
        if not path:
            raise ConfigError(f"--model {value!r}: expected PATH or NAME=PATH")
        if name in models:
            said = f"model spec {name!r}" if name else "the model spec (no NAME)"
            raise ConfigError(f"--model: two models for {said}")
        models[name] = path
    options = {}
    for value in option_values:
        where = f"--model_option {value}"
        head, sep, setting = value.partition("=")
        name, colon, key = head.rpartition(":")
        if not sep or not key:
            raise ConfigError(f"{where}: expected [NAME:]KEY=VALUE, e.g. "
                              "new:input_name=float_input")
        if name not in models:
            given = ", ".join(repr(n) for n in models if n) or "none"
            raise ConfigError(
                f"{where}: no --model {name}=PATH was given (named models: {given})" if name
                else f"{where}: no --model PATH without a NAME was given; say which model it "
                     f"is for: --model_option NAME:{key}=... (named models: {given})")
        check_options({key: setting}, where)
        if key in options.setdefault(name, {}) and options[name][key] != setting:
            raise ConfigError(f"{where}: {key} given twice for "
                              f"{f'model {name!r}' if name else 'the model'} "
                              f"({options[name][key]!r} and {setting!r})")
        options[name][key] = setting
    for name, setting in options.items():  # ONNX options for a scikit-learn file, ...
        check_model(models[name], setting,
                    f"--model_option ({f'model {name!r}' if name else 'the model'})")
    return {name: (path, options[name]) if name in options else path
            for name, path in models.items()} or None


def _report_path(output_dir: str) -> str:
    from apache_beam.io.filesystems import FileSystems

    from evalbeam.report import REPORT_FILE

    return FileSystems.join(output_dir, REPORT_FILE)


def _report(args) -> int:
    from evalbeam.io.result import load_result
    from evalbeam.report import check_report_path, write_report

    dirs = list(dict.fromkeys(d.rstrip("/") or d for d in args.dirs))
    check_report_path(args.output)
    results = [load_result(d) for d in dirs]
    write_report(results, args.output)
    runs = f"{len(results)} runs" if len(results) > 1 else dirs[0]
    print(f"wrote {args.output} ({runs}); it opens offline in any browser")
    return 0


def _infer_schema(args) -> int:
    from evalbeam.data_quality.infer_schema import infer_schema
    from evalbeam.data_quality.of_files import statistics_of_files
    from evalbeam.data_quality.schema_file import write_schema
    from evalbeam.io.data_quality import undescribed_sentence
    from evalbeam.errors import ConfigError, OutputError
    from evalbeam.io.paths import is_file

    if is_file(args.output) and not args.overwrite:  # (said before the data is read)
        raise OutputError(f"{args.output}: the file exists; not replacing it (--overwrite "
                          f"replaces it)")
    features = [] if args.features is None else [n.strip() for n in args.features.split(",")]
    if not all(features):
        raise ConfigError(f"--features: expected column names separated by commas, got "
                          f"{args.features!r}")
    statistics, undescribed = statistics_of_files(args.data, args.format, args.schema, features)
    schema = infer_schema(statistics, max_string_domain_size=args.max_string_domain_size)
    write_schema(schema, args.output, overwrite=args.overwrite)
    rows = statistics.datasets[0].num_examples
    domains = [f.name for f in schema.feature
               if f.WhichOneof("domain_info") in ("domain", "string_domain")]
    print(f"schema of {len(schema.feature)} feature(s) from {rows} rows (string domains: "
          f"{', '.join(domains) or 'none'}) -> {args.output}; edit it, commit it, and "
          f"evaluate --schema {args.output} validates the data against it")
    if undescribed:
        print(undescribed_sentence(undescribed))
    return 0


def _demo(args, beam_args) -> int:
    from evalbeam.demo import CONFIG, check_folder, generate
    from evalbeam.errors import EvalbeamError

    if args.rows < 1:
        raise EvalbeamError(f"demo --rows must be at least 1, got {args.rows}")
    data, result_dir = check_folder(args.output)
    generate(args.rows, data)
    print(f"wrote {args.rows} example rows to {data}; config {CONFIG}")
    ns = argparse.Namespace(config=CONFIG, data=[data], output=result_dir, format="parquet",
                            schema=None, batch_size=None, baseline_result=None, no_report=False,
                            quiet=args.quiet)
    code = _evaluate(ns, beam_args)
    print()
    _show(argparse.Namespace(dir=result_dir, json=False))
    print(f"\nopen {_report_path(result_dir)} in a browser to explore the result")
    return code


MAX_LISTED = 20  # failures (and omitted slices) printed; the rest are counted


def _outcome(result, out) -> int:
    from evalbeam.data_quality_output import failure_lines

    v = result.validation
    quality = failure_lines(result)
    if v.missing_thresholds and not quality:
        print("validation: no thresholds configured", file=out)
        return 0
    failures = [(f, entry) for entry in v.metric_validations_per_slice for f in entry.failures]
    if v.validation_ok:
        print("validation: passed", file=out)
        return 0
    counts = f"{len(failures) + len(quality)} failure(s)"
    if quality:
        counts += f": {len(failures)} of metrics, {len(quality)} of data quality"
    print(f"validation: FAILED ({counts})", file=out)
    from evalbeam.io.convert import slice_key_from_proto
    from evalbeam.keys import slice_name

    for f, entry in failures[:MAX_LISTED]:
        if entry.HasField("cross_slice_key"):
            where = (slice_name(slice_key_from_proto(entry.cross_slice_key.baseline_slice_key))
                     + " vs " +
                     slice_name(slice_key_from_proto(entry.cross_slice_key.comparison_slice_key)))
        else:
            where = slice_name(slice_key_from_proto(entry.slice_key))
        print(f"  {where}: {f.message}", file=out)
    if len(failures) > MAX_LISTED:
        d = result.output_dir
        print(f"  ... and {len(failures) - MAX_LISTED} more: all are in {d}/validations.tfrecord "
              f"(Python: evalbeam.load_result({d!r}).validation); failed change thresholds also "
              f"in `evalbeam diff {d} --top 0`", file=out)
    for line in quality[:MAX_LISTED]:
        print(f"  {line}", file=out)
    if len(quality) > MAX_LISTED:
        d = result.output_dir
        print(f"  ... and {len(quality) - MAX_LISTED} more data-quality failure(s): all are in "
              f"`evalbeam show {d} --json` (Python: "
              f"evalbeam.load_result({d!r}).data_quality_failures)", file=out)
    for spec in v.missing_slices:
        print(f"  a per-slice threshold's slicing spec matched no slice: {spec}".rstrip(), file=out)
    for cross in v.missing_cross_slices:
        print(f"  a cross-slice threshold found no pair of slices: {cross}".rstrip(), file=out)
    return 1


def _omitted(result, out) -> None:
    """The slices below min_slice_size, named (at most MAX_LISTED)."""
    from evalbeam.keys import slice_name

    omitted = result.omitted
    if not omitted:
        return
    names = "; ".join(slice_name(k) for k in omitted[:MAX_LISTED])
    more = f" ... and {len(omitted) - MAX_LISTED} more" if len(omitted) > MAX_LISTED else ""
    print(f"{len(omitted)} slice(s) below min_slice_size omitted: {names}{more}", file=out)


def _warnings(result, out, prefix: str) -> None:
    for warning in result.summary.get("warnings", []):
        print(prefix + warning, file=out)


def _show(args) -> int:
    from evalbeam import data_quality_output, table
    from evalbeam.cross_slices import print_cross_slices
    from evalbeam.io.result import load_result
    from evalbeam.metrics import resampling

    result = load_result(args.dir)
    out = sys.stdout
    choice = table.Choice(getattr(args, "metric", []), getattr(args, "slice", []),
                          getattr(args, "sort", None), getattr(args, "top", None),
                          getattr(args, "bottom", None))
    if args.json:
        table.render_json(result, choice, out, sys.stderr)
        data_quality_output.render_json(result, choice.slices, out, sys.stderr)
        return 0
    if getattr(args, "csv", False):
        table.render_csv(result, choice, out, sys.stderr)
        return 0
    table.render_text(result, choice, out)
    _warnings(result, out, "warning: ")
    _omitted(result, out)
    resampling.show_note(result.summary, out)
    print_cross_slices(result, out)
    data_quality_output.render_text(result, choice.slices, out)
    _outcome(result, out)
    return 0


def _history(args) -> int:
    from evalbeam import over_time_output
    from evalbeam.errors import EvalbeamError
    from evalbeam.over_time import history

    h = history(args.dirs, args.metric, args.slice, args.all_slices)
    for note in h.notes:
        print(f"evalbeam: note: {note}", file=sys.stderr)
    render = {"table": over_time_output.render_text, "csv": over_time_output.render_csv,
              "json": over_time_output.render_json}[args.format]
    render(h, sys.stdout)
    if not args.fail_on_alert:
        return 0
    if h.thresholds[-1].reason:
        raise EvalbeamError(f"--fail_on_alert: the latest run's value thresholds cannot be "
                            f"read: {h.thresholds[-1].reason}")
    found = h.latest_violations()
    for line in over_time_output.alert_lines(h, found):
        print(f"evalbeam: alert: {line}", file=sys.stderr)
    return 1 if found else 0


def _diff(args) -> int:
    from evalbeam.api import find_regressions
    from evalbeam.keys import slice_name
    from evalbeam.validate import describe_metric

    found = find_regressions(args.dir)
    code = 1 if args.fail_on_regression and found else 0
    if args.json:
        for r in found:
            print(json.dumps(r))
        return code
    if not found:
        print("no regressions: the candidate is nowhere worse than the baseline"
              " (beyond the interval, where intervals were computed) and fails no change "
              "threshold")
        return code
    shown = found if args.top <= 0 else found[:args.top]
    print(f"{len(found)} regression(s), largest impact first:")
    for i, r in enumerate(shown, 1):
        where = slice_name(tuple(tuple(e) for e in r["slice"]))
        name = describe_metric(r["metric"], r["model"], r["output"], r["sub_key"],
                               r["aggregation"], r["weighted"], r.get("at"))
        print(f"{i:3d}. {where}: {name} {_comparison(r)}")
    if len(shown) < len(found):
        print(f"  ... and {len(found) - len(shown)} more (--top 0 lists all, --json for scripts)")
    return code


def _number(value) -> str:
    return "nan" if value is None else f"{value:.4g}"


def _comparison(r) -> str:
    """``0.91 vs baseline 0.95 (change -0.03 [-0.05, -0.01])  impact 61  fails: ...``"""
    failed = r.get("failed_thresholds") or []
    if r["baseline"] is None and failed:
        return (f"{_number(r['candidate'])}, no baseline value to compare with  fails: " +
                "; ".join(_rule(t["change_threshold"]) for t in failed))
    text = f"{_number(r['candidate'])} vs baseline {_number(r['baseline'])} (change "
    text += "nan" if r["change"] is None else f"{r['change']:+.4g}"
    if r.get("lower") is not None:
        text += f" [{r['lower']:+.4g}, {r['upper']:+.4g}]"
        if r.get("interval_excludes_zero") is False:
            text += ", not significant"
    text += ")"
    if r["impact"] is not None:
        text += f"  impact {r['impact']:.4g}"
    if failed:
        text += "  fails: " + "; ".join(_rule(t["change_threshold"]) for t in failed)
    return text


def _rule(ct: dict) -> str:
    """A change threshold in a few words: ``change >= -0.01 (require_significance)``."""
    rule = ">=" if ct.get("direction") == "HIGHER_IS_BETTER" else "<="
    parts = []
    if "absolute" in ct:  # a DoubleValue: its number in JSON
        parts.append(f"change {rule} {ct['absolute']:g}")
    if "relative" in ct:
        parts.append(f"relative change {rule} {ct['relative']:g}")
    return " and ".join(parts) + (" (require_significance)" if ct.get("require_significance")
                                  else "")


def entry() -> None:
    """The ``evalbeam`` command: :func:`main`, then out without tearing down the interpreter,
    whose freeing of Beam's modules and objects takes longer than many a run (0.3-0.4 s).
    Output is flushed and the at-exit functions (logging's, temporary files') run first."""
    code = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said
            pass
    os._exit(code)


if __name__ == "__main__":
    entry()
