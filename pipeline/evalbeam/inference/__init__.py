"""Models run inside the pipeline: model files loaded into a :class:`Predictor`
(:mod:`~evalbeam.inference.loading`) and Beam ``RunInference`` over whole record batches
(:mod:`~evalbeam.inference.handler`), planned against the config and the data
(:mod:`~evalbeam.inference.runs`)."""
