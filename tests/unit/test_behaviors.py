"""Kibo's `bv` encoding of behavior ids: behavior id = offset * 32 + bit."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketbooth.domain.behaviors import decode_behaviors, encode_behaviors


def test_no_behaviors_is_an_empty_array() -> None:
    assert encode_behaviors([]) == []


def test_one_id_is_its_offset_and_bit() -> None:
    assert encode_behaviors([0]) == [0, 1]
    assert encode_behaviors([31]) == [0, 2**31]
    assert encode_behaviors([32]) == [1, 1]
    # 1000 = 31 * 32 + 8: the B2B "manage account information" behavior
    assert encode_behaviors([1000]) == [31, 256]


def test_ids_of_one_block_share_a_mask_and_blocks_come_by_offset() -> None:
    assert encode_behaviors([1014, 1000, 1001, 5]) == [0, 1 << 5, 31, (1 << 8) | (1 << 9) | (1 << 22)]
    assert encode_behaviors([1024, 1000]) == [31, 1 << 8, 32, 1]


def test_a_negative_id_is_refused() -> None:
    with pytest.raises(ValueError):
        encode_behaviors([-1])


@given(st.sets(st.integers(min_value=0, max_value=5000), max_size=40))
def test_decoding_gives_back_the_ids(ids: set[int]) -> None:
    bv = encode_behaviors(ids)
    assert decode_behaviors(bv) == ids
    assert bv[::2] == sorted(set(bv[::2]))  # one pair per offset, ascending
    assert all(0 < mask < 2**32 for mask in bv[1::2])
