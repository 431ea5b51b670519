"""Behaviour kept through the restructuring: the fixed run of ``record_golden.py`` gives the
metrics and the stored series that were recorded before it (relative 1e-4: float reordering)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.golden.record_golden import HERE, TIMING_FIELDS, run_and_collect

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fresh_run(tmp_path_factory):
    db = tmp_path_factory.mktemp("golden") / "run.sqlite"
    return run_and_collect(f"sqlite:///{db}")


def _close(a: object, b: object) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-9)
    return a == b


def test_same_metrics_as_before_the_restructuring(fresh_run):
    out, _ = fresh_run
    reference = json.loads((HERE / "golden_run.json").read_text())
    assert out["events"] == reference["events"]
    assert sorted(out["models"]) == sorted(reference["models"])
    for model, ref in reference["models"].items():
        got = {k: v for k, v in out["models"][model].items() if k not in TIMING_FIELDS}
        for key, value in ref.items():
            assert _close(got.get(key), value), f"{model}.{key}: {got.get(key)} != {value}"


def test_same_stored_series_as_before_the_restructuring(fresh_run):
    _, series = fresh_run
    reference = np.load(HERE / "golden_series.npz")
    assert sorted(series) == sorted(reference.files)
    for name in reference.files:
        np.testing.assert_allclose(series[name], reference[name], rtol=1e-4, atol=1e-3, equal_nan=True,
                                   err_msg=name)
