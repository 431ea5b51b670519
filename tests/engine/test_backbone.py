"""The backbone traffic proxy: determinism, missing rows, auto-scaling, cycles, heavy tails, LRD."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.network.routing import routing_matrix
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.traffic.backbone import BackboneParams, backbone_traffic
from netdrift.engine.traffic.lrd import hurst_aggregated_variance

DAY = 288  # 5-minute steps per day
WEEK = 7 * DAY


def ring(n: int, lon: float = 0.0, capacity: float = 10_000.0) -> Topology:
    nodes = tuple(Node(f"n{i}", f"N{i}", lat=45.0, lon=lon) for i in range(n))
    links = tuple(Link(f"l{i}", f"n{i}", f"n{(i + 1) % n}", capacity * (1 + i % 3)) for i in range(n))
    return Topology(f"ring{n}", nodes, links)


def excess_kurtosis(x: np.ndarray) -> float:
    d = x - x.mean()
    return float(np.mean(d ** 4) / np.mean(d ** 2) ** 2 - 3.0)


@pytest.fixture(scope="module")
def long_run():
    """16 weeks of a 3-node network (6 pairs), Monday 00:00 start, nodes at longitude 0."""
    return backbone_traffic(ring(3), 16 * WEEK, 5.0, seed=11, start=datetime(2024, 1, 1))


def test_same_seed_same_array_different_seed_different_array():
    t = ring(5)
    a, b, c = (backbone_traffic(t, 600, seed=s) for s in (7, 7, 8))
    assert a.demands.dtype == np.float32 and a.demands.shape == (600, 20)
    assert np.array_equal(a.demands, b.demands, equal_nan=True)
    assert not np.allclose(a.demands, c.demands, equal_nan=True)
    expected = [(i, j) for i in range(5) for j in range(5) if i != j]
    assert list(zip(a.src.tolist(), a.dst.tolist())) == expected


def test_missing_samples_are_whole_nan_rows_a_few_percent(long_run):
    d = long_run.demands
    rows_with_nan = np.isnan(d).any(axis=1)
    assert np.array_equal(rows_with_nan, long_run.missing)  # never a partial row
    assert 0.005 < long_run.missing.mean() < 0.05
    present = d[~long_run.missing]
    assert np.isfinite(present).all() and (present > 0).all()
    none = backbone_traffic(ring(3), 2000, seed=1, params=BackboneParams(missing_rate=0.0))
    assert not none.missing.any()


def test_busiest_link_direction_peaks_at_the_asked_utilisation():
    t = ring(6)
    tm = backbone_traffic(t, 3 * DAY, 5.0, seed=4, peak_utilization=0.45)
    # Oracle: the per-path routing matrix (a different algorithm from the generator's LoadPlan).
    m = routing_matrix(t, src=tm.src, dst=tm.dst).matrix
    present = tm.demands[~tm.missing].astype(np.float64)
    util = (m @ present.T).T / t.direction_capacity
    assert util.max() == pytest.approx(0.45, rel=1e-5)


def test_weekend_mean_below_weekday_mean(long_run):
    total = np.nansum(long_run.demands, axis=1)
    total[long_run.missing] = np.nan
    weekday = (np.arange(long_run.steps) // DAY) % 7  # start is a Monday 00:00, nodes at lon 0
    ratio = np.nanmean(total[weekday >= 5]) / np.nanmean(total[weekday < 5])
    assert 0.6 < ratio < 0.9  # dips of 20-30 %, blurred by the 2-hour ramps and the shifts


def test_daily_cycle_peaks_in_the_evening_with_a_2_to_4x_peak_to_trough(long_run):
    total = np.nansum(long_run.demands, axis=1)
    total[long_run.missing] = np.nan
    days = total.reshape(-1, DAY)
    weekdays = days[(np.arange(len(days)) % 7) < 5]
    profile = np.nanmean(weekdays, axis=0)
    peak_hour = profile.argmax() / 12.0
    assert 18.0 <= peak_hour <= 24.0
    assert 1.8 < profile.max() / profile.min() < 4.5


def test_log_returns_are_heavier_tailed_than_gaussian(long_run):
    kurt = []
    for p in range(long_run.n_pairs):
        r = np.diff(np.log(long_run.demands[:, p].astype(np.float64)))
        kurt.append(excess_kurtosis(r[np.isfinite(r)]))
    # a Gaussian's excess kurtosis is 0 (sampling sd here ~0.03): every pair's is well above
    assert min(kurt) > 0.5 and float(np.median(kurt)) > 1.0
    smooth = backbone_traffic(ring(3), 4 * WEEK, seed=11,
                              params=BackboneParams(burst_rate_per_day=0.0, shift_rate_per_week=0.0))
    r = np.diff(np.log(smooth.demands[:, 0].astype(np.float64)))
    assert abs(excess_kurtosis(r[np.isfinite(r)])) < 0.5  # without bursts and shifts: Gaussian


def deseasonalised_hurst(tm, pair: int) -> float:
    by_week = np.log(tm.demands[:, pair].astype(np.float64)).reshape(-1, WEEK)
    return hurst_aggregated_variance((by_week - np.nanmean(by_week, axis=0)).ravel())  # time-of-week mean removed


def test_hurst_exponent_of_one_pair_without_level_shifts_is_in_the_measured_range():
    # Level shifts are a non-stationarity every Hurst estimator reads as H -> 1 (the next test),
    # so the long-range dependence of the fluctuations (bursts included) is measured without them.
    tm = backbone_traffic(ring(3), 16 * WEEK, 5.0, seed=11, params=BackboneParams(shift_rate_per_week=0.0))
    estimates = [deseasonalised_hurst(tm, p) for p in range(tm.n_pairs)]
    assert all(0.65 <= h <= 0.95 for h in estimates), estimates


def test_level_shifts_push_the_estimate_up(long_run):
    without = backbone_traffic(ring(3), 16 * WEEK, 5.0, seed=11, params=BackboneParams(shift_rate_per_week=0.0))
    with_shifts = [deseasonalised_hurst(long_run, p) for p in range(long_run.n_pairs)]
    plain = [deseasonalised_hurst(without, p) for p in range(without.n_pairs)]
    assert float(np.mean(with_shifts)) > float(np.mean(plain))


def test_memory_budget_is_checked_before_allocating():
    with pytest.raises(InputError, match="backbone traffic on 'ring50'.*memory budget"):
        backbone_traffic(ring(50), 10**6, budget_bytes=1024**3)  # 2450 pairs x 10^6 steps: ~10 GB


@pytest.mark.parametrize("params, name", [
    (BackboneParams(hurst=1.2), "hurst"),
    (BackboneParams(weekend_dip=(0.3, 0.2)), "weekend_dip"),
    (BackboneParams(missing_rate=0.7), "missing_rate"),
    (BackboneParams(fluctuation=-1.0), "fluctuation"),
])
def test_bad_parameters_are_one_line_naming_them(params, name):
    with pytest.raises(InputError, match=name):
        backbone_traffic(ring(3), 10, params=params)


def test_a_topology_file_too_large_for_backbone_traffic_is_refused_before_loading(tmp_path):
    from netdrift.engine.traffic.sources import check_synthetic_fits

    path = tmp_path / "big.graphml"
    path.write_text("<graphml><graph>" + "".join(f'<node id="{i}"/>' for i in range(3000)) + "</graph></graphml>")
    with pytest.raises(InputError, match=r"backbone traffic on '.*big.graphml' \(3000 nodes counted before loading"):
        check_synthetic_fits(str(path), 288, budget_bytes=1024**3, model="backbone")


def test_pairs_sharing_a_node_fluctuate_together_by_the_common_share():
    # X_p = sqrt(1-c) own_p + sqrt(c/2) (Z_origin + Z_destination): one shared node gives a
    # correlation of c/2, both ends (i->j and j->i) c, none 0. One-step differences have short
    # memory, so their sample correlation is sharp (sd ~ 1/sqrt(steps)).
    quiet = dict(measurement_noise=0.0, burst_rate_per_day=0.0, shift_rate_per_week=0.0, missing_rate=0.0)
    for share in (0.3, 0.0):
        tm = backbone_traffic(ring(4), 4 * WEEK, seed=2, params=BackboneParams(common_share=share, **quiet))
        d = np.diff(np.log(tm.demands.astype(np.float64)), axis=0)
        corr = np.corrcoef(d.T)
        pairs = list(zip(tm.src.tolist(), tm.dst.tolist()))
        by_shared: dict[int, list[float]] = {0: [], 1: [], 2: []}
        for p, (i, j) in enumerate(pairs):
            for q, (k, m) in enumerate(pairs[p + 1:], start=p + 1):
                by_shared[len({i, j} & {k, m})].append(corr[p, q])
        for shared, expected in ((0, 0.0), (1, share / 2), (2, share)):
            assert float(np.mean(by_shared[shared])) == pytest.approx(expected, abs=0.03), (share, shared)
