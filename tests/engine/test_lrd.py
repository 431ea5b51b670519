"""Fractional Gaussian noise (circulant embedding) and the aggregated-variance Hurst estimator."""

from __future__ import annotations

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.traffic.lrd import fgn, fgn_autocovariance, hurst_aggregated_variance


def exact_gamma(k: int, h: float) -> float:
    """fGn autocovariance written out by hand: Cov(B_H(k+1) - B_H(k), B_H(1) - B_H(0))."""
    return 0.5 * (abs(k + 1) ** (2 * h) - 2 * abs(k) ** (2 * h) + abs(k - 1) ** (2 * h))


def cholesky_fgn(n: int, h: float, size: int, seed: int) -> np.ndarray:
    """fGn by a different algorithm: the Cholesky factor of the exact covariance matrix."""
    k = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    cov = np.vectorize(lambda lag: exact_gamma(int(lag), h))(np.arange(n))[k]
    return (np.linalg.cholesky(cov) @ np.random.default_rng(seed).standard_normal((n, size))).T


def test_autocovariance_formula_matches_a_hand_computed_value():
    # H = 0.75, lag 1: (2^1.5 - 2) / 2 = 0.41421...
    assert fgn_autocovariance(np.array([1]), 0.75)[0] == pytest.approx((2 ** 1.5 - 2) / 2)
    assert fgn_autocovariance(np.array([0]), 0.9)[0] == pytest.approx(1.0)


@pytest.mark.parametrize("h", [0.6, 0.8, 0.9])
def test_circulant_samples_have_the_fgn_covariance(h):
    x = fgn(1024, h, 400, np.random.default_rng(3), dtype=np.float64)
    assert x.shape == (400, 1024)
    for lag in (0, 1, 2, 10, 50):
        sample = float(np.mean(x[:, : 1024 - lag] * x[:, lag:]))
        assert sample == pytest.approx(exact_gamma(lag, h), abs=0.03), lag


def test_real_and_imaginary_halves_are_independent_and_the_seed_decides():
    x = fgn(512, 0.8, 200, np.random.default_rng(1), dtype=np.float64)
    assert abs(float(np.mean(x[0::2] * x[1::2]))) < 0.03
    assert np.array_equal(fgn(64, 0.7, 3, np.random.default_rng(5)), fgn(64, 0.7, 3, np.random.default_rng(5)))


@pytest.mark.parametrize("h", [0.5, 0.7, 0.85])
def test_aggregated_variance_recovers_the_hurst_exponent_of_cholesky_fgn(h):
    series = cholesky_fgn(1536, h, 12, seed=int(h * 100))
    estimates = [hurst_aggregated_variance(s, max_blocks_frac=8) for s in series]
    # the method is known to be biased low as H grows (Taqqu, Teverovsky & Willinger 1995)
    assert float(np.mean(estimates)) == pytest.approx(h, abs=0.07)


def test_estimator_refuses_short_series_and_skips_nan():
    with pytest.raises(InputError, match="too short"):
        hurst_aggregated_variance(np.ones(20))
    x = np.random.default_rng(0).standard_normal(8192)
    x[::50] = np.nan
    assert hurst_aggregated_variance(x) == pytest.approx(0.5, abs=0.06)


def test_bad_hurst_is_one_line_naming_it():
    with pytest.raises(InputError, match="hurst"):
        fgn(10, 1.0, 1, np.random.default_rng(0))
