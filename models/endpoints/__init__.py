"""Inference endpoints: id rules, request models, preconfigured endpoints and the registry that persists them."""

from ingest.models.endpoints.registry import EndpointRegistry

__all__ = ["EndpointRegistry"]
