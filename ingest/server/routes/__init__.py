"""One router per API family; ``ingest.server.app`` includes them all."""
