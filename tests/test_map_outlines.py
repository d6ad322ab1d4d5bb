"""The map's outlines (``maps.layers``): counties and provinces simplified together, their label
points inside them, both remembered by the outlines' content, never by the frame that holds them.
"""

from __future__ import annotations

import shapely
from shapely.affinity import translate

from maps import layers


def test_shared_borders_stay_shared_and_labels_fall_inside(small_layers):
    counties = small_layers["counties"]
    outlines = layers.simplified(counties)
    assert outlines.index.equals(counties.index) and outlines.is_valid.all()
    a, b = outlines.iloc[0], outlines.iloc[1]
    if counties.geometry.iloc[0].touches(counties.geometry.iloc[1]):
        assert a.intersection(b).area < 1e-9  # no overlap where they border
    for (lon, lat), shape in zip(layers.label_points(counties), counties.geometry, strict=True):
        assert shape.buffer(0.01).contains(shapely.Point(lon, lat))


def test_the_same_outlines_in_another_frame_are_not_simplified_again(small_layers):
    counties = small_layers["counties"]
    first = layers.simplified(counties)
    again = layers.simplified(counties.copy().set_index(counties.index + 100))
    assert again.index.tolist() == (counties.index + 100).tolist()
    assert all(x is y for x, y in zip(first, again, strict=True))  # the same made geometries
    labels = layers.label_points(counties)
    labels[0][0] = 0.0  # a caller changing its copy changes nobody else's
    assert layers.label_points(counties.copy())[0][0] != 0.0


def test_changed_outlines_are_simplified_anew(small_layers):
    counties = small_layers["counties"]
    before = layers.simplified(counties)
    moved = counties.copy()
    moved.loc[moved.index[0], "geometry"] = translate(moved.geometry.iloc[0], xoff=0.5)
    after = layers.simplified(moved)
    assert not after.iloc[0].equals(before.iloc[0])
    layers._outlines.clear()
    assert after.iloc[0].equals(layers.simplified(moved).iloc[0])  # as a fresh simplification
    shifted = layers.label_points(moved)[0]
    assert shifted[0] != layers.label_points(counties)[0][0]
    assert len(layers._outlines) <= layers.OUTLINES_KEPT
