"""Grok: Elasticsearch's pattern library (``patterns/legacy``, ``patterns/ecs-v1``) and the ``grok`` processor."""

from ingest.processors.grok.processor import PROCESSORS, GrokProcessor

__all__ = ["PROCESSORS", "GrokProcessor"]
