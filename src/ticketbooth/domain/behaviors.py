"""Behavior ids in Kibo's compact `bv` encoding (KIBO_COMPAT section 8).

Kibo's ticket JWT lists the shopper's behaviors in the claim `bv` as pairs `[offset, mask, offset, mask,
...]`: each set bit i of a 32-bit mask stands for behavior id `offset * 32 + i`. A B2C shopper has none
(`[]`); B2B role behaviors (1000-1014) fill it later.
"""

from __future__ import annotations

from collections.abc import Iterable

BITS = 32


def encode_behaviors(ids: Iterable[int]) -> list[int]:
    """The `bv` array of behavior ids: one (offset, mask) pair per block of 32 ids that holds any, by offset."""
    masks: dict[int, int] = {}
    for behavior in ids:
        if behavior < 0:
            raise ValueError(f"a behavior id is not negative: {behavior}")
        offset, bit = divmod(behavior, BITS)
        masks[offset] = masks.get(offset, 0) | (1 << bit)
    return [value for offset in sorted(masks) for value in (offset, masks[offset])]


def decode_behaviors(bv: list[int]) -> set[int]:
    """The behavior ids of a `bv` array (what a storefront reads from it)."""
    if len(bv) % 2:
        raise ValueError("bv holds pairs of offset and mask")
    return {offset * BITS + bit for offset, mask in zip(bv[::2], bv[1::2], strict=True)
            for bit in range(BITS) if mask >> bit & 1}
