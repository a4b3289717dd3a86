"""evalbeam: sliced model evaluation on Apache Beam, in TFMA's vocabulary, without TensorFlow.

The public names are imported on first use, so ``evalbeam`` itself imports quickly.
"""
import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "Evaluate": "evalbeam.api", "EvalResult": "evalbeam.api", "load_result": "evalbeam.api",
    "run_evaluation": "evalbeam.api", "evaluate_and_bless": "evalbeam.api",
    "find_regressions": "evalbeam.api",
    "EvalConfig": "evalbeam.config",
    "load_config": "evalbeam.config", "parse_config": "evalbeam.config",
    "ConfigError": "evalbeam.errors", "EvalbeamError": "evalbeam.errors",
    "InputError": "evalbeam.errors", "MetricKey": "evalbeam.keys",
}
__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'evalbeam' has no attribute {name!r}")
