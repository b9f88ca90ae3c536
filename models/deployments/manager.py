"""All deployments of this process, keyed by ``deployment_id``.

As in Elasticsearch: an endpoint without ``deployment_id`` gets its own deployment named after the endpoint
(two such endpoints on one model load it twice); an endpoint with ``deployment_id`` uses a deployment started
through the trained-model API (``start``) and shares its loaded model and queue with every other user of it.
"""

from __future__ import annotations

import atexit
import re
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Protocol

from ingest.models.deployments.deployment import DEFAULT_QUEUE_CAPACITY, Deployment, Session
from ingest.models.deployments.scaling import DEFAULT_SCALE_DOWN_AFTER_S, AllocationPolicy, allocation_policy
from ingest.models.errors import IllegalArgumentException, ResourceNotFoundException, StatusException
from ingest.models.settings import Settings

Loader = Callable[[str, int], Session]  # (model_id, threads) -> loaded session



class DeployedEndpoint(Protocol):
    """What a deployment needs of an endpoint (``services.base.EndpointConfig`` has it): deployments sit below the
    services that use them and import nothing from there."""

    @property
    def inference_id(self) -> str: ...

    @property
    def service_settings(self) -> Mapping[str, object]: ...


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_time_value(text: str, setting: str) -> float:
    """Seconds of an Elasticsearch time value such as ``30s``, ``5m`` or ``500ms``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*", text)
    if not match:
        raise IllegalArgumentException(
            f"failed to parse setting [{setting}] with value [{text}] as a time value: unit is missing or unrecognized"
        )
    return float(match.group(1)) * _UNITS[match.group(2)]


def scale_to_zero_time(settings: Settings | None = None) -> float:
    """Idle time before adaptive deployments shrink: ``$INGEST_SCALE_TO_ZERO_TIME`` (e.g. ``5m``), default 5 min."""
    raw = (settings or Settings.from_env()).scale_to_zero_time
    return parse_time_value(raw, "INGEST_SCALE_TO_ZERO_TIME") if raw else DEFAULT_SCALE_DOWN_AFTER_S


def load_session(model_id: str, threads: int) -> Session:
    """The default loader: ``ingest.models.runtime.load_model`` (builds the model into the cache on first use)."""
    from ingest.models.runtime import load_model

    return load_model(model_id, threads=threads)


# Every manager still open when the interpreter exits is closed first (its threads joined): a deployment thread
# left inside ONNX Runtime while Python finalises aborts the process ("terminate called ...", exit 134) after a
# correct answer. Weak references, so this keeps no manager alive; the one piece of process state here, on purpose.
_LIVE: weakref.WeakSet[DeploymentManager] = weakref.WeakSet()


@atexit.register
def _close_live_managers() -> None:
    for manager in list(_LIVE):
        manager.close()


class DeploymentManager:
    """Creates, reconfigures and stops deployments; thread-safe."""

    def __init__(
        self,
        loader: Loader = load_session,
        *,
        scale_down_after_s: float | None = None,
        capacity: int | None = None,
        queue_capacity: int = DEFAULT_QUEUE_CAPACITY,
        tick_s: float | None = None,
    ) -> None:
        self._loader = loader
        self.scale_down_after_s = scale_to_zero_time() if scale_down_after_s is None else scale_down_after_s
        self.capacity = capacity
        self.queue_capacity = queue_capacity
        self._tick_s = tick_s
        self._lock = threading.Lock()
        self._deployments: dict[str, Deployment] = {}
        self._started_by_api: set[str] = set()  # deployments of the trained-model API, not of one endpoint
        _LIVE.add(self)

    def policy_for(self, endpoint: DeployedEndpoint) -> AllocationPolicy:
        """The allocation policy of an endpoint's service settings."""
        return allocation_policy(endpoint.service_settings, self.scale_down_after_s)

    def _new(self, deployment_id: str, model_id: str, threads: int, policy: AllocationPolicy,
             queue_capacity: int | None = None, priority: str = "normal") -> Deployment:
        return Deployment(
            deployment_id,
            model_id,
            lambda t: self._loader(model_id, t),
            threads=threads,
            policy=policy,
            queue_capacity=queue_capacity or self.queue_capacity,
            capacity=self.capacity,
            tick_s=self._tick_s,
            priority=priority,
        )

    def ensure(self, endpoint: DeployedEndpoint) -> Deployment:
        """The endpoint's deployment: the shared one it names by ``deployment_id`` (404 if gone), else its own,
        created if missing and restarted if its model or threads changed."""
        settings = endpoint.service_settings
        shared = settings.get("deployment_id")
        if shared:
            found = self.get(str(shared))
            if found is None:
                raise ResourceNotFoundException(f"Cannot find deployment [{shared}]")
            return found
        model_id, threads = settings["model_id"], settings["num_threads"]
        if not isinstance(model_id, str) or not isinstance(threads, int):  # the service validated both
            raise IllegalArgumentException(f"endpoint [{endpoint.inference_id}] has no valid model_id and num_threads")
        policy = self.policy_for(endpoint)
        old: Deployment | None = None
        with self._lock:
            current = self._deployments.get(endpoint.inference_id)
            if current is not None and current.model_id == model_id and current.threads == threads:
                if current.policy != policy:
                    current.set_policy(policy)
                return current
            old = current
            deployment = self._new(endpoint.inference_id, model_id, threads, policy)
            self._deployments[endpoint.inference_id] = deployment
        if old is not None:
            old.stop()
        return deployment

    def start(self, deployment_id: str, model_id: str, *, threads: int, policy: AllocationPolicy,
              queue_capacity: int, priority: str) -> Deployment:
        """``_start``: a new deployment of ``model_id``; 400 if ``deployment_id`` is taken (Elasticsearch's words)."""
        with self._lock:
            if deployment_id in self._deployments:
                raise StatusException(
                    "Could not start model deployment because an existing deployment with the same id "
                    f"[{deployment_id}] exist"
                )
            deployment = self._new(deployment_id, model_id, threads, policy, queue_capacity, priority)
            self._deployments[deployment_id] = deployment
            self._started_by_api.add(deployment_id)
        return deployment

    def started_by_api(self, deployment_id: str) -> bool:
        """Whether the deployment was started with ``_start`` (endpoints then only borrow it)."""
        with self._lock:
            return deployment_id in self._started_by_api

    def get(self, deployment_id: str) -> Deployment | None:
        """The deployment with this id, or None."""
        with self._lock:
            return self._deployments.get(deployment_id)

    def all(self) -> list[Deployment]:
        """Every deployment, sorted by id."""
        with self._lock:
            return [self._deployments[k] for k in sorted(self._deployments)]

    def stop(self, deployment_id: str) -> None:
        """Stop and forget a deployment (no-op if absent)."""
        with self._lock:
            deployment = self._deployments.pop(deployment_id, None)
            self._started_by_api.discard(deployment_id)
        if deployment is not None:
            deployment.stop()

    def close(self) -> None:
        """Stop every deployment."""
        with self._lock:
            deployments = list(self._deployments.values())
            self._deployments.clear()
            self._started_by_api.clear()
        for d in deployments:
            d.stop()
