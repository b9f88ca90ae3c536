"""Deployments of local models: allocations × threads, adaptive scaling, bounded queues, stats."""

from ingest.models.deployments.deployment import Deployment
from ingest.models.deployments.manager import DeploymentManager

__all__ = ["Deployment", "DeploymentManager"]
