"""Evaluation: what the models observe, the one streaming loop, its recorder, and the metrics.

- :mod:`netdrift.engine.evaluation.stream`: the utilisation the models observe, gaps carried, and one
  :class:`~netdrift.engine.forecasting.protocol.ForecastInput` per step.
- :mod:`netdrift.engine.evaluation.loop`: :func:`iter_evaluate`, a generator of one record per step.
- :mod:`netdrift.engine.evaluation.recorder`: collects the records into per-model series and timings.
- :mod:`netdrift.engine.evaluation.metrics`: every error metric, drift and time to convergence.
- :mod:`netdrift.engine.evaluation.scoring`: a scenario result's metric rows.
"""
