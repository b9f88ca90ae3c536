"""Bottom layer: local models, inference services and the inference endpoint API."""
