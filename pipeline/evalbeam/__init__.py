"""evalbeam: sliced model evaluation on Apache Beam, in TFMA's vocabulary, without TensorFlow."""
__version__ = "0.1.0"

from evalbeam.api import Evaluate, EvalResult, load_result, run_evaluation  # noqa: E402
from evalbeam.config import EvalConfig, load_config, parse_config  # noqa: E402
from evalbeam.errors import ConfigError, EvalbeamError, InputError  # noqa: E402
from evalbeam.keys import MetricKey  # noqa: E402

__all__ = ["Evaluate", "EvalResult", "load_result", "run_evaluation", "EvalConfig", "load_config",
           "parse_config", "ConfigError", "EvalbeamError", "InputError", "MetricKey",
           "__version__"]
