"""Failure sweeps: every single link, node, shared-risk link group or link pair, ranked by impact.

For each failure state of the set the demands of the window ``[start, stop)`` are routed with
the simulator's own fast path (:class:`netdrift.engine.network.routing.LoadPlan`), all steps at once, and per
failure we keep: each direction's worst utilisation and its step, the directions over 100 %
with their excess, the dropped demand and the node pairs cut off. Over all failures we keep each
direction's worst case and the failure causing it (the two views of planning tools such as
Cisco WAE: worst-case failure and worst-case utilisation).

Incremental re-routing (the default): a failure only changes the routes of the pairs whose
routes cross a failed link (a pair at a failed node crosses one of its links). The no-failure
state is routed once, in full (:class:`LoadPlan`), and its per-pair routing matrix kept; for each
failure only those pairs are re-routed (:func:`netdrift.engine.network.routing.routing_matrix` on them) and the
loads are the no-failure loads plus (new fractions - old fractions) @ their demands, in float32
as the simulator computes, clipped at 0 (float residues of about 1e-8 of a capacity can remain
where a direction loses all its load). On Kdl a link carries about 3 % of the pairs, so this is
several times cheaper than re-routing everything. A coarser scheme (re-route every destination
whose shortest-path DAG uses the link) gains nothing on these backbones: a link lies in about
90 % of the destinations' DAGs. ``incremental=False`` re-routes every failure state in full (one
:class:`LoadPlan` over all pairs); both give the same figures (tests check both against the
simulator).

Failures run on ``workers`` (default: the CPU count) forked processes, or threads where fork is
unavailable; with ``executor="ray"`` on Ray tasks (:mod:`netdrift.engine.sweep.ray_executor`, a local Ray
or a cluster, identical results). With ``device`` ("cpu", "cuda") the loads of batches of failure
states are batched torch products on that device (:mod:`netdrift.engine.sweep.batched`). With
``forecast=MODEL`` the window holds the demands a routed model forecasts at its first step
(:mod:`netdrift.engine.sweep.forecast`). docs/sweeps.md is the user's guide.

Definitions (documented for the CLI and the stored record):

- ``worst_utilization``: max over the window's steps and all directions of load / capacity.
- ``overloaded``: directions whose worst utilisation exceeds 1.0, with ``excess_mbps`` = worst
  load - capacity (at that direction's worst step).
- ``dropped_mbps_max``: the largest dropped demand at one step (Mbit/s);
  ``dropped_mbps_total``: the dropped Mbit/s summed over the window's steps (Mbit/s x steps;
  multiply by the step length in seconds for Mbit: ``dropped_mbit`` gives that).
- ``cut_pairs``: ordered node pairs, both endpoints up, reachable without the failure and not
  with it (pairs that lose an endpoint to a node failure are counted in ``lost_endpoint_pairs``).
- ``severity``: the worst utilisation; the ranking sorts by worst utilisation, then by dropped
  demand (total), then by the failure's name; figures within ``TIE`` (1e-6, relative) of each
  other count as equal (failures with one effect differ only by float rounding).
"""

from netdrift.engine.sweep.core import SweepResult, sweep
from netdrift.engine.sweep.evaluate import estimate_bytes
from netdrift.engine.sweep.failures import KINDS, Failure, failure_set, load_srlgs, srlgs_from_topology_file

__all__ = ["KINDS", "Failure", "SweepResult", "failure_set", "load_srlgs", "srlgs_from_topology_file",
           "sweep", "estimate_bytes"]
