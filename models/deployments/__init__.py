"""Deployments of local models: allocations × threads, adaptive scaling, bounded queues, stats."""

from models.deployments.deployment import Deployment
from models.deployments.manager import DeploymentManager

__all__ = ["Deployment", "DeploymentManager"]
