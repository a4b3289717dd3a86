"""A loaded model, whatever its format: what the pipeline needs to run it on a batch."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np


@dataclass
class Predictor:
    """``predict(X)`` takes a 2-D float64 array (rows x ``feature_names``) and gives, for a
    classifier, the positive class's score ``(n,)`` when ``n_classes == 2`` or the class scores
    ``(n, n_classes)``; for a regressor, ``(n,)``."""

    source: str                      # the path it was loaded from (for messages)
    loader: str                      # "joblib", "pickle", "onnxruntime", or "handler"
    kind: str                        # "classifier" or "regressor"
    predict: Callable[[np.ndarray], np.ndarray]
    feature_names: Optional[list] = None   # the order the model was fitted with, if recorded
    n_features: Optional[int] = None
    n_classes: Optional[int] = None        # classifiers, when known
