"""The server's Prometheus metrics (``GET /_prometheus/metrics``, the path OpenSearch's exporter uses).

One ``ServerMetrics`` per app, with its own ``CollectorRegistry`` (never prometheus_client's global one, so two
apps in a process never mix their counts). Requests are counted by route template (``/{index}/_bulk``, not the
index name: bounded cardinality) and status; ``_bulk`` counts documents and failures per pipeline; inference is
observed per endpoint through ``InferenceAPI.observers``; deployments (queue depth, allocations) and the
dead-letter store are read at scrape time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from ingest.jobs.bulkapi import BulkReport
    from ingest.jobs.bulkwrite import WriteStats
    from ingest.models.deployments.manager import DeploymentManager

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Request latencies: from a cached GET (ms) to a large _bulk through a model (tens of seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class ServerMetrics:
    """Every metric of one app. ``deployments`` and ``deadletters`` (a count function) are read at scrape."""

    def __init__(self, deployments: DeploymentManager | None = None,
                 deadletters: Callable[[], int] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("ingest_http_requests", "HTTP requests answered, by route template and status.",
                                ["method", "route", "status"], registry=r)
        self.latency = Histogram("ingest_http_request_duration_seconds", "Time to answer an HTTP request.",
                                 ["method", "route"], buckets=LATENCY_BUCKETS, registry=r)
        self.pipeline_docs = Counter("ingest_pipeline_documents", "Documents run through a pipeline by _bulk.",
                                     ["pipeline"], registry=r)
        self.pipeline_failed = Counter("ingest_pipeline_failed_documents",
                                       "Documents of a pipeline that ended in error (pipeline or destination).",
                                       ["pipeline"], registry=r)
        self.bulk_items = Counter("ingest_bulk_items", "_bulk items answered, by outcome (ok, failed).",
                                  ["outcome"], registry=r)
        self.bulk_retried = Counter("ingest_bulk_retried_items",
                                    "_bulk items sent to the destination again after a 429/503.", registry=r)
        self.bulk_retried_requests = Counter("ingest_bulk_retried_requests",
                                             "_bulk requests repeated while the destination was unreachable.",
                                             registry=r)
        self.deadlettered = Counter("ingest_deadletter_documents", "Documents this server put in the dead-letter "
                                    "store.", registry=r)
        self.inference = Counter("ingest_inference_requests", "Inference calls, by endpoint and outcome.",
                                 ["inference_id", "outcome"], registry=r)
        self.inference_inputs = Counter("ingest_inference_inputs", "Texts sent to inference, by endpoint.",
                                        ["inference_id"], registry=r)
        self.inference_latency = Histogram("ingest_inference_duration_seconds", "Time of one inference call.",
                                           ["inference_id"], buckets=LATENCY_BUCKETS, registry=r)
        r.register(_ScrapeTime(deployments, deadletters))

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """One answered HTTP request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def observe_bulk(self, body: dict[str, object], report: BulkReport, stats: WriteStats) -> None:
        """One ``_bulk`` response and what it took."""
        items = body.get("items")
        failed = sum(1 for it in items if "error" in next(iter(it.values()))) if isinstance(items, list) else 0
        total = len(items) if isinstance(items, list) else 0
        self.bulk_items.labels("ok").inc(total - failed)
        self.bulk_items.labels("failed").inc(failed)
        for pipeline, (docs, bad) in report.pipelines.items():
            self.pipeline_docs.labels(pipeline).inc(docs)
            self.pipeline_failed.labels(pipeline).inc(bad)
        self.bulk_retried.inc(stats.retried_items)
        self.bulk_retried_requests.inc(stats.retried_requests)
        self.deadlettered.inc(report.dead_lettered)

    def observe_inference(self, inference_id: str, inputs: int, seconds: float, error: BaseException | None) -> None:
        """One ``InferenceAPI.infer`` call (an ``InferenceAPI`` observer)."""
        self.inference.labels(inference_id, "ok" if error is None else "error").inc()
        self.inference_inputs.labels(inference_id).inc(inputs)
        self.inference_latency.labels(inference_id).observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)


class _ScrapeTime(Collector):
    """Values read when scraped: deployments' queues and allocations, the dead-letter store's size."""

    def __init__(self, deployments: DeploymentManager | None, deadletters: Callable[[], int] | None) -> None:
        self.deployments, self.deadletters = deployments, deadletters

    def describe(self) -> list[Metric]:
        return []  # values are only known at scrape time; nothing to check at registration

    def collect(self) -> Iterator[Metric]:
        queued = GaugeMetricFamily("ingest_deployment_queue_depth", "Requests waiting for a model allocation.",
                                   labels=["deployment_id"])
        allocations = GaugeMetricFamily("ingest_deployment_allocations", "Model allocations running.",
                                        labels=["deployment_id"])
        target = GaugeMetricFamily("ingest_deployment_target_allocations", "Model allocations wanted.",
                                   labels=["deployment_id"])
        count = CounterMetricFamily("ingest_deployment_inferences", "Inference requests a deployment ran.",
                                    labels=["deployment_id"])
        rejected = CounterMetricFamily("ingest_deployment_rejected", "Requests refused with a full queue (429).",
                                       labels=["deployment_id"])
        for d in self.deployments.all() if self.deployments is not None else []:
            snap = d.snapshot()
            c = snap["counters"]
            queued.add_metric([d.deployment_id], snap["queued"])
            allocations.add_metric([d.deployment_id], snap["allocations"])
            target.add_metric([d.deployment_id], snap["target"])
            count.add_metric([d.deployment_id], c.inference_count)
            rejected.add_metric([d.deployment_id], c.rejected_execution_count)
        yield from (queued, allocations, target, count, rejected)
        if self.deadletters is not None:
            yield GaugeMetricFamily("ingest_deadletter_entries", "Entries in the dead-letter store (all jobs).",
                                    value=self.deadletters())
