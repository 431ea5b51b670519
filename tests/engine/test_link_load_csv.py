"""Link loads from CSV: rates and counters, wraps and resets by hand, LAG sums, gaps, grids, bad input."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.traffic.link_load_csv import load_link_loads_csv

# Directions, in order: ab a->b, ab b->a, bc b->c, bc c->b, p1 a->c, p1 c->a, p2 a->c, p2 c->a.
TOPO = Topology("t", tuple(Node(x, x) for x in "abc"),
                (Link("ab", "a", "b", 1000.0), Link("bc", "b", "c", 1000.0),
                 Link("p1", "a", "c", 1000.0), Link("p2", "c", "a", 1000.0)))
T = ["2024-01-01T00:00:00", "2024-01-01T00:05:00", "2024-01-01T00:10:00", "2024-01-01T00:15:00"]


def write(tmp_path, text: str, name: str = "loads.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def load(tmp_path, text: str):
    return load_link_loads_csv(write(tmp_path, text), TOPO)


def mbps(octets: float, seconds: float = 300.0) -> float:
    return octets * 8 / 1e6 / seconds


def test_rates_land_on_their_direction_and_gaps_stay_nan(tmp_path):
    s = load(tmp_path, "time,src,dst,mbps\n"
                       f"{T[0]},a,b,10\n{T[0]},b,a,4\n{T[1]},a,b,12\n{T[2]},a,b,11\n{T[2]},b,a,5\n"
                       f"{T[2]},c,b,2.5\n")
    assert (s.step_minutes, s.start, s.steps) == (5.0, datetime(2024, 1, 1), 3)
    assert s.directions == tuple(TOPO.direction_names())
    assert s.loads[:, 0].tolist() == [10.0, 12.0, 11.0]
    assert s.loads[0, 1] == 4.0 and math.isnan(s.loads[1, 1]) and s.loads[2, 1] == 5.0   # a gap, not 0
    assert s.loads[2, 3] == 2.5 and np.isnan(s.loads[:2, 3]).all()
    assert np.isnan(s.loads[:, 2]).all()                                                  # never measured


def test_parallel_links_need_the_link_column(tmp_path):
    with pytest.raises(InputError, match=r"line 2: 2 parallel links between 'a' and 'c' \(p1, p2\): name one"):
        load(tmp_path, f"time,src,dst,mbps\n{T[0]},a,c,1\n{T[1]},a,c,1\n")
    s = load(tmp_path, f"time,link,src,dst,mbps\n{T[0]},p2,a,c,3\n{T[0]},p1,a,c,1\n{T[1]},p2,c,a,7\n")
    assert s.loads[0, 4] == 1.0 and s.loads[0, 7] == 3.0 and s.loads[1, 6] == 7.0


def test_link_and_direction_columns(tmp_path):
    s = load(tmp_path, f"time,link,direction,mbps\n{T[0]},ab,b->a,3\n{T[0]},bc,c,4\n{T[1]},ab,a,5\n")
    assert s.loads[0, 1] == 3.0 and s.loads[0, 3] == 4.0 and s.loads[1, 0] == 5.0


def test_counter_32_bit_wrap_by_hand(tmp_path):
    top = 2**32 - 1000                       # in the top quarter; then 500 is in the bottom quarter
    s = load(tmp_path, f"time,src,dst,octets\n{T[0]},a,b,{top - 3_000_000}\n{T[1]},a,b,{top}\n"
                       f"{T[2]},a,b,500\n{T[3]},a,b,1500\n")
    assert s.steps == 3                      # four samples, three intervals
    assert s.loads[:, 0] == pytest.approx([mbps(3_000_000), mbps(1000 + 500), mbps(1000)])


def test_counter_64_bit_wrap_by_hand(tmp_path):
    top = 2**64 - 4000                       # beyond float64's exact integers: counted as integers
    s = load(tmp_path, f"time,src,dst,octets\n{T[0]},b,a,{top - 10**9}\n{T[1]},b,a,{top}\n{T[2]},b,a,6000\n")
    assert s.loads[:, 1] == pytest.approx([mbps(10**9), mbps(4000 + 6000)], rel=1e-12)


def test_counter_reset_is_a_gap_and_counting_restarts(tmp_path):
    # 5000 -> 200 is not a wrap (5000 is far from the top of the 32-bit range): a reset.
    s = load(tmp_path, f"time,src,dst,octets\n{T[0]},a,b,1000\n{T[1]},a,b,5000\n{T[2]},a,b,200\n{T[3]},a,b,800\n")
    assert s.loads[0, 0] == pytest.approx(mbps(4000))
    assert math.isnan(s.loads[1, 0])
    assert s.loads[2, 0] == pytest.approx(mbps(600))


def test_a_32_bit_counter_dropping_from_half_way_is_a_reset_not_a_wrap(tmp_path):
    s = load(tmp_path, f"time,src,dst,octets\n{T[0]},a,b,{2**31}\n{T[1]},a,b,100\n{T[2]},a,b,400\n")
    assert math.isnan(s.loads[0, 0]) and s.loads[1, 0] == pytest.approx(mbps(300))


def test_a_missed_poll_leaves_the_steps_between_as_gaps(tmp_path):
    s = load(tmp_path, f"time,src,dst,octets\n{T[0]},a,b,0\n{T[1]},a,b,300\n{T[3]},a,b,900\n"
                       f"{T[0]},b,a,0\n{T[1]},b,a,0\n{T[2]},b,a,0\n{T[3]},b,a,0\n")
    assert s.loads[0, 0] == pytest.approx(mbps(300))
    assert np.isnan(s.loads[1:, 0]).all()
    assert s.loads[:, 1].tolist() == [0.0, 0.0, 0.0]      # a measured zero stays zero


def test_lag_members_are_summed_and_a_missing_member_is_a_gap(tmp_path):
    s = load(tmp_path, "time,src,dst,interface,mbps\n"
                       f"{T[0]},a,b,et-0/0/1,10\n{T[0]},a,b,et-0/0/2,5\n"
                       f"{T[1]},a,b,et-0/0/1,11\n"
                       f"{T[2]},a,b,et-0/0/1,12\n{T[2]},a,b,et-0/0/2,6\n")
    assert s.loads[0, 0] == 15.0 and math.isnan(s.loads[1, 0]) and s.loads[2, 0] == 18.0


def test_lag_counters_summed(tmp_path):
    s = load(tmp_path, "time,src,dst,interface,octets\n"
                       f"{T[0]},c,b,x1,100\n{T[0]},c,b,x2,{2**32 - 100}\n"
                       f"{T[1]},c,b,x1,400\n{T[1]},c,b,x2,100\n")
    assert s.loads[0, 3] == pytest.approx(mbps(300) + mbps(200))


def test_jittered_polls_are_moved_to_the_grid(tmp_path):
    s = load(tmp_path, "time,src,dst,mbps\n"
                       "2024-01-01T00:00:03,a,b,1\n2024-01-01T00:00:09,b,a,2\n"
                       "2024-01-01T00:05:01,a,b,3\n2024-01-01T00:04:58,b,a,4\n"
                       "2024-01-01T00:10:04,a,b,5\n2024-01-01T00:10:06,b,a,6\n")
    assert s.step_minutes == 5.0 and s.start == datetime(2024, 1, 1, 0, 0, 3)
    assert s.loads[:, :2].tolist() == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]


def test_a_time_far_off_the_grid_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"line 5: time 2024-01-01 00:12:30 is 150 s off the 5-minute grid"):
        load(tmp_path, f"time,src,dst,mbps\n{T[0]},a,b,1\n{T[1]},a,b,1\n{T[2]},a,b,1\n2024-01-01T00:12:30,a,b,1\n"
                       f"{T[3]},a,b,1\n2024-01-01T00:20:00,a,b,1\n2024-01-01T00:25:00,a,b,1\n")


def test_simulate_out_tables_are_read(tmp_path):
    s = load(tmp_path, "step,time,link_id,src,dst,load_mbps,capacity_mbps,up\n"
                       f"0,{T[0]},ab,a,b,1.5,1000,True\n0,{T[0]},ab,b,a,2.5,1000,True\n"
                       f"1,{T[1]},ab,a,b,0,1000,False\n1,{T[1]},ab,b,a,0,1000,False\n"
                       f"2,{T[2]},ab,a,b,,1000,True\n2,{T[2]},ab,b,a,,1000,True\n")
    assert s.loads[:2, :2].tolist() == [[1.5, 2.5], [0.0, 0.0]]
    assert np.isnan(s.loads[2]).all()                  # simulate writes a missing interval as blanks
    assert s.link_up.tolist() == [[True, True, True, True], [False, True, True, True], [True] * 4]


@pytest.mark.parametrize("text, message", [
    ("time,src,dst,mbps\n{0},a,x,1\n{1},a,b,1\n", r"line 2: node 'x' is not in topology 't'"),
    ("time,link,src,dst,mbps\n{0},zz,a,b,1\n{1},ab,a,b,1\n", r"line 2: link 'zz' is not in topology 't'"),
    ("time,link,src,dst,mbps\n{0},ab,a,b,1\n{1},ab,a,c,1\n", r"line 3: link 'ab' joins a and b: it has no direction a -> c"),
    ("time,src,dst,mbps\n{0},a,b,1\n{1},a,a,1\n", r"line 3: no link between 'a' and 'a'"),
    ("time,src,dst,mbps\n{1},a,b,1\n{0},a,b,1\n", r"line 3: time 2024-01-01T00:00:00 is before the same direction's previous time 2024-01-01T00:05:00 \(line 2"),
    ("time,src,dst,mbps\n{0},a,b,nan\n{1},a,b,1\n", r"line 2: mbps 'nan' is not a finite number >= 0"),
    ("time,src,dst,mbps\n{0},a,b,\n{1},a,b,1\n", r"line 2: mbps '' is not a finite number >= 0"),
    ("time,src,dst,mbps\n{0},a,b,-1\n{1},a,b,1\n", r"line 2: mbps '-1' is not a finite number >= 0"),
    ("time,src,dst,octets\n{0},a,b,1.5\n{1},a,b,3\n", r"line 2: octets '1.5' is not a whole number >= 0"),
    ("time,src,dst,mbps\n{0},a,b,1\n{0},a,b,2\n{1},a,b,1\n", r"line 3: a second value for direction a -> b .*'interface'"),
    ("time,src,dst,mbps\n", r"no data rows"),
    ("", r"is empty"),
    ("time,src,dst,speed\n{0},a,b,1\n", r"line 1: unknown column\(s\) 'speed'"),
    ("time,src,dst,mbps\n{0},a,b,1\n", r"only one time"),
    ("time,src,dst,mbps\nyesterday,a,b,1\n{1},a,b,1\n", r"line 2: unparsable time 'yesterday'"),
])
def test_bad_input_is_one_line_naming_the_file(tmp_path, text, message):
    p = write(tmp_path, text.format(*T))
    with pytest.raises(InputError, match=message) as err:
        load_link_loads_csv(p, TOPO)
    assert str(err.value).startswith(f"link loads '{p}': ") and "\n" not in str(err.value)


def test_a_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_link_loads_csv(tmp_path / "nope.csv", TOPO)
