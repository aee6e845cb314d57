"""Normalisation of raw field values (names, dates, places) before encoding and comparison."""
