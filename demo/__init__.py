"""The demo dataset: real Iran reference data joined up, plus clearly labelled synthetic layers.

``sources`` reads the reference files (the only I/O here); ``synthetic`` generates what is not
public (settlement positions and populations where unknown, the NGO registry, target areas and
county target populations); ``build`` runs the whole pipeline into a store.
"""
