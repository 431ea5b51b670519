"""Link-speed text -> Mbit/s. Expected values are worked out by hand from the standards:
SONET OC-n = n x 51.84 Mbit/s, SDH STM-n = n x 155.52 Mbit/s, T1 1.544, E1 2.048, DS-3 44.736."""

import math

import pytest

from netdrift.engine.network.capacity import parse_link_speed, speed_from_bits_per_second, speed_from_value_and_units
from netdrift.engine.network.geo import haversine_km

LABELS = [
    ("OC-3", 155.52),
    ("OC-12", 622.08),
    ("OC-48", 2488.32),
    ("OC-192", 9953.28),
    ("OC-192c", 9953.28),
    ("OC-768", 39813.12),
    ("oc192", 9953.28),
    ("STM-1", 155.52),
    ("STM-64", 9953.28),
    ("10G", 10_000.0),
    ("2.5G", 2_500.0),
    ("10 Gbps", 10_000.0),
    ("2.5 Gbps", 2_500.0),
    ("2.5 Gbit/s", 2_500.0),
    ("155 Mbps", 155.0),
    ("155 Mbit/s", 155.0),
    ("45 Mbps DS-3", 45.0),  # the stated number wins over the carrier name
    ("1GE", 1_000.0),
    ("10GE", 10_000.0),
    ("100GE", 100_000.0),
    ("10 GbE", 10_000.0),
    ("<10 Gbps", 10_000.0),
    ("Lit Fibre (10 Gbps)", 10_000.0),
    ("34/45 Mbit/s", 45.0),
    ("622 Kbps", 0.622),
    ("1 Tbps", 1_000_000.0),
    ("10 Gigabit Ethernet", 10_000.0),
    ("T1", 1.544),
    ("E1", 2.048),
    ("DS-3", 44.736),
]

NO_SPEED = [
    None,
    "",
    "Purple Link",
    "Lit Fibre",
    "Completion 2007-2008",
    "Operational network managed end-to-end",
    "GTS CE own Network",
    "5 Miles",
    "10",
    "0 Gbps",
]


@pytest.mark.parametrize("text,expected", LABELS)
def test_label_speeds(text, expected):
    assert parse_link_speed(text) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("text", NO_SPEED)
def test_labels_without_a_speed(text):
    assert parse_link_speed(text) is None


@pytest.mark.parametrize(
    "raw,expected",
    [("10000000000.0", 10_000.0), (155e6, 155.0), ("2500000000", 2_500.0), (0, None), ("0.0", None), ("", None),
     (None, None), ("nan", None), ("-5", None), ("junk", None)],
)
def test_bits_per_second(raw, expected):
    assert speed_from_bits_per_second(raw) == (pytest.approx(expected) if expected else None)


@pytest.mark.parametrize(
    "value,units,expected",
    [("10", "G", 10_000.0), ("2.5", "G", 2_500.0), ("155", "M", 155.0), ("622", "Mbps", 622.0),
     ("64", "K", 0.064), ("1", "T", 1e6), ("10", None, None), (None, "G", None), ("x", "G", None),
     ("10", "Q", None), ("0", "G", None)],
)
def test_value_and_units(value, units, expected):
    got = speed_from_value_and_units(value, units)
    assert got == (pytest.approx(expected) if expected else None)


def test_haversine_matches_the_spherical_law_of_cosines():
    # A different formula for the same great-circle distance (fine away from tiny angles).
    r = 6371.0088
    for lat1, lon1, lat2, lon2 in [(52.52, 13.40, 48.14, 11.58), (40.71, -74.01, 51.51, -0.13), (-33.9, 151.2, 35.7, 139.7)]:
        p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
        expected = r * math.acos(math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl))
        assert haversine_km(lat1, lon1, lat2, lon2) == pytest.approx(expected, rel=1e-9)
    assert haversine_km(0, 0, 0, 1) == pytest.approx(2 * math.pi * r / 360)
    assert haversine_km(0, 0, 0, 180) == pytest.approx(math.pi * r)
