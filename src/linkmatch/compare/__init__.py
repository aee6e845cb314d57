"""Primitives for the linkage unit: Dice kernels, keyed blocking, comparison levels, scoring.

Every fast kernel has a plain reference implementation beside it, and property tests check that
they agree.
"""
