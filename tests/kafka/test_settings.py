"""kafka:// URLs: brokers, topics, patterns, options, passed-through consumer properties, refusals, redaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.models.errors import IllegalArgumentException
from ingest.sources.kafka.settings import parse_url, redact


def test_hosts_topics_group_and_passthrough() -> None:
    s = parse_url("kafka://b1:9092,b2:9093/orders,^logs-.*?group=etl&auto.offset.reset=latest"
                  "&security.protocol=SASL_SSL&sasl.mechanism=PLAIN&batch_size=50&value_format=string"
                  "&value_field=line&until_caught_up=true")
    assert s.bootstrap == "b1:9092,b2:9093" and s.topics == ["orders", "^logs-.*"] and s.group == "etl"
    assert (s.batch_size, s.value_format, s.value_field, s.until_caught_up) == (50, "string", "line", True)
    config = s.client_config()
    assert config["auto.offset.reset"] == "latest" and config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "PLAIN" and config["group.id"] == "etl"
    assert config["bootstrap.servers"] == "b1:9092,b2:9093"
    assert config["enable.auto.commit"] is False and config["enable.auto.offset.store"] is False


def test_defaults_lose_nothing() -> None:
    s = parse_url("kafka://127.0.0.1:9092/t")
    # Kafka Connect's sink starts a new group at the earliest offset; Kafka's own default (latest) skips data.
    assert s.client_config()["auto.offset.reset"] == "earliest"
    assert s.group == "ingest" and s.value_format == "json" and not s.until_caught_up


def test_cli_options_override_the_query() -> None:
    s = parse_url("kafka://h:1/t?until_caught_up=false", until_caught_up=True, id_field="order_id")
    assert s.until_caught_up and s.id_field == "order_id"


@pytest.mark.parametrize("url, words", [
    ("kafka://h:1/t?enable.auto.commit=true", ["enable.auto.commit", "only after the sink acknowledged"]),
    ("kafka://h:1/t?group.id=x", ["group.id", "[group]"]),
    ("kafka://h:1/t?colour=red", ["unknown kafka source option [colour]"]),
    ("kafka://h:1/t?batch_size=0", ["[batch_size] must be positive"]),
    ("kafka://h:1/t?value_format=avro", ["[value_format] must be [json] or [string]"]),
    ("kafka://h:1/", ["needs a topic"]),
    ("kafka:///t", ["needs at least one broker"]),
])
def test_refusals_name_the_problem(url: str, words: list[str]) -> None:
    with pytest.raises(IllegalArgumentException) as err:
        parse_url(url)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_config_file_holds_secrets(tmp_path: Path) -> None:
    props = tmp_path / "client.properties"
    props.write_text("# secrets live here\nsasl.username = svc\nsasl.password=s3cret\nssl.ca.location: /ca.pem\n")
    s = parse_url(f"kafka://h:1/t?config_file={props}&security.protocol=SASL_SSL")
    config = s.client_config()
    assert config["sasl.username"] == "svc" and config["sasl.password"] == "s3cret"
    assert config["ssl.ca.location"] == "/ca.pem" and config["security.protocol"] == "SASL_SSL"


def test_redact_hides_secrets() -> None:
    url = "kafka://user:pw@h:1/t?sasl.password=s3cret&sasl.username=svc&ssl.key.password=k&group=g"
    shown = redact(url)
    assert "s3cret" not in shown and "pw" not in shown and "=k&" not in shown
    assert "sasl.username=svc" in shown and "group=g" in shown
