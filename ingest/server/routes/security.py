"""Routes (placeholder until this API family is implemented)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
