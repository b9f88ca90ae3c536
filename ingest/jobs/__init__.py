"""Bulk ingest jobs: source → pipeline → sink, bounded, acknowledged end to end, resumable."""

from ingest.jobs.config import JobConfig, JobSummary
from ingest.jobs.runner import run_job

__all__ = ["JobConfig", "JobSummary", "run_job"]
