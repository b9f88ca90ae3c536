"""A SentencePiece "precompiled charsmap" built from a per-codepoint normalisation map.

``tokenizers``' ``Precompiled`` normaliser reads this format: u32 trie size in bytes, a darts-clone double
array (u32 units) whose keys are UTF-8 byte strings and whose values are offsets into a blob of
NUL-terminated replacement strings. It is the only ``tokenizers`` normaliser that applies an arbitrary
character map in one pass, which is what E5's per-codepoint map (stored in the E5S1 file) needs; a string-level
NFKC would differ from it (it composes base + combining mark, the map does not).

Unit encoding (darts-clone): bits 0-7 label, bit 8 has-leaf, bits 10-31 offset (bit 9 set: offset << 8);
a value unit has bit 31 set and the value in bits 0-30. A node's children sit at ``pos ^ offset ^ label``;
its value (the leaf) at ``pos ^ offset``.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

_MAX_DIRECT_OFFSET = 1 << 21


# A trie node: child nodes by byte, and the key's value under None at a leaf.
_Node = dict[int | None, Any]


def _trie(keys: Mapping[bytes, int]) -> _Node:
    root: _Node = {}
    for key, value in keys.items():
        node = root
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value  # the leaf
    return root


def _encode_offset(offset: int) -> int | None:
    if offset < _MAX_DIRECT_OFFSET:
        return offset << 10
    if offset % 256 == 0 and (offset >> 8) < _MAX_DIRECT_OFFSET:
        return ((offset >> 8) << 10) | (1 << 9)
    return None


def build_double_array(keys: Mapping[bytes, int]) -> list[int]:
    """Darts-clone units for ``keys`` (non-empty byte strings without NUL) → values (< 2**31)."""
    units: list[int] = [0] * 512
    used = bytearray(512)  # slot taken
    used[0] = 1  # the root
    used_bases: set[int] = set()
    next_free_base = 256

    def grow(size: int) -> None:
        if size > len(units):
            extra = size - len(units) + 4096
            units.extend([0] * extra)
            used.extend(bytes(extra))

    # Breadth-first: place each node's children, then recurse into them.
    queue: list[tuple[int, _Node]] = [(0, _trie(keys))]
    while queue:
        pos, node = queue.pop(0)
        labels = [0 if k is None else k for k in node]
        # Try bases that put the first child on a free slot (darts-clone's search).
        free = next_free_base
        while True:
            found = used.find(0, free)
            free = len(used) if found < 0 else found
            grow(free + 512)
            base = free ^ labels[0]
            if (
                base not in used_bases
                and all(not used[base ^ c] for c in labels)
                and _encode_offset(pos ^ base) is not None
            ):
                break
            free += 1
        used_bases.add(base)
        encoded = _encode_offset(pos ^ base)
        assert encoded is not None
        units[pos] |= encoded | ((1 << 8) if None in node else 0)
        for label, child in node.items():
            slot = base ^ (0 if label is None else label)
            used[slot] = 1
            if label is None:
                units[slot] = (1 << 31) | child
            else:
                units[slot] = label
                queue.append((slot, child))
        found = used.find(0, next_free_base)
        next_free_base = len(used) if found < 0 else found
    # Lookups probe base ^ byte for any byte, past a node's real children too: keep every such slot inside
    # the array (a shorter array makes the reader index out of bounds).
    size = (max(used_bases) | 0xFF) + 1
    return (units + [0] * size)[:size] if len(units) < size else units[:size]


def precompiled_charsmap(mapping: Mapping[int, str]) -> bytes:
    """The charsmap bytes for a codepoint → replacement map (replacement may be empty: deletion)."""
    blob = bytearray()
    offsets: dict[str, int] = {}
    keys: dict[bytes, int] = {}
    for cp in sorted(mapping):
        replacement = mapping[cp]
        if replacement not in offsets:
            offsets[replacement] = len(blob)
            blob += replacement.encode("utf-8") + b"\0"
        keys[chr(cp).encode("utf-8")] = offsets[replacement]
    units = build_double_array(keys)
    return struct.pack("<I", len(units) * 4) + struct.pack(f"<{len(units)}I", *units) + bytes(blob)
