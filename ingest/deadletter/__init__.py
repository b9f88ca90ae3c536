"""Dead-letter store: every document that could not be indexed, with its original content and the error."""

from ingest.deadletter.store import DeadLetter, DeadLetterStore

__all__ = ["DeadLetter", "DeadLetterStore"]
