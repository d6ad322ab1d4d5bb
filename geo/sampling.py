"""Points drawn around centres and kept inside a polygon: the one rejection sampler that the
demo's synthetic layers and the approximate settlement positions share."""

from __future__ import annotations

import numpy as np
import shapely


def sample_inside(
    rng: np.random.Generator,
    polygon: shapely.Geometry,
    centres: np.ndarray,
    sigma: np.ndarray | float,
    fallback: np.ndarray | None = None,
    max_rounds: int = 30,
) -> np.ndarray:
    """Draw one point per centre from a normal around it, kept only inside ``polygon``.

    Points outside are redrawn up to ``max_rounds`` times; what is still outside then takes its
    ``fallback`` (default: the centre itself, which callers guarantee is inside).
    """
    n = len(centres)
    sigma = np.broadcast_to(np.asarray(sigma, dtype="float64"), (n,))
    out = np.empty((n, 2))
    todo = np.arange(n)
    shapely.prepare(polygon)
    for _ in range(max_rounds):
        if todo.size == 0:
            break
        cand = centres[todo] + rng.normal(size=(todo.size, 2)) * sigma[todo, None]
        ok = shapely.contains_xy(polygon, cand[:, 0], cand[:, 1])
        out[todo[ok]] = cand[ok]
        todo = todo[~ok]
    if todo.size:
        out[todo] = (fallback if fallback is not None else centres)[todo]
    return out
