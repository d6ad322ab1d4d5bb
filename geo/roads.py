"""Travel on roads: a road network from a lines layer, and a travel-time cost on it.

``build_road_graph`` turns a layer of road lines (any CRS-4326 GeoDataFrame of (multi)lines with
a class column) into a graph: a node at every distinct vertex (lines that share a vertex meet
there), an edge between consecutive vertices of a line with its ground length in metres
(``geo.distance`` projection and scale factors) and its travel time in minutes at the speed of
its road class. Two lines along the same pair of vertices keep the faster edge.

``RoadNetwork`` is a travel cost with the interface of ``geo.distance.StraightLine``
(``pairs``, ``nearest``), in **minutes**:

* a place reaches the network at its nearest node, at the off-road speed;
* along the network, the fastest route (Dijkstra);
* **fallback**: a place farther than ``max_off_road_km`` from any node, or whose nearest node
  is not on the main network (the largest connected component: islands, fragments), travels in
  a straight line: ground distance × ``detour`` at ``fallback_kmh``. A trip with a fallback end
  costs that straight line; such places are flagged (``Snapped.fallback``, and per settlement in
  the analysis).

Nearest centres come from one multi-source Dijkstra (``scipy.sparse.csgraph``) from all centres
of a service at once. The pairs within a catchment come from bounded searches around each
centre's node: a catchment of 40 minutes touches a few hundred of the network's nodes, so the
search (compiled, numba) visits only those instead of initialising the whole graph per centre
as ``scipy.sparse.csgraph.dijkstra`` does; tests hold both, and networkx, to the same costs.
Those searches can run on a Dask cluster (``RoadNetwork.with_client``).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numba as nb
import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from geo.distance import Located, StraightLine, ground_distance, search_radius
from geo.errors import SchemaError
from geo.kernels import exp_neg

#: Vertices closer than this (degrees, about 1 cm) are the same node.
NODE_PRECISION = 7

# ---------------------------------------------------------------------------------------------
# The graph
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoadGraph:
    """An undirected road graph in CSR form (each edge stored both ways)."""

    lonlat: np.ndarray  # (n, 2) node positions
    nodes: Located  # the same, projected
    indptr: np.ndarray
    indices: np.ndarray
    minutes: np.ndarray  # travel time of each stored edge
    metres: np.ndarray  # ground length of each stored edge
    edge_class: np.ndarray  # road class of each stored edge
    component: np.ndarray  # connected component of each node
    main: int  # the largest component (by length)

    @property
    def n_nodes(self) -> int:
        return len(self.lonlat)

    def matrix(self, weights: str = "minutes") -> csr_matrix:
        data = self.minutes if weights == "minutes" else self.metres
        return csr_matrix((data, self.indices, self.indptr), shape=(self.n_nodes, self.n_nodes))

    def summary(self) -> dict:
        """Counts and lengths: nodes, edges, km per class, components, the main one's share."""
        upper = _upper(self)
        km = self.metres[upper] / 1000.0
        comp_of_edge = self.component[np.repeat(np.arange(self.n_nodes), np.diff(self.indptr))][upper]
        km_per_comp = np.bincount(comp_of_edge, weights=km, minlength=self.component.max() + 1)
        classes = self.edge_class[upper]
        return {
            "nodes": int(self.n_nodes),
            "edges": int(upper.sum()),
            "km": float(km.sum()),
            "km_by_class": {str(c): float(km[classes == c].sum()) for c in np.unique(classes)},
            "components": int(self.component.max() + 1),
            "main_component_nodes": int((self.component == self.main).sum()),
            "main_component_km_share": float(km_per_comp[self.main] / max(km.sum(), 1e-300)),
        }

    def edges(self) -> gpd.GeoDataFrame:
        """Each edge once, as a line with its class, metres and minutes (for maps and checks)."""
        upper = _upper(self)
        src = np.repeat(np.arange(self.n_nodes), np.diff(self.indptr))[upper]
        dst = self.indices[upper]
        lines = shapely.linestrings(np.stack([self.lonlat[src], self.lonlat[dst]], axis=1))
        return gpd.GeoDataFrame(
            {
                "u": src,
                "v": dst,
                "road_class": self.edge_class[upper],
                "metres": self.metres[upper],
                "minutes": self.minutes[upper],
            },
            geometry=lines,
            crs=4326,
        )


def _upper(g: RoadGraph) -> np.ndarray:
    src = np.repeat(np.arange(g.n_nodes), np.diff(g.indptr))
    return src < g.indices


def build_road_graph(
    lines: gpd.GeoDataFrame, speeds_kmh: Mapping[str, float], class_column: str = "road_class"
) -> RoadGraph:
    """A road graph from a lines layer in EPSG:4326 with a road class column.

    ``speeds_kmh`` maps each class to a speed; a ``default`` entry covers classes not listed,
    otherwise an unlisted class is a ``SchemaError`` naming it. Lines are noded at their
    vertices (shared vertices join lines); no crossing is invented where lines only cross.
    """
    if class_column not in lines.columns:
        raise SchemaError(f"roads layer has no column {class_column!r} (columns: {', '.join(lines.columns)})")
    speeds = {str(k): float(v) for k, v in speeds_kmh.items()}
    if any(v <= 0 for v in speeds.values()):
        raise SchemaError("road speeds must be positive")
    geoms = lines.geometry.to_numpy()
    keep = ~(shapely.is_empty(geoms) | shapely.is_missing(geoms))
    parts, part_of = shapely.get_parts(geoms[keep], return_index=True)
    classes = lines[class_column].astype(str).to_numpy()[keep][part_of]
    unknown = sorted(set(np.unique(classes)) - set(speeds))
    if unknown and "default" not in speeds:
        raise SchemaError(
            f"road classes without a speed: {', '.join(unknown)}; add them (or a default) to the "
            "norms' [roads.speeds_kmh]"
        )
    coords, line_of = shapely.get_coordinates(parts, return_index=True)
    if len(coords) == 0:
        raise SchemaError("the roads layer holds no lines")
    lonlat, node = np.unique(np.round(coords, NODE_PRECISION), axis=0, return_inverse=True)
    node = node.ravel()
    consecutive = line_of[1:] == line_of[:-1]
    u, v = node[:-1][consecutive], node[1:][consecutive]
    cls = classes[line_of[:-1][consecutive]]
    keep = u != v
    u, v, cls = u[keep], v[keep], cls[keep]
    located = Located.from_lonlat(lonlat[:, 0], lonlat[:, 1])
    metres = ground_distance(located, u, located, v)
    kmh = np.array([speeds.get(c, speeds.get("default", np.nan)) for c in cls], dtype="float64")
    minutes = metres / 1000.0 / kmh * 60.0
    # Both directions; where several lines join the same two nodes keep the fastest.
    a, b = np.r_[u, v], np.r_[v, u]
    t, m, c = np.r_[minutes, minutes], np.r_[metres, metres], np.r_[cls, cls]
    order = np.lexsort((m, t, b, a))
    a, b, t, m, c = a[order], b[order], t[order], m[order], c[order]
    first = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
    a, b, t, m, c = a[first], b[first], t[first], m[first], c[first]
    n = len(lonlat)
    indptr = np.r_[0, np.cumsum(np.bincount(a, minlength=n))].astype("int64")
    matrix = csr_matrix((t, b, indptr), shape=(n, n))
    _, component = connected_components(matrix, directed=False)
    src = np.repeat(np.arange(n), np.diff(indptr))
    km_per_comp = np.bincount(component[src], weights=m, minlength=component.max() + 1)
    return RoadGraph(
        lonlat=lonlat,
        nodes=located,
        indptr=indptr,
        indices=b.astype("int64"),
        minutes=t,
        metres=m,
        edge_class=c,
        component=component.astype("int64"),
        main=int(np.argmax(km_per_comp)),
    )


# ---------------------------------------------------------------------------------------------
# Compiled bounded searches
# ---------------------------------------------------------------------------------------------


@nb.njit(cache=True)
def _balls(indptr, indices, weights, sources, offsets, limit):
    """For each source node s (starting at time offsets[k]), every node v with
    offsets[k] + d(s, v) <= limit. Returns (k, v, d(s, v)) arrays, sources in order, nodes in
    order of distance. Only the nodes reached are touched (the arrays are reset after each)."""
    n = len(indptr) - 1
    dist = np.full(n, np.inf)
    done = np.zeros(n, np.bool_)
    touched = np.empty(n, np.int64)
    cap = len(indices) + 2
    heap_d = np.empty(cap)
    heap_v = np.empty(cap, np.int64)
    size_out = 1024
    out_k = np.empty(size_out, np.int64)
    out_v = np.empty(size_out, np.int64)
    out_d = np.empty(size_out)
    n_out = 0
    for k in range(len(sources)):
        budget = limit - offsets[k]
        if budget < 0:
            continue
        s = sources[k]
        n_touched = 0
        dist[s] = 0.0
        touched[n_touched] = s
        n_touched += 1
        heap_d[0] = 0.0
        heap_v[0] = s
        hn = 1
        while hn > 0:
            d = heap_d[0]
            x = heap_v[0]
            # pop
            hn -= 1
            if hn > 0:
                ld = heap_d[hn]
                lv = heap_v[hn]
                i = 0
                while True:
                    c = 2 * i + 1
                    if c >= hn:
                        break
                    if c + 1 < hn and heap_d[c + 1] < heap_d[c]:
                        c += 1
                    if heap_d[c] < ld:
                        heap_d[i] = heap_d[c]
                        heap_v[i] = heap_v[c]
                        i = c
                    else:
                        break
                heap_d[i] = ld
                heap_v[i] = lv
            if done[x] or d > dist[x]:
                continue
            done[x] = True
            if n_out == size_out:
                size_out *= 2
                out_k = _grow_i(out_k, size_out)
                out_v = _grow_i(out_v, size_out)
                out_d = _grow_f(out_d, size_out)
            out_k[n_out] = k
            out_v[n_out] = x
            out_d[n_out] = d
            n_out += 1
            for e in range(indptr[x], indptr[x + 1]):
                y = indices[e]
                nd = d + weights[e]
                if nd <= budget and nd < dist[y]:
                    if dist[y] == np.inf:
                        touched[n_touched] = y
                        n_touched += 1
                    dist[y] = nd
                    # push
                    i = hn
                    hn += 1
                    while i > 0:
                        p = (i - 1) // 2
                        if heap_d[p] > nd:
                            heap_d[i] = heap_d[p]
                            heap_v[i] = heap_v[p]
                            i = p
                        else:
                            break
                    heap_d[i] = nd
                    heap_v[i] = y
        for t in range(n_touched):
            dist[touched[t]] = np.inf
            done[touched[t]] = False
    return out_k[:n_out].copy(), out_v[:n_out].copy(), out_d[:n_out].copy()


@nb.njit(cache=True)
def _grow_i(a, size):
    out = np.empty(size, np.int64)
    out[: len(a)] = a
    return out


@nb.njit(cache=True)
def _grow_f(a, size):
    out = np.empty(size)
    out[: len(a)] = a
    return out


@nb.njit(cache=True)
def _gather(
    ball_k,
    ball_v,
    ball_d,
    s_ptr,
    s_members,
    s_access,
    v_ptr,
    v_members,
    v_access,
    values,
    limit,
    inv2s2,
    to_sources,
    n_out,
):
    """Over every (source member c, node member p) pair of the balls with cost
    a_c + d + a_p <= limit: Σ values · exp(-cost² · inv2s2) and the count, per source member
    (``to_sources``, values indexed by node members) or per node member."""
    total = np.zeros(n_out)
    count = np.zeros(n_out, np.int64)
    for e in range(len(ball_k)):
        k = ball_k[e]
        v = ball_v[e]
        d = ball_d[e]
        for a in range(s_ptr[k], s_ptr[k + 1]):
            c = s_members[a]
            dc = d + s_access[c]
            for b in range(v_ptr[v], v_ptr[v + 1]):
                p = v_members[b]
                cost = dc + v_access[p]
                if cost <= limit:
                    # cost² · inv2s2 ≤ 2 with e2sfca's σ = limit / 2: within exp_neg's range
                    w = exp_neg(cost * cost * inv2s2)
                    if to_sources:
                        total[c] += values[p] * w
                        count[c] += 1
                    else:
                        total[p] += values[c] * w
                        count[p] += 1
    return total, count


@nb.njit(cache=True)
def _emit_pairs(ball_k, ball_v, ball_d, s_ptr, s_members, s_access, v_ptr, v_members, v_access, limit):
    """The (source member, node member, cost) pairs of the balls with cost <= limit."""
    n = 0
    for e in range(len(ball_k)):
        for a in range(s_ptr[ball_k[e]], s_ptr[ball_k[e] + 1]):
            dc = ball_d[e] + s_access[s_members[a]]
            for b in range(v_ptr[ball_v[e]], v_ptr[ball_v[e] + 1]):
                if dc + v_access[v_members[b]] <= limit:
                    n += 1
    out_s = np.empty(n, np.int64)
    out_v = np.empty(n, np.int64)
    out_c = np.empty(n)
    t = 0
    for e in range(len(ball_k)):
        for a in range(s_ptr[ball_k[e]], s_ptr[ball_k[e] + 1]):
            c = s_members[a]
            dc = ball_d[e] + s_access[c]
            for b in range(v_ptr[ball_v[e]], v_ptr[ball_v[e] + 1]):
                p = v_members[b]
                cost = dc + v_access[p]
                if cost <= limit:
                    out_s[t] = c
                    out_v[t] = p
                    out_c[t] = cost
                    t += 1
    return out_s, out_v, out_c


@nb.njit(cache=True)
def _route_metres(targets, pred, indptr, indices, metres, start_metres, n):
    """Length along the fastest route to each of ``targets``, from the predecessors of a search
    (nodes ``>= n`` are virtual start nodes with their own length): each target walks back to a
    node whose length is known and the lengths are filled on the way back, so every node on the
    routes is measured once (no sort of the nodes by time)."""
    out = np.full(len(pred), np.nan)
    known = np.zeros(len(pred), np.bool_)
    path = np.empty(len(pred), np.int64)
    for target in targets:
        x = target
        top = 0
        while not known[x]:
            path[top] = x
            top += 1
            p = pred[x]
            if p < 0 or p >= n:
                break
            x = p
        while top > 0:
            top -= 1
            x = path[top]
            p = pred[x]
            if p < 0:
                out[x] = start_metres[x - n] if x >= n else 0.0
            elif p >= n:
                out[x] = start_metres[p - n]
            else:
                for e in range(indptr[p], indptr[p + 1]):
                    if indices[e] == x:
                        out[x] = out[p] + metres[e]
                        break
            known[x] = True
    return out


@nb.njit(cache=True)
def _walk_metres(pred, rows, sources, targets, indptr, indices, minutes, metres):
    """Metres along the fastest route from ``sources[t]`` to ``targets[t]``, walking back the
    predecessors of search ``rows[t]``; of parallel edges, the faster (the one the search took).
    NaN where the target was not reached."""
    out = np.full(len(rows), np.nan)
    for t in range(len(rows)):
        r = rows[t]
        x = targets[t]
        total = 0.0
        while x != sources[t]:
            p = pred[r, x]
            if p < 0:
                total = np.nan
                break
            best = np.inf
            length = np.nan
            for e in range(indptr[p], indptr[p + 1]):
                if indices[e] == x and minutes[e] < best:
                    best = minutes[e]
                    length = metres[e]
            total += length
            x = p
        out[t] = total
    return out


def run_balls(graph_arrays, sources, offsets, limit):
    """Bounded searches from ``sources`` (a plain function, so a Dask worker can run it)."""
    indptr, indices, minutes = graph_arrays
    return _balls(
        indptr,
        indices,
        minutes,
        np.ascontiguousarray(sources, dtype="int64"),
        np.ascontiguousarray(offsets, dtype="float64"),
        float(limit),
    )


# ---------------------------------------------------------------------------------------------
# The travel cost
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Snapped:
    """Places attached to the network: nearest node, how far (m) and how long (min) to reach it,
    and whether they fall back to the straight line (far from a road, or not on the main network)."""

    where: Located
    node: np.ndarray
    off_road_m: np.ndarray
    access_min: np.ndarray
    fallback: np.ndarray
    _cache: dict = field(default_factory=dict, repr=False)

    def part(self, which: str) -> tuple[np.ndarray, Located, cKDTree | None]:
        """The places of one kind (``"all"`` or ``"fallback"``): their positions, their points and
        a k-d tree of them (kept)."""
        hit = self._cache.get(which)
        if hit is None:
            if which == "all":  # the places themselves: a copy of their points held 4 MB nationally
                idx, sub = np.arange(len(self.where)), self.where
            else:
                idx = np.flatnonzero(self.fallback)
                sub = _subset(self.where, idx)
            hit = (idx, sub, cKDTree(sub.xy, copy_data=False) if len(idx) else None)
            self._cache[which] = hit
        return hit

    def take(self, idx: np.ndarray, where: Located) -> Snapped:
        """The same attachment for a subset of the places (``where`` = their points)."""
        return Snapped(where, self.node[idx], self.off_road_m[idx], self.access_min[idx], self.fallback[idx])

    def by_node(self, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
        """The network (non-fallback) places grouped by node: CSR over all nodes (kept)."""
        hit = self._cache.get("by_node")
        if hit is None:
            on = np.flatnonzero(~self.fallback)
            ptr, order = _members(self.node[on], n_nodes)
            hit = (ptr, on[order])
            self._cache["by_node"] = hit
        return hit

    def grouped(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Unique nodes of the network places, each with its places (CSR) and the smallest
        off-road time among them (kept)."""
        hit = self._cache.get("grouped")
        if hit is None:
            on = np.flatnonzero(~self.fallback)
            nodes, inverse = np.unique(self.node[on], return_inverse=True)
            inverse = inverse.ravel()
            ptr, order = _members(inverse, len(nodes))
            offsets = np.full(len(nodes), np.inf)
            np.minimum.at(offsets, inverse, self.access_min[on])
            hit = (nodes, ptr, on[order], offsets)
            self._cache["grouped"] = hit
        return hit


#: point sets at least this large keep their attachment (``RoadNetwork.snap``)
SNAPS_KEPT_FROM = 64


def _points_key(where: Located) -> tuple[str, int, bytes]:
    """A key of a point set's coordinates (a digest of their bytes: 2 ms for 100,000 points)."""
    return (
        "points",
        len(where),
        hashlib.blake2b(np.ascontiguousarray(where.xy).tobytes(), digest_size=16).digest(),
    )


def _members(keys: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR grouping: for each key, the positions holding it (``ptr``, ``members``)."""
    order = np.argsort(keys, kind="stable")
    ptr = np.r_[0, np.cumsum(np.bincount(keys, minlength=n_keys))].astype("int64")
    return ptr, order.astype("int64")


@dataclass
class RoadNetwork:
    """Travel time in minutes on a road graph (see the module's notes).

    Same interface as ``StraightLine``: ``pairs`` and ``nearest``; ``unit`` is ``"min"``.
    """

    graph: RoadGraph
    off_road_kmh: float = 30.0
    max_off_road_km: float = 10.0
    fallback_kmh: float = 30.0
    detour: float = 1.3
    #: a dask.distributed Client for the bounded searches (None: in this process)
    client: Any = None  # a dask.distributed Client (optional dependency), or None
    chunk_sources: int = 256
    unit: str = field(default="min", init=False)
    _snaps: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        on_main = self.graph.component == self.graph.main
        self._main_nodes = np.flatnonzero(on_main)
        # Places snap to the nearest node of the main network; a nearer node on a fragment
        # (an island's roads) makes them fall back. The trees keep the arrays taken for them
        # (copy_data=False), as every k-d tree here does with its points' own: no second copy.
        self._node_tree = (
            cKDTree(self.graph.nodes.xy[self._main_nodes], copy_data=False) if len(self._main_nodes) else None
        )
        fragment = np.flatnonzero(~on_main)
        self._fragment_tree = (
            cKDTree(self.graph.nodes.xy[fragment], copy_data=False) if len(fragment) else None
        )
        self._arrays = (self.graph.indptr, self.graph.indices, self.graph.minutes)
        self._remote_arrays = None

    def with_client(self, client) -> RoadNetwork:
        """The same network, its bounded searches run on a Dask cluster."""
        return RoadNetwork(
            self.graph,
            self.off_road_kmh,
            self.max_off_road_km,
            self.fallback_kmh,
            self.detour,
            client,
            self.chunk_sources,
        )

    # ---- attaching places -------------------------------------------------------------------

    def snap(self, where: Located) -> Snapped:
        """Nearest main-network node of each place, the off-road leg, and the fallback flag
        (kept for the last few point sets, by their coordinates: the settlements of the next
        analysis, unchanged by a registry import, are not attached again)."""
        # The same object again (each licence check attaches the settlements): found by its id
        # at once. A subset is taken from its full set's attachment; other points are found by
        # their coordinates.
        hit = self._snaps.get(("object", id(where)))
        if hit is not None and hit.where is where:
            return hit
        subset = where.parent is not None and where.index is not None
        key = ("subset", id(where)) if subset else _points_key(where)
        hit = self._snaps.get(key)
        if hit is not None and (hit.where is where or not subset):
            # the same points: the same attachment, and what was worked out of it
            snapped = hit if hit.where is where else replace(hit, where=where, _cache=hit._cache)
            self._snaps[("object", id(where))] = snapped
            return snapped
        n = len(where)
        if where.parent is not None and where.index is not None:
            snapped = self.snap(where.parent).take(where.index, where)
        elif n == 0 or self._node_tree is None:
            snapped = Snapped(
                where, np.zeros(n, "int64"), np.full(n, np.inf), np.full(n, np.inf), np.ones(n, dtype=bool)
            )
        else:
            d_main, pos = self._node_tree.query(where.xy, k=1)
            node = self._main_nodes[pos]
            metres = ground_distance(where, np.arange(n), self.graph.nodes, node)
            if self._fragment_tree is not None:
                d_fragment, _ = self._fragment_tree.query(where.xy, k=1)
                on_fragment = d_fragment < d_main
            else:
                on_fragment = np.zeros(n, dtype=bool)
            fallback = (metres > 1000.0 * self.max_off_road_km) | on_fragment
            snapped = Snapped(where, node, metres, metres / 1000.0 / self.off_road_kmh * 60.0, fallback)
        if n < SNAPS_KEPT_FROM:
            # a licence check's one place: attached again at little cost, and never pushing the
            # settlements' attachment out of the cache
            return snapped
        if len(self._snaps) >= 64:
            self._snaps.clear()
        self._snaps[key] = self._snaps[("object", id(where))] = snapped
        return snapped

    def snap_point(self, lon: float, lat: float) -> bool:
        """Whether a place at (lon, lat) falls back to the straight line."""
        return bool(self.snap(Located.from_lonlat(np.array([lon]), np.array([lat]))).fallback[0])

    def fallback(self, here: Located) -> np.ndarray:
        """Whether each place is too far from a road and is reached in a straight line."""
        return self.snap(here).fallback

    def reach_m(self, minutes: float) -> float:
        """The farthest ground distance (m) any trip of ``minutes`` can cover: a bound for
        straight-line searches (the fastest road, the off-road leg, or the fallback)."""
        fastest = max(float(np.max(self.graph.metres / self.graph.minutes, initial=0.0)) * 60 / 1000, 0.0)
        kmh = max(fastest, self.off_road_kmh, self.fallback_kmh / self.detour)
        return minutes / 60.0 * kmh * 1000.0

    def straight_minutes(self, metres: np.ndarray) -> np.ndarray:
        """The fallback: ground metres × detour at ``fallback_kmh``, in minutes."""
        return np.asarray(metres) * self.detour / 1000.0 / self.fallback_kmh * 60.0

    def _straight(self) -> StraightLine:
        return StraightLine(self.detour)

    # ---- searches -----------------------------------------------------------------------------

    def balls(self, sources: np.ndarray, offsets: np.ndarray, limit: float):
        """Bounded searches from each source node: (k, node, minutes) for every node within
        ``limit - offsets[k]``; on the Dask cluster when there is one (same answer, same order)."""
        if self.client is None or len(sources) <= self.chunk_sources:
            return run_balls(self._arrays, sources, offsets, limit)
        if self._remote_arrays is None:
            self._remote_arrays = self.client.scatter(self._arrays, broadcast=True)
        starts = list(range(0, len(sources), self.chunk_sources))
        futures = self.client.map(
            run_balls,
            [self._remote_arrays] * len(starts),
            [sources[s : s + self.chunk_sources] for s in starts],
            [offsets[s : s + self.chunk_sources] for s in starts],
            [limit] * len(starts),
            pure=False,
        )
        parts = self.client.gather(futures)
        ks = [p[0] + s for p, s in zip(parts, starts, strict=True)]
        return (
            np.concatenate(ks),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
        )

    def _network_pairs(self, sources: Snapped, targets: Snapped, max_cost: float):
        """Bounded searches from the sources' nodes, with both sides' members: the arguments of
        ``_gather`` and ``_emit_pairs``."""
        nodes, s_ptr, s_members, offsets = sources.grouped()
        if len(nodes) == 0:
            return None
        k, v, d = self.balls(nodes, offsets, max_cost)
        v_ptr, v_members = targets.by_node(self.graph.n_nodes)
        return k, v, d, s_ptr, s_members, sources.access_min, v_ptr, v_members, targets.access_min

    def _line_pairs(self, a, b, max_minutes: float):
        """Straight-line fallback pairs between two parts (positions, points, tree): (i, j, minutes)."""
        ia, pa, ta = a
        ib, pb, tb = b
        if ta is None or tb is None:
            return None
        max_m = max_minutes / 60.0 * self.fallback_kmh * 1000.0
        radius = search_radius(max_m, self.detour, max(pa.k.max(), pb.k.max()))
        found = ta.sparse_distance_matrix(tb, radius, output_type="ndarray")
        i, j = found["i"], found["j"]
        minutes = self.straight_minutes(found["v"] / (0.5 * (pa.k[i] + pb.k[j])))
        keep = minutes <= max_minutes
        return ia[i[keep]], ib[j[keep]], minutes[keep]

    def _fallback_pairs(self, o: Snapped, d: Snapped, max_cost: float):
        """Pairs with a fallback end, costed in a straight line (origin index, destination index, minutes)."""
        found = [self._line_pairs(o.part("fallback"), d.part("all"), max_cost)]
        # To the fallback destinations from the origins on the network (the others are above):
        # searched from all the origins, whose k-d tree is kept over their own points, and
        # filtered; a kept copy of the network origins' points took 4 MB for the settlements.
        to_fallback = self._line_pairs(o.part("all"), d.part("fallback"), max_cost)
        if to_fallback is not None:
            on = ~o.fallback[to_fallback[0]]
            found.append(tuple(a[on] for a in to_fallback))
        found = [f for f in found if f is not None]
        if not found:
            return np.zeros(0, "int64"), np.zeros(0, "int64"), np.zeros(0)
        return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))

    # ---- the interface ---------------------------------------------------------------------------

    def pairs(self, origins: Located, destinations: Located, max_cost: float, origin_tree=None):
        """Every (origin, destination) pair with travel time ≤ ``max_cost`` minutes: (i, j, minutes),
        sorted by origin then destination."""
        if len(origins) == 0 or len(destinations) == 0:
            empty = np.zeros(0, dtype="int64")
            return empty, empty, np.zeros(0)
        o, d = self.snap(origins), self.snap(destinations)
        fi, fj, fc = self._fallback_pairs(o, d, max_cost)
        net = self._network_pairs(d, o, max_cost)
        if net is not None:
            j, i, c = _emit_pairs(*net, float(max_cost))
            fi, fj, fc = np.r_[i, fi], np.r_[j, fj], np.r_[c, fc]
        order = np.lexsort((fj, fi))
        return fi[order], fj[order], fc[order]

    def nearest(self, origins: Located, destinations: Located):
        """For each origin, the nearest destination by travel time and the minutes (-1/inf if none)."""
        idx, minutes, _, _ = self.nearest_route(origins, destinations)
        return idx, minutes

    def nearest_route(self, origins: Located, destinations: Located):
        """Nearest destination, minutes, metres along the route, and whether the straight-line
        fallback gave it, for each origin. One multi-source search from all destinations."""
        n, m = len(origins), len(destinations)
        idx = np.full(n, -1, dtype="int64")
        minutes = np.full(n, np.inf)
        metres = np.full(n, np.inf)
        fallback = np.zeros(n, dtype=bool)
        if n == 0 or m == 0:
            return idx, minutes, metres, fallback
        o, d = self.snap(origins), self.snap(destinations)
        g = self.graph
        on_d = np.flatnonzero(~d.fallback)
        if len(on_d):
            # One virtual start node per destination, joined to its network node by its off-road
            # leg: a single Dijkstra from all of them gives each node its nearest destination.
            # (scipy keeps explicit zeros of a sparse graph as edges: a leg of 0 minutes is fine.)
            N = g.n_nodes
            nv = len(on_d)
            indptr = np.r_[g.indptr, g.indptr[-1] + np.arange(1, nv + 1)]
            indices = np.r_[g.indices, d.node[on_d]]
            aug = csr_matrix((np.r_[g.minutes, d.access_min[on_d]], indices, indptr), shape=(N + nv, N + nv))
            dist, pred, source = dijkstra(
                aug, directed=True, indices=N + np.arange(nv), min_only=True, return_predecessors=True
            )
            on_o = np.flatnonzero(~o.fallback)
            node = o.node[on_o]
            reach = np.isfinite(dist[node])
            pos, node = on_o[reach], node[reach]
            route_m = _route_metres(node, pred, indptr, indices, g.metres, d.off_road_m[on_d], N)
            minutes[pos] = dist[node] + o.access_min[pos]
            metres[pos] = route_m[node] + o.off_road_m[pos]
            idx[pos] = on_d[source[node] - N]
        # Fallback ends: the straight line, to every destination from a fallback origin, and to
        # the fallback destinations from the others.
        # The origins' own points, without a k-d tree: the network places are nearly all of them,
        # and a kept copy of their points took 4 MB nationally.
        on_network = np.flatnonzero(~o.fallback)
        for a, b in (
            (o.part("fallback")[:2], d.part("all")),
            ((on_network, _subset(o.where, on_network)), d.part("fallback")),
        ):
            (ia, pa), (ib, pb, tb) = a, b
            if len(ia) == 0 or tb is None:
                continue
            if len(ib) <= FEW_FALLBACK_ENDS:
                # Few ends off the network (the usual case): a place already reached in less time
                # than the straight line to the nearest of them could take is left out before the
                # search (the ground distance is at least the projected one over the largest scale
                # factor), which gives the same answer.
                keep = np.flatnonzero(
                    self.straight_minutes(_nearest_projected(pa.xy, pb.xy) / _largest_scale(pa, pb))
                    < minutes[ia]
                )
                if len(keep) == 0:
                    continue
                ia, pa = ia[keep], _subset(pa, keep)
            _, j = tb.query(pa.xy, k=1)
            ground = ground_distance(pa, np.arange(len(ia)), b[1], j)
            cand = self.straight_minutes(ground)
            better = cand < minutes[ia]
            sel = ia[better]
            minutes[sel] = cand[better]
            metres[sel] = ground[better] * self.detour
            idx[sel] = ib[j[better]]
            fallback[sel] = True
        return idx, minutes, metres, fallback

    def route_metres(
        self, origins: Located, destinations: Located, i: np.ndarray, j: np.ndarray, max_cost: float
    ) -> np.ndarray:
        """Metres of travel of each pair ``(origins[i], destinations[j])`` along the fastest route,
        the one whose minutes ``pairs`` gives (within ``max_cost``): the road route plus the
        off-road legs at both ends; a pair with a fallback end, the straight line × detour."""
        i = np.asarray(i, dtype="int64")
        j = np.asarray(j, dtype="int64")
        out = np.full(len(i), np.nan)
        if len(i) == 0:
            return out
        o, d = self.snap(origins), self.snap(destinations)
        g = self.graph
        net = np.flatnonzero(~(o.fallback[i] | d.fallback[j]))
        # Bounded searches from the destinations' nodes (the direction ``pairs`` searches in),
        # a few dozen at a time so that their predecessor tables stay small.
        nodes, row_of = np.unique(d.node[j[net]], return_inverse=True)
        matrix = g.matrix("minutes")
        chunk = 64
        for start in range(0, len(nodes), chunk):
            mask = (row_of >= start) & (row_of < start + chunk)
            sel, rows = net[mask], row_of[mask] - start
            _, pred = dijkstra(
                matrix,
                directed=True,
                indices=nodes[start : start + chunk],
                limit=float(max_cost),
                return_predecessors=True,
            )
            along = _walk_metres(
                pred, rows, d.node[j[sel]], o.node[i[sel]], g.indptr, g.indices, g.minutes, g.metres
            )
            out[sel] = along + o.off_road_m[i[sel]] + d.off_road_m[j[sel]]
        # Fallback ends (and any pair the bounded search did not reach): the straight line.
        line = np.flatnonzero(np.isnan(out))
        out[line] = ground_distance(origins, i[line], destinations, j[line]) * self.detour
        return out

    # ---- fused measures -----------------------------------------------------------------------

    def e2sfca(self, places: Located, providers: Located, demand, supply, catchment: float):
        """E2SFCA in minutes (Gaussian decay, σ = catchment / 2): (access, ratio, count)."""
        n, m = len(places), len(providers)
        if n == 0 or m == 0:
            return np.zeros(n), np.zeros(m), np.zeros(n, dtype="int64")
        demand = np.asarray(demand, dtype="float64")
        supply = np.asarray(supply, dtype="float64")
        inv2s2 = 1.0 / (2.0 * (catchment / 2.0) ** 2)
        p, c = self.snap(places), self.snap(providers)
        fi, fj, fc = self._fallback_pairs(p, c, catchment)
        fw = np.exp(-fc * fc * inv2s2)
        # float even when there is no fallback pair (bincount of nothing is integer)
        weighted = np.bincount(fj, weights=demand[fi] * fw, minlength=m).astype("float64")
        net = self._network_pairs(c, p, catchment)
        if net is not None:
            weighted += _gather(*net, demand, float(catchment), inv2s2, True, m)[0]
        ratio = np.divide(supply, weighted, out=np.zeros(m), where=weighted > 0)
        access = np.bincount(fi, weights=ratio[fj] * fw, minlength=n).astype("float64")
        count = np.bincount(fi, minlength=n).astype("int64")
        if net is not None:
            a, k = _gather(*net, ratio, float(catchment), inv2s2, False, n)
            access += a
            count += k
        return access, ratio, count

    def sum_within(self, queries: Located, points: Located, values, max_cost: float) -> np.ndarray:
        """For each query place, the sum of ``values`` of the points within ``max_cost`` minutes.

        Points whose value is 0 add nothing and are left out; the bounded searches start from
        whichever side has fewer network nodes (trips are symmetric)."""
        n = len(queries)
        values = np.asarray(values, dtype="float64")
        keep = np.flatnonzero(values != 0)
        if n == 0 or len(keep) == 0:
            return np.zeros(n)
        if len(keep) < len(values):
            points, values = _subset(points, keep), values[keep]
        q, p = self.snap(queries), self.snap(points)
        fi, fj, _ = self._fallback_pairs(q, p, max_cost)
        total = np.bincount(fi, weights=values[fj], minlength=n).astype("float64")
        if len(q.grouped()[0]) <= len(p.grouped()[0]):
            net = self._network_pairs(q, p, max_cost)
            if net is not None:
                total += _gather(*net, values, float(max_cost), 0.0, True, n)[0]
        else:
            net = self._network_pairs(p, q, max_cost)
            if net is not None:
                total += _gather(*net, values, float(max_cost), 0.0, False, n)[0]
        return total

    def within(self, here: Located, targets: Located, max_cost: float, tree: cKDTree | None = None):
        """The targets within ``max_cost`` minutes of the single place ``here``: (indices,
        minutes), nearest first. One bounded search from its node (or the straight line from a
        fallback place), plus the straight line to the fallback targets."""
        h, t = self.snap(here), self.snap(targets)
        parts = []
        if h.fallback[0]:
            parts.append(self._line_pairs(h.part("all"), t.part("all"), max_cost))
        else:
            nodes, minutes = self.reach(here, max_cost)
            ptr, members = t.by_node(self.graph.n_nodes)
            counts = ptr[nodes + 1] - ptr[nodes]
            starts = np.repeat(ptr[nodes] - (np.cumsum(counts) - counts), counts)
            idx = members[starts + np.arange(counts.sum())]
            cost = np.repeat(minutes, counts) + t.access_min[idx]
            keep = cost <= max_cost
            parts.append((np.zeros(keep.sum(), "int64"), idx[keep], cost[keep]))
            parts.append(self._line_pairs(h.part("all"), t.part("fallback"), max_cost))
        parts = [p for p in parts if p is not None]
        idx = np.concatenate([p[1] for p in parts])
        cost = np.concatenate([p[2] for p in parts])
        order = np.lexsort((idx, cost))
        return idx[order], cost[order]

    def reach(self, here: Located, max_cost: float):
        """From one place: the minutes to every node within ``max_cost`` (a dict-free pair of
        arrays: nodes, minutes including the off-road leg), or empty for a fallback place."""
        s = self.snap(here)
        if s.fallback[0]:
            return np.zeros(0, dtype="int64"), np.zeros(0)
        budget = max_cost - s.access_min[0]
        if budget < 0:
            return np.zeros(0, dtype="int64"), np.zeros(0)
        _, v, d = run_balls(self._arrays, np.array([s.node[0]]), np.zeros(1), budget)
        return v, d + s.access_min[0]


@functools.cache
def _to_lonlat():
    from pyproj import Transformer

    from geo.crs import METRIC_CRS

    return Transformer.from_crs(METRIC_CRS, 4326, always_xy=True)


def isochrone(network: RoadNetwork, here: Located, max_cost: float, width_m: float = 2000.0):
    """The area within ``max_cost`` minutes of one place, as a (multi)polygon in lon/lat.

    The ends of the reachable parts of the road edges (an edge reached from one end only as far
    as the time left allows; from both ends, the two parts) and the place itself, wrapped in a
    concave hull and widened by ``width_m``. From a fallback place, the straight-line circle of
    the fallback.
    """
    to_lonlat = _to_lonlat()
    h = network.snap(here)
    centre = here.xy[0]
    if h.fallback[0]:
        radius = max_cost / 60.0 * network.fallback_kmh * 1000.0 / network.detour * here.k[0]
        area = shapely.buffer(shapely.points(centre), radius, quad_segs=16)
    else:
        g = network.graph
        nodes, minutes = network.reach(here, max_cost)
        dist = np.full(g.n_nodes, np.inf)
        dist[nodes] = minutes
        counts = g.indptr[nodes + 1] - g.indptr[nodes]
        u = np.repeat(nodes, counts)
        e = np.repeat(g.indptr[nodes] - (np.cumsum(counts) - counts), counts) + np.arange(counts.sum())
        v, t = g.indices[e], g.minutes[e]
        # Each edge once: from its smaller reached end, or from the only reached one.
        once = (u < v) | ~np.isfinite(dist[v])
        u, v, t = u[once], v[once], t[once]
        with np.errstate(invalid="ignore", divide="ignore"):
            fu = np.clip((max_cost - dist[u]) / t, 0.0, 1.0)
            fv = np.where(np.isfinite(dist[v]), np.clip((max_cost - dist[v]) / t, 0.0, 1.0), 0.0)
        whole = (fu + fv >= 1.0) | (t == 0)
        xy = g.nodes.xy
        starts = [xy[u], xy[v[~whole]]]
        ends = [
            np.where(whole[:, None], xy[v], xy[u] + fu[:, None] * (xy[v] - xy[u])),
            xy[v[~whole]] + fv[~whole, None] * (xy[u[~whole]] - xy[v[~whole]]),
        ]
        a, b = np.vstack(starts), np.vstack(ends)
        a = np.vstack([a, centre[None, :]])
        b = np.vstack([b, xy[h.node[0]][None, :]])
        # A concave hull of every reachable point (ratio: how tightly it follows the roads),
        # widened by ``width_m``: a tenth of the time of buffering the roads themselves.
        points = shapely.multipoints(np.unique(np.vstack([a, b]), axis=0))
        area = shapely.buffer(shapely.concave_hull(points, ratio=0.15), width_m, quad_segs=4)
    area = shapely.simplify(area, width_m / 10.0)
    return shapely.transform(area, lambda c: np.column_stack(to_lonlat.transform(c[:, 0], c[:, 1])))


def _subset(where: Located, idx: np.ndarray) -> Located:
    return where.take(idx)


#: Up to this many ends off the network, the places that one could still be nearer to are found
#: by measuring every place to every end (``_nearest_projected``) before the k-d tree's search.
FEW_FALLBACK_ENDS = 64


def _nearest_projected(xy: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The projected distance from each point of ``xy`` to the nearest of a few ``ends``."""
    d2 = np.full(len(xy), np.inf)
    for ex, ey in ends:
        np.minimum(d2, (xy[:, 0] - ex) ** 2 + (xy[:, 1] - ey) ** 2, out=d2)
    return np.sqrt(d2)


def _largest_scale(a: Located, b: Located) -> float:
    """A scale factor at least that of any pair of ``a`` and ``b`` (with a margin for rounding)."""
    return max(float(a.k.max()), float(b.k.max())) * (1.0 + 1e-9)
