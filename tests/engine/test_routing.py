"""Routing: IGP shortest paths with per-hop ECMP, checked against hand-computed fractions
and against a slow, independent pure-Python reference."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction

import networkx as nx
import numpy as np
import pytest

from netdrift.engine.errors import InputError
from netdrift.engine.network.routing import LoadPlan, all_pairs, apply_routing, peak_utilization, routing_matrix
from netdrift.engine.network.topology import Link, Node, Topology
from netdrift.engine.traffic.series import TrafficMatrixSeries


def topo(edges, nodes=None, cap=1000.0, name="t"):
    """edges: (u, v) or (u, v, weight) or (id, u, v, weight)."""
    links = []
    for e in edges:
        if len(e) == 4:
            lid, u, v, w = e
        elif len(e) == 3:
            (u, v, w), lid = e, f"{e[0]}-{e[1]}"
        else:
            (u, v), w, lid = e, 1.0, f"{e[0]}-{e[1]}"
        links.append(Link(lid, u, v, cap, weight=w))
    ids = nodes or sorted({x for l in links for x in (l.u, l.v)})
    return Topology(name, tuple(Node(i, i) for i in ids), tuple(links))


def fractions_of(t: Topology, s: str, d: str, **kw) -> dict[tuple[str, str], float]:
    r = routing_matrix(t, src=np.array([t.node_index[s]]), dst=np.array([t.node_index[d]]), **kw)
    col = r.matrix.toarray()[:, 0]
    return {(src, dst): float(col[i]) for i, (_, src, dst) in enumerate(t.direction_names()) if col[i]}


def reference_matrix(t: Topology, src, dst, rtol=1e-9) -> np.ndarray:
    """Per-hop ECMP by direct recursion with exact Fractions, one pair at a time."""
    g = nx.MultiGraph()
    g.add_nodes_from(range(len(t.nodes)))
    dist_g = nx.Graph()
    dist_g.add_nodes_from(range(len(t.nodes)))
    for i, l in enumerate(t.links):
        a, b = t.node_index[l.u], t.node_index[l.v]
        g.add_edge(a, b, key=i, w=l.weight)
        if not dist_g.has_edge(a, b) or dist_g[a][b]["w"] > l.weight:
            dist_g.add_edge(a, b, w=l.weight)
    out = np.zeros((t.n_directions, len(src)))
    for p, (s, d) in enumerate(zip(src, dst)):
        if s == d:
            continue
        dist = nx.single_source_dijkstra_path_length(dist_g, d, weight="w")
        if s not in dist:
            continue
        flow = {s: Fraction(1)}
        for a in sorted(dist, key=lambda x: -dist[x]):  # farthest first: upstream done
            if a == d or a not in flow:
                continue
            hops = [(i, b) for _, b, i, data in g.edges(a, keys=True, data=True)
                    if b in dist and dist[b] < dist[a]
                    and data["w"] + dist[b] - dist[a] <= rtol * dist[a]]
            for i, b in hops:
                share = flow[a] / len(hops)
                out[t.direction_index(t.links[i].id, t.nodes[a].id), p] += float(share)
                flow[b] = flow.get(b, Fraction(0)) + share
    return out


def test_per_hop_split_differs_from_per_path():
    # s has two next hops (a, b); behind b there are two paths, behind a one.
    # Per path each of the 3 paths would get 1/3 (s->b: 2/3); per hop s gives 1/2 to each.
    t = topo([("s", "a"), ("a", "x"), ("x", "t"), ("s", "b"), ("b", "c"), ("c", "t"), ("b", "d"), ("d", "t")])
    assert fractions_of(t, "s", "t") == {
        ("s", "a"): 0.5, ("a", "x"): 0.5, ("x", "t"): 0.5,
        ("s", "b"): 0.5, ("b", "c"): 0.25, ("c", "t"): 0.25, ("b", "d"): 0.25, ("d", "t"): 0.25,
    }


def test_per_hop_split_with_reconverging_paths():
    # s -> {a, b}; a -> {c, m}; b -> m; c, m -> t (all weight 1, all 3 hops).
    # Per hop: s->a 1/2, s->b 1/2, a->c 1/4, a->m 1/4, b->m 1/2, m->t 3/4, c->t 1/4.
    # (Per path, the 3 paths would give m->t 2/3.)
    t = topo([("s", "a"), ("s", "b"), ("a", "c"), ("a", "m"), ("b", "m"), ("c", "t"), ("m", "t")])
    assert fractions_of(t, "s", "t") == {
        ("s", "a"): 0.5, ("s", "b"): 0.5, ("a", "c"): 0.25, ("a", "m"): 0.25,
        ("b", "m"): 0.5, ("m", "t"): 0.75, ("c", "t"): 0.25,
    }


def test_weights_pick_the_cheaper_path_and_ties_use_relative_tolerance():
    t = topo([("a", "b", 1.0), ("b", "c", 1.0), ("a", "c", 3.0)])
    assert fractions_of(t, "a", "c") == {("a", "b"): 1.0, ("b", "c"): 1.0}
    # 0.1 + 0.2 != 0.3 in floating point, but they are equal costs for the IGP.
    t = topo([("a", "b", 0.1), ("b", "c", 0.2), ("a", "c", 0.3)])
    assert fractions_of(t, "a", "c") == {("a", "b"): 0.5, ("b", "c"): 0.5, ("a", "c"): 0.5}
    # A real difference (1e-6 relative) is not a tie.
    t = topo([("a", "b", 0.1), ("b", "c", 0.2), ("a", "c", 0.3 * (1 + 1e-6))])
    assert fractions_of(t, "a", "c") == {("a", "b"): 1.0, ("b", "c"): 1.0}


def test_parallel_links_share_equally_when_equal_and_not_otherwise():
    t = topo([("l1", "a", "b", 1.0), ("l2", "a", "b", 1.0)])
    r = routing_matrix(t, src=np.array([0]), dst=np.array([1]))
    assert r.matrix.toarray()[:, 0].tolist() == [0.5, 0.0, 0.5, 0.0]
    t = topo([("l1", "a", "b", 2.0), ("l2", "b", "a", 1.0)])
    r = routing_matrix(t, src=np.array([0]), dst=np.array([1]))
    assert r.matrix.toarray()[:, 0].tolist() == [0.0, 0.0, 0.0, 1.0]  # l2 is b->a as written


def test_unreachable_pairs_and_down_nodes():
    t = topo([("a", "b"), ("c", "d")])
    src, dst = all_pairs(4)
    r = routing_matrix(t, src=src, dst=dst)
    cross = np.array([(s < 2) != (d < 2) for s, d in zip(src, dst)])
    assert r.unreachable.tolist() == cross.tolist()
    assert r.matrix[:, cross].nnz == 0
    # a down endpoint makes the pair unreachable even if links were declared up
    r = routing_matrix(t, node_up=np.array([True, False, True, True]), src=src, dst=dst)
    touches_b = (src == 1) | (dst == 1)
    assert (r.unreachable == (cross | touches_b)).all()
    assert not r.link_up[0]  # a-b is down with b


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_independent_reference_on_random_graphs(seed):
    rng = np.random.default_rng(seed)
    g = nx.gnm_random_graph(12, 22, seed=seed)
    edges = [(f"n{u}", f"n{v}", float(rng.integers(1, 4))) for u, v in g.edges()]
    edges.append(("p", f"n{next(iter(g.edges()))[0]}", f"n{next(iter(g.edges()))[1]}", 1.0))  # a parallel link
    t = topo(edges, nodes=[f"n{i}" for i in range(12)])
    src, dst = all_pairs(12)
    expected = reference_matrix(t, src, dst)
    r = routing_matrix(t, src=src, dst=dst)
    np.testing.assert_allclose(r.matrix.toarray(), expected, rtol=1e-12, atol=1e-15)
    # the simulator's level-by-level evaluation agrees with the per-pair matrix
    demands = rng.random((5, len(src))) * 100
    loads, dropped = LoadPlan(t, src=src, dst=dst).apply(demands, np.float64)
    np.testing.assert_allclose(loads, demands @ expected.T, rtol=1e-12)
    np.testing.assert_allclose(dropped, demands[:, r.unreachable].sum(axis=1), rtol=1e-12)


def test_conservation_on_a_grid_with_unit_weights():
    # With unit weights every shortest path of a pair has dist(s, d) hops, so whatever the
    # ECMP split, total load over all directions = sum of demand x hop count.
    g = nx.grid_2d_graph(4, 5)
    name = {n: f"{n[0]}.{n[1]}" for n in g}
    t = topo([(name[u], name[v]) for u, v in g.edges()], nodes=sorted(name.values()))
    src, dst = all_pairs(len(t.nodes))
    demands = np.random.default_rng(3).random((7, len(src))) * 10
    loads = apply_routing(routing_matrix(t, src=src, dst=dst).matrix, demands)
    coord = [tuple(map(int, n.id.split("."))) for n in t.nodes]
    hops = np.array([abs(coord[s][0] - coord[d][0]) + abs(coord[s][1] - coord[d][1]) for s, d in zip(src, dst)])
    np.testing.assert_allclose(loads.sum(axis=1), demands @ hops, rtol=1e-12)
    # the same through the fast plan, in float32
    l32, _ = LoadPlan(t, src=src, dst=dst).apply(demands.astype(np.float32))
    np.testing.assert_allclose(l32.sum(axis=1), demands @ hops, rtol=1e-5)


def test_peak_utilization_ignores_missing_steps():
    t = topo([("a", "b"), ("b", "c")], cap=100.0)
    d = np.array([[10.0, 20.0], [np.nan, np.nan], [30.0, 5.0]])
    tm = TrafficMatrixSeries(("a", "b", "c"), np.array([0, 2]), np.array([2, 1]), d, 5.0, datetime(2024, 1, 1))
    # step 2: a->c 30 on a->b and b->c; c->b 5 on c->b. Step 0: b->c 10, c->b 20.
    assert peak_utilization(t, tm) == pytest.approx(0.30)


def test_bad_inputs():
    t = topo([("a", "b")])
    with pytest.raises(InputError, match="src/dst"):
        routing_matrix(t, src=np.array([0]), dst=np.array([5]))
    with pytest.raises(InputError, match="link_up"):
        routing_matrix(t, link_up=np.array([True, True]))
    bad = t.with_links([Link("a-b", "a", "b", 10.0, weight=0.0)])
    with pytest.raises(InputError, match="'a-b'.*IGP weight"):
        routing_matrix(bad)
