"""evalbeam: sliced model evaluation on Apache Beam, in TFMA's vocabulary, without TensorFlow.

The public names are imported on first use, so ``evalbeam`` itself imports quickly.
"""
import importlib
import logging

__version__ = "0.1.0"

_EXPORTS = {
    "Evaluate": "evalbeam.api", "EvalResult": "evalbeam.api", "load_result": "evalbeam.api",
    "run_evaluation": "evalbeam.api", "evaluate_and_bless": "evalbeam.api",
    "find_regressions": "evalbeam.api",
    "EvalConfig": "evalbeam.config",
    "load_config": "evalbeam.config", "parse_config": "evalbeam.config",
    "ConfigError": "evalbeam.errors", "EvalbeamError": "evalbeam.errors",
    "InputError": "evalbeam.errors", "OutputError": "evalbeam.errors",
    "MetricKey": "evalbeam.keys", "history": "evalbeam.over_time",
}
__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'evalbeam' has no attribute {name!r}")


def __dir__():
    return sorted(set(__all__) | {n for n in globals() if n.startswith("__")})


class _BeamImportNotice(logging.Filter):
    """Drops the notice Beam logs on import when the optional BigQuery client (apitools) is not
    installed; evalbeam does not use BigQuery. Every other record passes."""

    def filter(self, record):
        return not (record.name == "root" and str(record.msg).startswith("apitools not found"))


logging.getLogger().addFilter(_BeamImportNotice())
