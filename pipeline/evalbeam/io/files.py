"""The names of the files a run writes into its output directory (writers and readers share
them; only evalbeam's own names are ever replaced, see :mod:`evalbeam.io.output_location`)."""

VALIDATIONS_FILE = "validations.tfrecord"
CONFIG_FILE = "eval_config.json"
SUMMARY_FILE = "summary.json"
BLESSED_FILE, NOT_BLESSED_FILE = "BLESSED", "NOT_BLESSED"
REGRESSIONS_FILE = "regressions.json"  # (evalbeam.regressions) with a baseline
REPORT_FILE = "report.html"  # (evalbeam.report) the page, written after the artifacts

