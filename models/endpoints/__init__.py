"""Inference endpoints: id rules, request models, preconfigured endpoints and the registry that persists them."""

from models.endpoints.registry import EndpointRegistry

__all__ = ["EndpointRegistry"]
