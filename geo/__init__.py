"""Pure spatial analysis for Amayesh: GeoDataFrames in, GeoDataFrames or Series out.

Nothing in this package reads or writes files, databases or the network.
"""
