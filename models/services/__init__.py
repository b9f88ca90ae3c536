"""Inference services: the local ``elasticsearch`` service and remote providers, behind one interface."""
