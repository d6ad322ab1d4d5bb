"""The road network and the travel cost on it: hand-computed cases, properties, networkx, Dask."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, MultiLineString

from geo.access import e2sfca_from_pairs, gaussian_decay
from geo.distance import Located, StraightLine
from geo.errors import SchemaError
from geo.roads import RoadNetwork, build_road_graph, run_balls
from tests.conftest import examples

SPEEDS = {"primary": 60.0, "secondary": 30.0, "unknown": 20.0}
GEOD = Geod(ellps="WGS84")


def roads(lines, classes):
    return gpd.GeoDataFrame({"road_class": classes}, geometry=[LineString(c) for c in lines], crs=4326)


def geodesic_m(a, b) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def at(*points) -> Located:
    pts = np.asarray(points, dtype="float64")
    return Located.from_lonlat(pts[:, 0], pts[:, 1])


A, B, C = (50.0, 34.0), (50.1, 34.0), (50.2, 34.0)
D = (50.1, 34.1)  # a secondary spur from B


def small_network(**kw) -> RoadNetwork:
    lines = roads([[A, B], [B, C], [B, D]], ["primary", "primary", "secondary"])
    return RoadNetwork(build_road_graph(lines, SPEEDS), **kw)


# ---- the graph -----------------------------------------------------------------------------------


def test_graph_by_hand():
    g = build_road_graph(roads([[A, B], [B, C], [B, D]], ["primary", "primary", "secondary"]), SPEEDS)
    assert g.n_nodes == 4  # A, B, C, D: lines share B
    s = g.summary()
    assert s["edges"] == 3 and s["components"] == 1 and s["main_component_km_share"] == 1.0
    edges = g.edges().set_index(["road_class"])
    ab = geodesic_m(A, B)
    # Ground metres agree with WGS 84 geodesics; minutes are metres at the class speed.
    assert edges.loc["primary", "metres"].min() == pytest.approx(ab, rel=1e-5)
    assert edges.loc["secondary", "metres"] == pytest.approx(geodesic_m(B, D), rel=1e-5)
    assert edges.loc["secondary", "minutes"] == pytest.approx(
        edges.loc["secondary", "metres"] / 1000 / 30 * 60
    )
    dist = dijkstra(g.matrix(), indices=0)
    _a, c, d = (int(np.flatnonzero((g.lonlat == p).all(axis=1))[0]) for p in (A, C, D))
    assert dist[c] == pytest.approx((geodesic_m(A, B) + geodesic_m(B, C)) / 1000.0, rel=1e-5)  # 60 km/h
    assert dist[d] == pytest.approx(geodesic_m(A, B) / 1000.0 + geodesic_m(B, D) / 1000.0 * 2, rel=1e-5)
    assert s["km_by_class"]["secondary"] == pytest.approx(geodesic_m(B, D) / 1000, rel=1e-5)


def test_lines_that_only_cross_do_not_meet_and_the_longest_piece_is_main():
    g = build_road_graph(
        roads([[A, C], [(50.1, 33.95), (50.1, 34.05)], [(51.0, 34.0), (51.01, 34.0)]], ["primary"] * 3),
        SPEEDS,
    )
    assert g.summary()["components"] == 3
    assert g.component[np.flatnonzero((g.lonlat == A).all(axis=1))[0]] == g.main


def test_two_lines_along_the_same_vertices_keep_the_faster():
    g = build_road_graph(roads([[A, B], [B, A]], ["secondary", "primary"]), SPEEDS)
    assert g.summary()["edges"] == 1
    assert g.edges()["road_class"].tolist() == ["primary"]


def test_classes_need_a_speed_or_a_default():
    lines = roads([[A, B]], ["track"])
    with pytest.raises(SchemaError, match="track"):
        build_road_graph(lines, SPEEDS)
    g = build_road_graph(lines, {**SPEEDS, "default": 15})
    assert g.minutes[0] == pytest.approx(g.metres[0] / 1000 / 15 * 60)
    with pytest.raises(SchemaError, match="no column"):
        build_road_graph(lines, SPEEDS, class_column="highway")


def test_multilines_are_split_into_their_parts():
    lines = gpd.GeoDataFrame(
        {"road_class": ["primary"]}, geometry=[MultiLineString([[A, B], [C, (50.3, 34.0)]])], crs=4326
    )
    assert build_road_graph(lines, SPEEDS).summary()["components"] == 2


# ---- travel times by hand -----------------------------------------------------------------------


def test_trip_by_hand_with_off_road_legs():
    net = small_network(off_road_kmh=30.0, max_off_road_km=10.0, fallback_kmh=30.0, detour=1.3)
    place = (50.0, 34.01)  # 1.1 km north of A
    centre = (50.2, 33.995)  # south of C
    idx, minutes, metres, fallback = net.nearest_route(at(place), at(centre))
    leg_p, leg_c = geodesic_m(place, A), geodesic_m(centre, C)
    road = geodesic_m(A, B) + geodesic_m(B, C)
    assert idx.tolist() == [0] and not fallback[0]
    expected = (leg_p + leg_c) / 1000 / 30 * 60 + road / 1000 / 60 * 60
    assert minutes[0] == pytest.approx(expected, rel=1e-5)
    assert metres[0] == pytest.approx(leg_p + leg_c + road, rel=1e-5)
    i, j, cost = net.pairs(at(place), at(centre), expected * 1.001)
    assert (i.tolist(), j.tolist()) == ([0], [0]) and cost[0] == pytest.approx(minutes[0], rel=1e-12)
    assert len(net.pairs(at(place), at(centre), expected * 0.999)[0]) == 0


def test_metres_of_a_pair_are_along_its_fastest_route_not_the_shortest_or_the_straight_line():
    # A triangle: A–E–C on primary roads (60 km/h, 2 × 14 km), A–C direct on a secondary road
    # (30 km/h, 18 km). The fastest trip from near C to A goes round by E.
    e = (50.1, 34.1)
    lines = roads([[A, e], [e, C], [A, C]], ["primary", "primary", "secondary"])
    net = RoadNetwork(build_road_graph(lines, SPEEDS), off_road_kmh=30.0, max_off_road_km=10.0, detour=1.3)
    place, centre, far = (50.2, 33.99), A, (51.0, 35.0)  # far: 100 km from any road, a fallback
    origins, destinations = at(place, far), at(centre)
    i, j, minutes = net.pairs(origins, destinations, 60.0)
    assert (i.tolist(), j.tolist()) == ([0], [0])
    got = net.route_metres(origins, destinations, i, j, 60.0)
    round_by_e = geodesic_m(place, C) + geodesic_m(C, e) + geodesic_m(e, A)
    assert got[0] == pytest.approx(round_by_e, rel=1e-5)
    assert minutes[0] == pytest.approx(
        geodesic_m(place, C) / 1000 / 30 * 60 + (geodesic_m(C, e) + geodesic_m(e, A)) / 1000, rel=1e-5
    )
    # Neither the direct road nor the straight line × detour.
    assert abs(got[0] - (geodesic_m(place, C) + geodesic_m(C, A))) > 9_000
    assert abs(got[0] - geodesic_m(place, A) * 1.3) > 4_000
    # A pair with a fallback end travels the straight line × detour.
    line = net.route_metres(origins, destinations, np.array([1]), np.array([0]), 2000.0)
    assert line[0] == pytest.approx(geodesic_m(far, A) * 1.3, rel=1e-4)


def test_the_nearest_is_by_time_not_by_distance():
    net = small_network()
    # From B: D is 11 km up a 30 km/h road (22 min), C is 9 km along a 60 km/h road (9 min).
    idx, minutes = net.nearest(at(B), at(D, C))
    assert idx.tolist() == [1]
    assert minutes[0] == pytest.approx(geodesic_m(B, C) / 1000, rel=1e-5)


def test_far_from_any_road_falls_back_to_the_straight_line():
    net = small_network(max_off_road_km=10.0, fallback_kmh=30.0, detour=1.3)
    remote = (50.1, 34.3)  # 22 km north of D
    s = net.snap(at(remote, A))
    assert s.fallback.tolist() == [True, False]
    idx, minutes, metres, fallback = net.nearest_route(at(remote), at(A, D))
    assert idx.tolist() == [1] and fallback.tolist() == [True]
    ground = geodesic_m(remote, D)
    assert minutes[0] == pytest.approx(ground * 1.3 / 1000 / 30 * 60, rel=1e-5)
    assert metres[0] == pytest.approx(ground * 1.3, rel=1e-5)
    _i, j, cost = net.pairs(at(remote), at(A, D), minutes[0] * 1.001)
    assert j.tolist() == [1] and cost[0] == pytest.approx(minutes[0], rel=1e-12)


def test_a_place_on_an_island_road_falls_back():
    lines = roads([[A, B], [B, C], [(50.0, 33.5), (50.02, 33.5)]], ["primary", "primary", "secondary"])
    net = RoadNetwork(build_road_graph(lines, SPEEDS))
    s = net.snap(at((50.01, 33.501), B))
    assert s.fallback.tolist() == [True, False]


def test_the_same_places_are_attached_once_whatever_object_holds_them():
    # The next analysis locates the same settlements again: their attachment is reused (the
    # same arrays); other places, or a subset, are attached by themselves; a licence check's
    # one place is attached each time and kept out of the cache.
    net = small_network(max_off_road_km=10.0)
    places = scattered(net, 80, seed=4, spread=1.5)
    first = net.snap(places)
    again = net.snap(Located(places.xy.copy(), places.k.copy(), places.ll.copy()))
    assert again.node is first.node and again.fallback is first.fallback
    assert first.fallback.any() and not first.fallback.all()
    moved = Located(places.xy + 1.0, places.k, places.ll)
    other = net.snap(moved)
    assert other.node is not first.node and other.node.tolist() == first.node.tolist()
    part = net.snap(places.take(np.array([5, 1])))
    assert part.node.tolist() == first.node[[5, 1]].tolist()
    assert part.fallback.tolist() == first.fallback[[5, 1]].tolist()
    one = at(A)
    kept = len(net._snaps)
    assert net.snap(one).node.tolist() == net.snap(at(A)).node.tolist() and len(net._snaps) == kept


@pytest.mark.parametrize("seed", range(8))
def test_places_left_out_before_the_search_for_ends_off_the_network_change_nothing(seed):
    """With few centres off the network, the places already reached sooner by road are left out
    before the search for the nearest of them (``FEW_FALLBACK_ENDS``): the same nearest centre,
    minutes, metres and fallback flags as searching for every place; and some places on the
    network do get a centre off it, so the cases that must not be left out are there."""
    import geo.roads as roads_module

    net = small_network(max_off_road_km=2.0, fallback_kmh=40.0)
    places, centres = scattered(net, 200, seed, spread=2.0), scattered(net, 9, seed + 100, spread=2.0)
    assert net.snap(centres).fallback.any()
    quick = net.nearest_route(places, centres)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(roads_module, "FEW_FALLBACK_ENDS", -1)
        every = net.nearest_route(places, centres)
    for a, b in zip(quick, every, strict=True):
        np.testing.assert_array_equal(a, b)
    on_network = ~net.snap(places).fallback
    assert (quick[3] & on_network).any()  # a place on the network whose nearest is off it


def test_a_centre_off_the_network_just_nearer_than_the_road_is_found():
    """A place on the road at B whose centre by road (at C) is a little farther in time than a
    centre off the network north-east of it in a straight line: the straight line wins, however
    close the two times (the leaving-out before the search must not drop it)."""
    net = small_network(max_off_road_km=2.0, fallback_kmh=40.0, detour=1.2)
    by_road = net.nearest_route(at(B), at(C))[1][0]
    for share in (0.9, 0.99, 0.999):
        r_km = share * by_road / 60.0 * 40.0 / 1.2  # the straight line's ground km
        east, north = r_km / np.sqrt(2) / (111.32 * np.cos(np.radians(34.0))), r_km / np.sqrt(2) / 110.95
        off = (B[0] + east, B[1] + north)
        assert net.snap(at(off)).fallback.tolist() == [True]
        straight = net.straight_minutes(np.array([geodesic_m(B, off)]))[0]
        assert 0.98 * share < straight / by_road < 1.0
        idx, minutes, _metres, fallback = net.nearest_route(at(B), at(C, off))
        assert idx.tolist() == [1] and fallback.tolist() == [True]
        assert minutes[0] == pytest.approx(straight, rel=1e-5)


def test_no_destination_and_unreachable():
    net = small_network()
    idx, minutes = net.nearest(at(A), Located(np.zeros((0, 2)), np.zeros(0)))
    assert idx.tolist() == [-1] and minutes.tolist() == [np.inf]


# ---- the fused measures equal the pairs ------------------------------------------------------------


def scattered(net, n, seed, spread=0.25):
    rng = np.random.default_rng(seed)
    pts = np.column_stack([rng.uniform(50.0 - spread / 5, 50.2 + spread / 5, n), rng.uniform(33.9, 34.15, n)])
    return Located.from_lonlat(pts[:, 0], pts[:, 1])


def test_e2sfca_sum_within_and_within_agree_with_the_pairs():
    net = small_network(max_off_road_km=3.0)
    places, centres = scattered(net, 300, 1), scattered(net, 12, 2)
    rng = np.random.default_rng(3)
    demand, supply = rng.integers(0, 50, 300).astype(float), rng.integers(5, 60, 12).astype(float)
    catchment = 25.0
    i, j, cost = net.pairs(places, centres, catchment)
    assert net.snap(places).fallback.any() and (~net.snap(places).fallback).any()
    want_a, want_r = e2sfca_from_pairs(i, j, gaussian_decay(catchment)(cost), demand, supply)
    a, r, count = net.e2sfca(places, centres, demand, supply, catchment)
    np.testing.assert_allclose(a, want_a, rtol=1e-12, atol=0)
    np.testing.assert_allclose(r, want_r, rtol=1e-12, atol=0)
    assert count.tolist() == np.bincount(i, minlength=300).tolist()
    got = net.sum_within(centres, places, demand, catchment)
    np.testing.assert_allclose(got, np.bincount(j, weights=demand[i], minlength=12), rtol=1e-12)
    for k in range(12):
        idx, c = net.within(centres.take([k]), places, catchment)
        mine = j == k
        assert sorted(idx.tolist()) == sorted(i[mine].tolist())
        np.testing.assert_allclose(np.sort(c), np.sort(cost[mine]), rtol=1e-12)
    # The nearest is the cheapest pair.
    idx, minutes = net.nearest(places, centres)
    has = np.bincount(i, minlength=300) > 0
    best = np.full(300, np.inf)
    np.minimum.at(best, i, cost)
    np.testing.assert_allclose(minutes[has], best[has], rtol=1e-12)


# ---- properties ---------------------------------------------------------------------------------

VERTICES = [(50.0 + 0.05 * (k % 4), 34.0 + 0.05 * (k // 4)) for k in range(12)]
edge = st.tuples(
    st.integers(0, 11), st.integers(0, 11), st.sampled_from(["primary", "secondary", "unknown"])
).filter(lambda e: e[0] != e[1])


def graph_of(edges):
    return build_road_graph(
        roads([[VERTICES[a], VERTICES[b]] for a, b, _ in edges], [c for _, _, c in edges]), SPEEDS
    )


def node_times(g):
    """Minutes between every pair of the 12 vertices (inf where not joined or not in the graph)."""
    out = np.full((12, 12), np.inf)
    pos = {tuple(p): k for k, p in enumerate(g.lonlat)}
    ids = [pos.get(tuple(np.round(v, 7))) for v in VERTICES]
    dist = dijkstra(g.matrix())
    for a, ia in enumerate(ids):
        for b, ib in enumerate(ids):
            if ia is not None and ib is not None:
                out[a, b] = dist[ia, ib]
    return out


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(edge, min_size=1, max_size=20), edge)
def test_adding_a_road_never_lengthens_a_trip(edges, extra):
    before = node_times(graph_of(edges))
    after = node_times(graph_of([*edges, extra]))
    assert (after <= before + 1e-9).all()


@settings(max_examples=examples(40), deadline=None)
@given(st.lists(edge, min_size=1, max_size=20), st.integers(0, 2**31 - 1))
def test_two_way_roads_are_symmetric(edges, seed):
    g = graph_of(edges)
    t = node_times(g)
    # Equal but for the order of the additions along the route.
    np.testing.assert_allclose(t, t.T, rtol=1e-12, atol=0)
    net = RoadNetwork(g, max_off_road_km=4.0)
    a, b = scattered(net, 15, seed), scattered(net, 9, seed + 1)
    i, j, c = net.pairs(a, b, 40.0)
    j2, i2, c2 = net.pairs(b, a, 40.0)
    forward = dict(zip(zip(i.tolist(), j.tolist(), strict=True), c.tolist(), strict=True))
    backward = dict(zip(zip(i2.tolist(), j2.tolist(), strict=True), c2.tolist(), strict=True))
    assert forward.keys() == backward.keys()
    for key, value in forward.items():
        assert backward[key] == pytest.approx(value, rel=1e-12)


@settings(max_examples=examples(40), deadline=None)
@given(st.lists(edge, min_size=1, max_size=20), st.integers(0, 11), st.floats(1.0, 30.0))
def test_bounded_searches_equal_scipy(edges, source, limit):
    g = graph_of(edges)
    s = np.flatnonzero((g.lonlat == np.round(VERTICES[source], 7)).all(axis=1))
    if len(s) == 0:
        return
    _k, v, d = run_balls((g.indptr, g.indices, g.minutes), s, np.zeros(1), limit)
    want = dijkstra(g.matrix(), indices=int(s[0]), limit=limit)
    assert sorted(v.tolist()) == np.flatnonzero(np.isfinite(want)).tolist()
    np.testing.assert_allclose(d, want[v], rtol=0, atol=1e-12)
    assert (np.diff(d) >= 0).all()


# ---- norms --------------------------------------------------------------------------------------


def test_norms_for_roads_need_speeds_and_minutes():
    from tests.analysis_world import demo_norms

    norms = demo_norms(travel="roads")
    assert norms.unit == "min" and norms.services["rehabilitation"].catchment("min") == 45
    assert norms.services["rehabilitation"].catchment("m") == 30_000
    from geo.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="travel must be"):
        demo_norms(travel="boat")
    import tomllib

    from tests.analysis_world import ROOT

    raw = tomllib.loads((ROOT / "config" / "norms.toml").read_text(encoding="utf-8"))
    del raw["roads"]
    with pytest.raises(ConfigurationError, match=r"\[roads\]"):
        demo_norms.__globals__["Norms"].from_dict(raw)
    raw = tomllib.loads((ROOT / "config" / "norms.toml").read_text(encoding="utf-8"))
    del raw["services"]["kindergarten"]["catchment_min"]
    with pytest.raises(ConfigurationError, match="catchment_min"):
        demo_norms.__globals__["Norms"].from_dict(raw)


# ---- the real network ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vmap0(data_dir):
    from exchange.roads import read_roads

    return build_road_graph(
        read_roads(data_dir / "roads_vmap0.gpkg"), {"primary": 80, "secondary": 60, "unknown": 40}
    )


@pytest.mark.realdata
def test_real_network_summary(vmap0):
    s = vmap0.summary()
    # The reference README: 111,997 km, 99.0 % in the largest component.
    assert s["km"] == pytest.approx(111_997, rel=0.005)
    assert s["main_component_km_share"] == pytest.approx(0.99, abs=0.002)
    assert s["components"] > 300


@pytest.mark.realdata
def test_real_network_equals_networkx(vmap0):
    """Dijkstra (scipy), the bounded searches and the nearest-centre search against networkx on
    the real network: equal to 1e-9 minutes."""
    g = vmap0
    G = nx.Graph()
    src = np.repeat(np.arange(g.n_nodes), np.diff(g.indptr))
    G.add_weighted_edges_from(zip(src.tolist(), g.indices.tolist(), g.minutes.tolist(), strict=True))
    rng = np.random.default_rng(14)
    main = np.flatnonzero(g.component == g.main)
    sources = rng.choice(main, 12, replace=False)
    targets = rng.choice(main, 200, replace=False)
    full = dijkstra(g.matrix(), indices=sources)
    for row, s in enumerate(sources):
        ref = nx.single_source_dijkstra_path_length(G, int(s))
        want = np.array([ref[int(t)] for t in targets])
        np.testing.assert_allclose(full[row, targets], want, rtol=0, atol=1e-9)
        k, v, d = run_balls((g.indptr, g.indices, g.minutes), np.array([s]), np.zeros(1), 60.0)
        near = {n: t for n, t in ref.items() if t <= 60.0}
        assert sorted(v.tolist()) == sorted(near)
        np.testing.assert_allclose(d, [near[n] for n in v.tolist()], rtol=0, atol=1e-9)
    # Nearest centre with off-road legs: against networkx from each place's node.
    net = RoadNetwork(g)
    lon = rng.uniform(46, 60, 400)
    lat = rng.uniform(27, 38, 400)
    places, centres = Located.from_lonlat(lon[:40], lat[:40]), Located.from_lonlat(lon[40:], lat[40:])
    _idx, minutes, _, fallback = net.nearest_route(places, centres)
    p, c = net.snap(places), net.snap(centres)
    on_c = np.flatnonzero(~c.fallback)
    checked = 0
    for k in np.flatnonzero(~p.fallback):
        ref = nx.single_source_dijkstra_path_length(G, int(p.node[k]))
        best = min(ref.get(int(c.node[j]), np.inf) + c.access_min[j] for j in on_c) + p.access_min[k]
        if not fallback[k]:
            assert minutes[k] == pytest.approx(best, abs=1e-9)
            checked += 1
        else:
            assert minutes[k] < best
    assert checked > 20


@pytest.mark.realdata
def test_dask_gives_the_single_process_answer(vmap0):
    from dask.distributed import Client, LocalCluster

    net = RoadNetwork(vmap0, chunk_sources=16)
    rng = np.random.default_rng(5)
    places = Located.from_lonlat(rng.uniform(50, 53, 3000), rng.uniform(33, 36, 3000))
    centres = Located.from_lonlat(rng.uniform(50, 53, 300), rng.uniform(33, 36, 300))
    demand, supply = rng.integers(1, 100, 3000).astype(float), rng.integers(5, 60, 300).astype(float)
    want = net.e2sfca(places, centres, demand, supply, 45.0)
    want_pairs = net.pairs(places, centres, 45.0)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        remote = net.with_client(client)
        got = remote.e2sfca(places, centres, demand, supply, 45.0)
        got_pairs = remote.pairs(places, centres, 45.0)
    assert len(net.snap(centres).grouped()[0]) > 16  # more than one chunk went out
    for a, b in zip(want, got, strict=True):
        assert np.array_equal(a, b)
    for a, b in zip(want_pairs, got_pairs, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.realdata
def test_the_national_analysis_on_roads(demo, data_dir):
    from exchange.roads import road_network
    from geo.recompute import analyse
    from services.loading import load_norms
    from tests.analysis_world import ROOT

    norms = load_norms(ROOT / "config" / "norms.toml")
    assert norms.travel == "roads"
    network = road_network(data_dir / "roads_vmap0.gpkg", norms)
    layers = demo["layers"]
    names = ("settlements", "ngos", "county_needs", "counties", "target_areas")
    a = analyse(*(layers[n] for n in names), norms, network)
    assert a.unit == "min" and a.access.unit == "min"
    # Flags: too far means beyond the norm's minutes (relaxed in target areas).
    f = a.flags
    limit = np.where(
        f["in_target_area"],
        f["max_travel_min"],
        f["service_type"].map(lambda s: norms.services[s].max_travel_min),
    )
    assert (f["too_far"] == (f["nearest_min"] > limit)).all()
    assert f["road_fallback"].any() and not f["road_fallback"].all()
    # The analysis' E2SFCA equals the pure path through the pairs, on the real network.
    from geo.access import active_ngos, locate

    sub = active_ngos(a.ngos)
    sub = sub[sub["service_type"] == "rehabilitation"]
    i, j, cost = network.pairs(a.licence_index.places, locate(sub), 45.0)
    want, _ = e2sfca_from_pairs(
        i,
        j,
        gaussian_decay(45.0)(cost),
        a.demand["rehabilitation"].to_numpy(float),
        sub["capacity"].to_numpy(float),
    )
    np.testing.assert_allclose(a.access.access["rehabilitation"].to_numpy(), want, rtol=1e-12, atol=1e-300)
    assert (
        a.access.count_within["rehabilitation"].to_numpy() == np.bincount(i, minlength=len(a.settlements))
    ).all()
    # A licence check counts the settlements within 45 minutes as the pairs do.
    check = a.check_licence(57.3, 27.2, "rehabilitation", 40)
    here = Located.from_lonlat(np.array([57.3]), np.array([27.2]))
    _, pj, _ = network.pairs(here, a.licence_index.places, 45.0)
    uncovered = ~a.access.covered["rehabilitation"].to_numpy()
    demand = a.demand["rehabilitation"].to_numpy()
    assert check.newly_covered_target_population == int(demand[pj][uncovered[pj]].sum())
    assert check.travel == "roads" and check.catchment_min == 45
    area = a.catchment_area(57.3, 27.2, "rehabilitation")
    assert area.is_valid and area.contains(shapely.Point(57.3, 27.2))


def test_a_service_without_centres_has_no_pairs_on_roads_or_in_a_straight_line():
    nobody = Located.from_lonlat(np.array([]), np.array([]))  # pyproj alone refuses empty arrays
    assert len(nobody) == 0 and nobody.xy.shape == (0, 2) and nobody.ll.shape == (0, 2)
    place = (50.0, 34.01)
    for travel in (small_network(), StraightLine(1.3)):
        i, j, cost = travel.pairs(at(place), nobody, 60.0)
        assert len(i) == len(j) == len(cost) == 0
