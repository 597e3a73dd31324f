"""Integer helpers shared by the cost models, the decoders and the referee."""

from __future__ import annotations


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)
