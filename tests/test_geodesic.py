"""Ground distances against the WGS 84 geodesic (pyproj's ``Geod``, Karney's algorithm), and the
catchment's edge decided on the geodesic in every path that decides it: the pairs, the compiled
E2SFCA, the search around one place and the flag rule's nearest centre."""

import numpy as np
import pytest
from pyproj import Geod

from geo.distance import StraightLine
from geo.geodesic import distances, edge_margin
from geo.kernels import e2sfca_straight_line, sum_within
from geo.located import Located, ground_distance, search_radius

GEOD = Geod(ellps="WGS84")


def _spread(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.uniform(44.5, 63.0, n), rng.uniform(25.5, 39.5, n), rng.uniform(0.0, 360.0, n)


@pytest.mark.parametrize("metres", [0.5, 100.0, 10e3, 60e3, 400e3, 1500e3])
def test_the_compiled_geodesic_is_pyprojs_to_a_millimetre(metres):
    lon, lat, az = _spread(2000, 1)
    lon2, lat2, _ = GEOD.fwd(lon, lat, az, np.full(len(lon), metres))
    got = distances(np.radians(np.column_stack([lon, lat])), np.radians(np.column_stack([lon2, lat2])))
    want = GEOD.inv(lon, lat, lon2, lat2)[2]
    assert np.abs(got - want).max() < 1e-3


def test_the_same_point_is_zero_metres_away():
    p = np.radians([[51.4, 35.7]])
    assert distances(p, p).tolist() == [0.0]


@pytest.mark.parametrize("metres", [1e3, 25e3, 60e3, 150e3, 400e3, 1000e3])
def test_the_fast_distance_stays_inside_half_the_band_where_the_geodesic_decides(metres):
    lon, lat, az = _spread(5000, 2)
    lon2, lat2, _ = GEOD.fwd(lon, lat, az, np.full(len(lon), metres))
    a, b = Located.from_lonlat(lon, lat), Located.from_lonlat(lon2, lat2)
    fast = ground_distance(a, np.arange(len(lon)), b, np.arange(len(lon)))
    error = np.abs(fast / metres - 1.0).max()
    assert error <= edge_margin(metres) / 2
    # The band is narrow: a few in a thousand of a catchment's pairs fall in it.
    assert edge_margin(metres) < 1e-4 or metres > 100e3


def _at_the_edge(edge_m: float, n: int, seed: int):
    """Pairs whose geodesic is just inside or just outside ``edge_m`` (by 1e-7 relative, well
    inside the fast distance's error at these lengths), and which side each is on."""
    lon, lat, az = _spread(n, seed)
    side = np.where(np.arange(n) % 2 == 0, 1.0 - 1e-7, 1.0 + 1e-7)
    lon2, lat2, _ = GEOD.fwd(lon, lat, az, edge_m * side)
    return Located.from_lonlat(lon, lat), Located.from_lonlat(lon2, lat2), side < 1.0


def test_the_fast_distance_alone_would_put_pairs_on_the_wrong_side():
    # The premise of the other tests: without the geodesic, some of these pairs are misjudged.
    a, b, inside = _at_the_edge(46_153.8, 400, 3)
    fast = ground_distance(a, np.arange(400), b, np.arange(400))
    assert ((fast <= 46_153.8) != inside).sum() > 50


@pytest.mark.parametrize("detour", [1.0, 1.3])
def test_pairs_within_a_catchment_are_the_geodesics(detour):
    catchment = 60_000.0
    a, b, inside = _at_the_edge(catchment / detour, 400, 4)
    i, j, cost = StraightLine(detour).pairs(a, b, catchment)
    found = set(zip(i.tolist(), j.tolist(), strict=True))
    diagonal = np.array([(p, p) in found for p in range(400)])
    assert (diagonal == inside).all()
    # Every pair kept is within the catchment on the geodesic, whatever pair it is.
    truth = GEOD.inv(
        np.degrees(a.ll[i, 0]), np.degrees(a.ll[i, 1]), np.degrees(b.ll[j, 0]), np.degrees(b.ll[j, 1])
    )[2]
    assert (truth * detour <= catchment).all()
    assert cost == pytest.approx(truth * detour, rel=edge_margin(catchment / detour))


def test_the_compiled_e2sfca_counts_the_same_pairs_as_the_geodesic():
    # One provider per place, each on its own far-apart spot, at the edge of its place's catchment.
    catchment, detour = 45_000.0, 1.3
    # A one-degree grid: its places are 90 km or more apart, farther than two catchments.
    lon, lat = (g.ravel() for g in np.meshgrid(np.arange(45.0, 63.0), np.arange(26.0, 40.0)))
    n = len(lon)
    az = np.linspace(0.0, 359.0, n)
    side = np.where(np.arange(n) % 2 == 0, 1.0 - 1e-7, 1.0 + 1e-7)
    lon2, lat2, _ = GEOD.fwd(lon, lat, az, catchment / detour * side)
    places, providers = Located.from_lonlat(lon, lat), Located.from_lonlat(lon2, lat2)
    _, _, count = e2sfca_straight_line(places, providers, np.ones(n), np.ones(n), catchment, detour)
    assert (count == (side < 1.0)).all()
    total = sum_within(places, providers, np.ones(n), catchment, detour)
    assert (total == (side < 1.0)).all()


def test_the_search_around_one_place_keeps_exactly_the_geodesics_inside():
    catchment = 30_000.0
    _, _, az = _spread(300, 5)
    here_lon, here_lat = 53.0, 30.0
    side = np.where(np.arange(300) % 2 == 0, 1.0 - 1e-7, 1.0 + 1e-7)
    lon2, lat2, _ = GEOD.fwd(np.full(300, here_lon), np.full(300, here_lat), az, catchment * side)
    here = Located.from_lonlat(np.array([here_lon]), np.array([here_lat]))
    targets = Located.from_lonlat(lon2, lat2)
    idx, _ = StraightLine(1.0).within(here, targets, catchment)
    assert sorted(idx.tolist()) == np.flatnonzero(side < 1.0).tolist()


def test_the_search_radius_holds_the_band():
    # A pair the fast distance puts just past the edge, but the geodesic inside, is still found.
    ground = 400_000.0
    assert search_radius(ground, 1.0, 1.0) >= ground * (1.0 + edge_margin(ground))


def test_the_flag_rules_limit_is_decided_on_the_geodesic():
    # Villages on a one-degree grid, each with a rehabilitation centre at the norm's limit
    # (max_distance_km × detour on the geodesic), alternately a hair inside and outside it.
    from geo.access import access_measures, demand_at_settlements
    from tests import analysis_world as world

    norms = world.demo_norms(detour_factor=1.3)
    limit_m = norms.services["rehabilitation"].max_cost("m")
    lon, lat = (g.ravel() for g in np.meshgrid(np.arange(45.0, 63.0), np.arange(26.0, 40.0)))
    n = len(lon)
    side = np.where(np.arange(n) % 2 == 0, 1.0 - 1e-7, 1.0 + 1e-7)
    lon2, lat2, _ = GEOD.fwd(lon, lat, np.linspace(0.0, 330.0, n), limit_m / 1.3 * side)
    s = world.settlements(list(zip(lon, lat, strict=True)), [1000] * n)
    centres = world.ngos(
        list(zip(lon2, lat2, strict=True)), ["rehabilitation"] * n, [10] * n, list(s["settlement_code"])
    )
    need = world.needs({"0001": {"rehabilitation": 100}, "0002": {"rehabilitation": 100}})
    r = access_measures(s, centres, demand_at_settlements(s, need), norms)
    nearest = r.nearest_ngo["rehabilitation"].to_numpy()
    assert nearest.tolist() == list(centres["licence_no"])  # each village's own centre is its nearest
    too_far = (
        r.nearest_m["rehabilitation"].to_numpy() / 1000.0 > norms.services["rehabilitation"].max_distance_km
    )
    assert (too_far == (side > 1.0)).all()


def test_the_scale_factor_is_the_projections_own():
    # k at a point is how much longer a short projected segment is than the same on the ground:
    # measured here on 10 m segments in two directions (conformal: the same), against the
    # closed form and against PROJ's numerical factors.
    from pyproj import Geod, Proj

    from geo.crs import METRIC_CRS
    from geo.located import _lcc_scale

    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(44, 63.5, 500), rng.uniform(25, 40, 500)
    proj, geod = Proj(METRIC_CRS), Geod(ellps="WGS84")
    k = _lcc_scale(lat)
    x, y = proj(lon, lat)
    for azimuth in (0.0, 90.0):
        lon2, lat2, _ = geod.fwd(lon, lat, np.full(500, azimuth), np.full(500, 10.0))
        x2, y2 = proj(lon2, lat2)
        np.testing.assert_allclose(np.hypot(x2 - x, y2 - y) / 10.0, k, rtol=1e-6)
    np.testing.assert_allclose(k, proj.get_factors(lon, lat).meridional_scale, rtol=1e-9)
    assert k.min() > 0.99 and k.max() < 1.01  # "under about 1%" over Iran (geo/crs.py)


@pytest.mark.parametrize("n", [0, 1, 7, 25_000])
def test_the_compiled_ground_distance_is_numpys_to_the_bit(n):
    """``ground_distance`` (compiled, on every core for many pairs) gives exactly the figures of
    its plain NumPy form, serial and parallel alike; masks are refused, not read as positions."""
    rng = np.random.default_rng(n)
    a = Located.from_lonlat(rng.uniform(44, 63, n + 3), rng.uniform(25, 40, n + 3))
    b = Located.from_lonlat(rng.uniform(44, 63, 50), rng.uniform(25, 40, 50))
    ia, ib = rng.integers(0, n + 3, n), rng.integers(0, 50, n)
    want = np.hypot(*(a.xy[ia] - b.xy[ib]).T) / (0.5 * (a.k[ia] + b.k[ib]))
    assert np.array_equal(ground_distance(a, ia, b, ib), want)
    with pytest.raises(TypeError, match="positions"):
        ground_distance(a, np.ones(n + 3, dtype=bool), b, np.arange(n + 3) % 50)
