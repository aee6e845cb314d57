"""Primitives: keys (HKDF sub-keys, fingerprint), keyed tokens and keyed Bloom filters.

.. warning:: These are building blocks. Wrong use (one sub-key for two purposes, unkeyed hashes,
   tokens of low-entropy values on their own) breaks the privacy guarantees; use the recipes
   :func:`linkmatch.encode` and :func:`linkmatch.link` unless you know why you need these.
"""
