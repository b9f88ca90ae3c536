"""``kafka://HOST:PORT[,HOST:PORT]/TOPIC[,TOPIC]?group=G[&...]`` → the source's options and librdkafka's config.

Query parameters with a dot (``security.protocol``, ``sasl.mechanism``, ``ssl.ca.location``,
``auto.offset.reset``, …) are librdkafka consumer properties, passed through; ``config_file=PATH`` reads more
from a Java-style ``.properties`` file (the place for passwords: a URL ends up in checkpoints and process
lists). The others are this source's own options, listed in ``KafkaSettings``. A topic starting with ``^`` is
a regular expression (librdkafka's pattern subscription).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ingest.models.errors import IllegalArgumentException

# Properties we own: letting users change them would break the commit-after-acknowledgement guarantee.
_RESERVED = {
    "enable.auto.commit": "offsets are committed by the job, only after the sink acknowledged the messages",
    "enable.auto.offset.store": "offsets are committed by the job, only after the sink acknowledged the messages",
    "group.id": "use the [group] option",
    "bootstrap.servers": "give the brokers as the URL's host list",
}
_SECRET_WORDS = ("password", "secret", "key", "token", "jaas")


@dataclass
class KafkaSettings:
    """What a ``kafka://`` source URL asks for."""

    bootstrap: str
    topics: list[str]
    group: str = "ingest"
    value_format: str = "json"  # json: each value is a JSON object; string: the value goes into value_field
    value_field: str = "message"  # Logstash's plain codec field
    batch_size: int = 1000  # messages per source batch
    max_wait_s: float = 0.5  # a partial batch is emitted this long after its first message
    max_in_flight: int = 4  # batches emitted but not yet acknowledged, before the partitions are paused
    until_caught_up: bool = False
    id_field: str | None = None  # set: the runner takes ids from this field instead of topic-partition-offset
    drain_timeout_s: float = 120.0  # a rebalance waits this long for in-flight batches (a stop waits for all)
    consumer: dict[str, str] = field(default_factory=dict)

    def client_config(self) -> dict[str, Any]:
        """The librdkafka consumer configuration."""
        config: dict[str, Any] = {
            "auto.offset.reset": "earliest",  # Kafka Connect's sink default: a new group loses nothing
            "statistics.interval.ms": 1000,  # per-partition lag for the progress line
            "session.timeout.ms": 10000,
            "queued.max.messages.kbytes": 16384,  # librdkafka's prefetch buffer, per partition (default 64 MB)
            **self.consumer,
            "bootstrap.servers": self.bootstrap,
            "group.id": self.group,
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
        }
        return config


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", ""):
        return True
    if text in ("false", "0", "no"):
        return False
    raise IllegalArgumentException(f"[{name}] must be true or false, got [{value}]")


def _number(name: str, value: Any, kind: type) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise IllegalArgumentException(f"[{name}] must be a number, got [{value}]") from None
    if number <= 0:
        raise IllegalArgumentException(f"[{name}] must be positive, got [{value}]")
    return number


def read_properties(path: str) -> dict[str, str]:
    """A Java ``.properties`` file (``key=value`` or ``key: value`` lines, ``#``/``!`` comments)."""
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise IllegalArgumentException(f"cannot read kafka [config_file] [{path}]: {exc.strerror}") from None
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        key, sep, value = line.partition("=")
        if not sep:
            key, _, value = line.partition(":")
        out[key.strip()] = value.strip()
    return out


def parse_url(spec: str, **options: Any) -> KafkaSettings:
    """Parse a ``kafka://`` URL; keyword ``options`` (from the CLI) override its query parameters."""
    parts = urlsplit(spec)
    if parts.scheme != "kafka":
        raise IllegalArgumentException(f"not a kafka source URL: [{redact(spec)}]")
    hosts = parts.netloc.rsplit("@", 1)[-1]
    topics = [unquote(t) for t in parts.path.lstrip("/").split(",") if t]
    if not hosts:
        raise IllegalArgumentException("kafka source needs at least one broker: kafka://HOST:PORT/TOPIC")
    if not topics:
        raise IllegalArgumentException("kafka source needs a topic: kafka://HOST:PORT/TOPIC[,TOPIC|,^REGEX]")
    query: dict[str, Any] = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({k: v for k, v in options.items() if v is not None})
    consumer: dict[str, str] = {}
    if "config_file" in query:
        consumer.update(read_properties(str(query.pop("config_file"))))
    settings = KafkaSettings(bootstrap=hosts, topics=topics)
    for name, value in query.items():
        if "." in name:
            consumer[name] = str(value)
        elif name == "group":
            settings.group = str(value)
        elif name == "value_format":
            if value not in ("json", "string"):
                raise IllegalArgumentException(f"[value_format] must be [json] or [string], got [{value}]")
            settings.value_format = str(value)
        elif name == "value_field":
            settings.value_field = str(value)
        elif name == "id_field":
            settings.id_field = str(value)
        elif name == "until_caught_up":
            settings.until_caught_up = _bool(name, value)
        elif name in ("batch_size", "max_in_flight"):
            setattr(settings, name, _number(name, value, int))
        elif name in ("max_wait_s", "drain_timeout_s"):
            setattr(settings, name, _number(name, value, float))
        elif name == "format":
            raise IllegalArgumentException("kafka sources take [value_format=json|string], not [format]")
        else:
            raise IllegalArgumentException(
                f"unknown kafka source option [{name}]: expected group, value_format, value_field, batch_size, "
                "max_wait_s, max_in_flight, until_caught_up, drain_timeout_s, config_file or a librdkafka "
                "consumer property (with a dot, e.g. security.protocol)"
            )
    for name, why in _RESERVED.items():
        if name in consumer:
            raise IllegalArgumentException(f"kafka consumer property [{name}] cannot be set: {why}")
    if not settings.group:
        raise IllegalArgumentException("[group] must not be empty")
    settings.consumer = consumer
    return settings


def redact(spec: str) -> str:
    """The URL with the values of secret-looking parameters (and any user:password) replaced by ``::redacted``."""
    parts = urlsplit(spec)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = "&".join(
        f"{k}={'::redacted' if any(w in k.lower() for w in _SECRET_WORDS) else v}"
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    )
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
