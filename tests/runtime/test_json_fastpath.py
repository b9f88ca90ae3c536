"""orjson's fast paths (``jsonparse.loads``, ``documents.dumps``) answer exactly as the standard codec would."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.models.errors import ParsingException
from ingest.models.jsonparse import loads
from ingest.sinks.bulk.documents import dumps

_SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(2**80), max_value=2**80)
            | st.floats(allow_nan=False, allow_infinity=False) | st.text())
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_loads_equals_the_standard_decoder(value: object) -> None:
    raw = json.dumps(value).encode()
    got = loads(raw)
    assert got == json.loads(raw)
    assert json.dumps(got) == json.dumps(value)  # same types too: 2**70 stays an int, not a float


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _VALUES, max_size=6))
def test_dumps_round_trips_as_the_standard_encoder(doc: dict[str, object]) -> None:
    assert json.loads(dumps(doc)) == json.loads(json.dumps(doc, ensure_ascii=False, allow_nan=False))


def test_big_integers_stay_exact() -> None:
    assert loads(b'{"n": 123456789012345678901234567890, "m": -9223372036854775809}') == {
        "n": 123456789012345678901234567890, "m": -9223372036854775809}
    assert dumps({"n": 2**70}) == '{"n":1180591620717411303424}'


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_dumps_refuses_nan_and_infinities(value: float) -> None:
    with pytest.raises(ValueError):
        dumps({"x": [1.0, value]})


def test_dumps_keeps_the_standard_behaviour_for_what_orjson_refuses() -> None:
    assert json.loads(dumps({"a": {1: "int key"}})) == {"a": {"1": "int key"}}
    with pytest.raises(TypeError, match="binary values must be base64 strings"):
        dumps({"b": b"raw"})


def test_nesting_beyond_the_limit_is_refused_even_where_orjson_would_parse() -> None:
    deep = b"[" * 1001 + b"]" * 1001  # within orjson's own 1024 levels, beyond Elasticsearch's 1000
    with pytest.raises(ParsingException, match="nesting depth"):
        loads(deep)
    assert loads(b"[" * 100 + b"]" * 100) is not None


def test_malformed_text_gets_the_standard_message() -> None:
    with pytest.raises(ParsingException, match=r"^\[1:7\] Unexpected character"):
        loads(b'{"a": }')
