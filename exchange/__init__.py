"""Moving layers in and out: imports of a user's files (all or nothing) and exports.

Formats: shapefile (plain or zipped), GeoPackage, GeoJSON, CSV and XLSX. Tables (CSV, XLSX) carry
points as ``lon``/``lat`` columns in WGS 84 and polygons as a ``wkt`` column.
"""
