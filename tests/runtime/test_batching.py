"""Batch planning: every input once, longest first, under the token budget; padding is per batch."""

from __future__ import annotations

import random

import numpy as np
import pytest

from ingest.models.runtime.batching import (
    SPARSE_MAX_BUDGET,
    fixed_batches,
    pad_batch,
    padding_fraction,
    plan_batches,
    sparse_token_budget,
)


def test_every_index_exactly_once_and_budget_respected() -> None:
    rng = random.Random(3)
    lengths = [rng.randint(1, 300) for _ in range(500)]
    batches = plan_batches(lengths, token_budget=2048, max_batch=16)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(500))
    for b in batches:
        assert len(b) <= 16
        assert len(b) * max(lengths[i] for i in b) <= 2048


def test_longest_first_and_sorted_within_batches() -> None:
    lengths = [5, 50, 7, 49, 6, 48]
    batches = plan_batches(lengths, token_budget=100, max_batch=2)
    assert batches == [[1, 3], [5, 2], [4, 0]]


def test_text_longer_than_budget_gets_its_own_batch() -> None:
    lengths = [10, 5000, 10]
    batches = plan_batches(lengths, token_budget=100, max_batch=8)
    assert batches[0] == [1]
    assert sorted(batches[1]) == [0, 2]


def test_sorting_cuts_padding_against_input_order() -> None:
    rng = random.Random(0)
    lengths = [rng.choice([8, 20, 60, 250]) for _ in range(256)]
    sorted_plan = plan_batches(lengths, token_budget=10_000, max_batch=32)
    naive = fixed_batches(len(lengths), 32)
    assert padding_fraction(lengths, sorted_plan) < 0.1 < 0.5 < padding_fraction(lengths, naive)


def test_empty_input_and_bad_settings() -> None:
    assert plan_batches([]) == []
    with pytest.raises(ValueError):
        plan_batches([1], token_budget=0)


def test_pad_batch_pads_to_longest_with_mask() -> None:
    ids, mask = pad_batch([[5, 6, 7], [8]], pad_id=1)
    assert ids.dtype == np.int64 and mask.dtype == np.int64
    assert ids.tolist() == [[5, 6, 7], [8, 1, 1]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]


def test_fixed_batches_keep_input_order() -> None:
    assert fixed_batches(5, 2) == [[0, 1], [2, 3], [4]]


def test_sparse_budget_bounds_logits_but_fits_one_full_text() -> None:
    assert sparse_token_budget(30522, 512) * 30522 <= 1 << 25
    assert sparse_token_budget(30522, 512) >= 512
    assert sparse_token_budget(250_000, 512) == 512  # huge vocabulary: one full text still fits
    assert sparse_token_budget(100, 32) == SPARSE_MAX_BUDGET  # tiny vocabulary: the sparse cap
