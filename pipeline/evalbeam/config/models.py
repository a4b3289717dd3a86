"""Model specs -> the models read from the data: each model's outputs (:class:`Head`) with the
columns of their labels, predictions and weights, and which model is the baseline."""
from __future__ import annotations

from dataclasses import dataclass

from evalbeam.errors import ConfigError


@dataclass(frozen=True)
class Head:
    """One output of one model: the columns of its labels, predictions and weights."""

    model: str
    output: str
    label_key: str
    prediction_key: str
    example_weight_key: str = ""

    def describe(self) -> str:
        return f"model {self.model!r}" + (f" output {self.output!r}" if self.output else "")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    heads: tuple  # Head per output ("" for a single-output model)
    is_baseline: bool = False

    def head(self, output: str) -> Head:
        return next(h for h in self.heads if h.output == output)


def _model_info(ms, where: str) -> ModelInfo:
    """A model spec's outputs: ``prediction_keys`` per output, or one ``prediction_key``;
    ``label_keys`` / ``example_weight_keys`` per output, else the single key for all."""
    if ms.prediction_keys and ms.prediction_key:
        raise ConfigError(f"{where}: set prediction_key or prediction_keys, not both")
    outputs = sorted(ms.prediction_keys) or [""]
    for name in ("label_keys", "example_weight_keys"):
        stray = sorted(set(getattr(ms, name)) - set(outputs))
        if stray:
            raise ConfigError(f"{where}: {name} {stray} name no output of prediction_keys "
                              f"(outputs: {outputs})")
    heads = []
    for output in outputs:
        prediction = ms.prediction_keys[output] if ms.prediction_keys else ms.prediction_key
        label = ms.label_keys.get(output, ms.label_key)
        if not prediction or not label:
            what = f"output {output!r}: " if output else ""
            raise ConfigError(f"{where}: {what}label_key and prediction_key are required "
                              "(prediction_key may be left out when a model is given for "
                              "the spec: --model, models=)")
        heads.append(Head(ms.name, output, label, prediction,
                          ms.example_weight_keys.get(output, ms.example_weight_key)))
    return ModelInfo(ms.name, tuple(heads), ms.is_baseline)


def resolve_models(model_specs) -> list:
    """The models of the config's ``model_specs``: at least one, with distinct names (every
    one named when there are several), and at most one baseline, besides a candidate."""
    if not model_specs:
        raise ConfigError("model_specs: at least one model spec with label_key and prediction_key "
                          "is needed")
    models = [_model_info(ms, f"model_specs[{i}]" + (f" ({ms.name!r})" if ms.name else ""))
              for i, ms in enumerate(model_specs)]
    names = [m.name for m in models]
    baselines = [m.name for m in models if m.is_baseline]
    if len(baselines) > 1:
        raise ConfigError(f"model_specs: only one model can be the baseline (is_baseline), got "
                          f"{baselines}")
    if baselines and len(models) == 1:
        raise ConfigError(f"model_specs: baseline {baselines[0]!r} needs a candidate model to "
                          "compare with")
    if len(set(names)) != len(names):
        raise ConfigError(f"model_specs: model names must be distinct, got {names}")
    if len(models) > 1 and "" in names:
        raise ConfigError("model_specs: with several models every model spec needs a name")
    return models


def baseline_name(models: list) -> str | None:
    """The name of the baseline model (None when there is none)."""
    return next((m.name for m in models if m.is_baseline), None)
