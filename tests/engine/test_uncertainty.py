"""Intervals over seeds and the paired block bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from netdrift.engine.evaluation.uncertainty import mean_interval, paired_block_bootstrap, step_squared_errors


def test_mean_interval_is_the_student_t_interval():
    values = [4.0, 6.0, 5.0, 9.0]
    sd = np.std(values, ddof=1)
    half = stats.t.ppf(0.975, 3) * sd / 2.0  # sqrt(4) = 2
    r = mean_interval(values)
    assert r["mean"] == pytest.approx(6.0) and r["ci"] == pytest.approx([6.0 - half, 6.0 + half])
    assert mean_interval([3.0])["ci"] is None and mean_interval([None])["mean"] is None


def test_a_model_against_itself_is_within_noise_and_a_clearly_better_one_is_not():
    rng = np.random.default_rng(4)
    errors = [rng.normal(0, 1, 400) ** 2 for _ in range(3)]
    same = paired_block_bootstrap(errors, errors, block=12)
    assert same["estimate"] == 0.0 and same["ci"] == [0.0, 0.0] and same["within_noise"]
    noisy = [e * rng.uniform(0.9, 1.1, e.shape) for e in errors]  # a slightly different model
    better = [e * 0.25 for e in errors]                               # half the RMSE everywhere
    r = paired_block_bootstrap(better, errors, block=12)
    assert r["estimate"] == pytest.approx(-0.5 * np.sqrt(np.mean(np.concatenate(errors))), rel=1e-9)
    assert r["ci"][1] < 0 and not r["within_noise"]
    assert paired_block_bootstrap(noisy, errors, block=12)["within_noise"]


def test_step_squared_errors_leave_missing_points_out():
    a = np.array([[1.0, np.nan], [2.0, 2.0]])
    f = np.array([[3.0, 5.0], [2.0, 4.0]])
    np.testing.assert_allclose(step_squared_errors(a, f, 0, 2), [4.0, 2.0])
