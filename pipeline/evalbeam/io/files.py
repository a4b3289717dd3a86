"""The names of the files a run writes into its output directory (writers and readers share
them; only evalbeam's own names are ever replaced, see :mod:`evalbeam.io.output_location`)."""

VALIDATIONS_FILE = "validations.tfrecord"
CONFIG_FILE = "eval_config.json"
SUMMARY_FILE = "summary.json"
BLESSED_FILE, NOT_BLESSED_FILE = "BLESSED", "NOT_BLESSED"
REGRESSIONS_FILE = "regressions.json"  # (evalbeam.regressions) with a baseline
REPORT_FILE = "report.html"  # (evalbeam.report) the page, written after the artifacts

# data quality (evalbeam.io.data_quality), written when the run computes statistics
STATISTICS_FILE = "statistics.tfrecord"  # one DatasetFeatureStatisticsList, a dataset per slice
BASELINE_STATISTICS_FILE = "baseline_statistics.tfrecord"  # the same, of the baseline data
ANOMALIES_FILE = "anomalies.pbtxt"  # the overall slice's Anomalies, text format
SLICE_ANOMALIES_FILE = "slice_anomalies.tfrecord"  # one SliceAnomalies record per slice
