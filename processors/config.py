"""Reading processor options the way Elasticsearch's ConfigurationUtils does, with its error messages."""

from __future__ import annotations

from typing import Any, Literal, overload

from ingest.processors.document import java_type
from ingest.processors.errors import ParseException, config_error
from ingest.processors.template import Template


class Options:
    """The options of one processor; each read pops the option, ``finish`` rejects what is left over."""

    def __init__(self, processor_type: str, config: dict[str, Any], tag: str | None) -> None:
        self.type = processor_type
        self.tag = tag
        self.cfg = dict(config)

    def error(self, prop: str | None, reason: str) -> ParseException:
        """A configuration error about ``prop``."""
        return config_error(self.type, self.tag, prop, reason)

    def _missing(self, name: str) -> ParseException:
        return self.error(name, f"[{name}] required property is missing")

    @overload
    def string(self, name: str, default: str, *, required: bool = False) -> str: ...
    @overload
    def string(self, name: str, default: None = None, *, required: Literal[True]) -> str: ...
    @overload
    def string(self, name: str, default: None = None, *, required: bool = False) -> str | None: ...

    def string(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        """A string option: a str when it has a default or is required, else str or None when absent."""
        value = self.cfg.pop(name, None)
        if value is None:
            if required:
                raise self._missing(name)
            return default
        if not isinstance(value, str):
            raise self.error(name, f"[{name}] property isn't a string, but of type [{java_type(value)}]")
        return value

    @overload
    def template(self, name: str, *, required: Literal[True] = True, default: str | None = None) -> Template: ...
    @overload
    def template(self, name: str, *, required: bool, default: str) -> Template: ...
    @overload
    def template(self, name: str, *, required: bool, default: None = None) -> Template | None: ...

    def template(self, name: str, *, required: bool = True, default: str | None = None) -> Template | None:
        """A string option compiled as a Mustache template (None when optional, absent and without default)."""
        value = self.string(name, default, required=required)
        return None if value is None else Template(value)

    def boolean(self, name: str, default: bool) -> bool:
        """A boolean option; "true"/"false" strings are accepted like Elasticsearch."""
        value: object = self.cfg.pop(name, None)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise self.error(name, f"[{name}] property isn't a boolean, but of type [{java_type(value)}]")

    @overload
    def integer(self, name: str, default: int, *, required: bool = False) -> int: ...
    @overload
    def integer(self, name: str, default: None, *, required: Literal[True]) -> int: ...
    @overload
    def integer(self, name: str, default: None, *, required: bool = False) -> int | None: ...

    def integer(self, name: str, default: int | None, *, required: bool = False) -> int | None:
        """An integer option (numeric strings accepted)."""
        value = self.cfg.pop(name, None)
        if value is None:
            if required:
                raise self._missing(name)
            return default
        try:
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        except (TypeError, ValueError):
            raise self.error(name, f"Failed to parse content of [{name}] as an integer: [{value}]") from None

    @overload
    def number(self, name: str, default: float) -> float: ...
    @overload
    def number(self, name: str, default: None) -> float | None: ...

    def number(self, name: str, default: float | None) -> float | None:
        """A floating-point option."""
        value = self.cfg.pop(name, None)
        if value is None:
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise self.error(name, f"Failed to parse content of [{name}] as a double: [{value}]") from None

    @overload
    def string_list(self, name: str, *, required: Literal[True], allow_string: bool = True) -> list[str]: ...
    @overload
    def string_list(self, name: str, *, required: bool = False, allow_string: bool = True) -> list[str] | None: ...

    def string_list(self, name: str, *, required: bool = False, allow_string: bool = True) -> list[str] | None:
        """A list of strings (a single string is accepted where Elasticsearch accepts one)."""
        value = self.cfg.pop(name, None)
        if value is None:
            if required:
                raise self._missing(name)
            return None
        if isinstance(value, str) and allow_string:
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(name, f"[{name}] property isn't a list, but of type [{java_type(value)}]")
        return list(value)

    @overload
    def mapping(self, name: str, *, required: Literal[True]) -> dict[str, object]: ...
    @overload
    def mapping(self, name: str, *, required: bool = False) -> dict[str, object] | None: ...

    def mapping(self, name: str, *, required: bool = False) -> dict[str, object] | None:
        """An object option (its values are whatever JSON the user gave: the processor checks them)."""
        value = self.cfg.pop(name, None)
        if value is None:
            if required:
                raise self._missing(name)
            return None
        if not isinstance(value, dict):
            raise self.error(name, f"[{name}] property isn't a map, but of type [{java_type(value)}]")
        return value

    def raw(self, name: str, default: object = None, *, required: bool = False) -> object:
        """An option of any JSON type (the caller narrows it with isinstance)."""
        if name not in self.cfg:
            if required:
                raise self._missing(name)
            return default
        return self.cfg.pop(name)

    def has(self, name: str) -> bool:
        """Whether the option was given."""
        return name in self.cfg

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        """A string option restricted to ``choices``."""
        value = self.string(name, default)
        if value not in choices:
            raise self.error(name, f"[{name}] {value!r} is not one of {list(choices)}".replace("'", ""))
        return value

    def finish(self) -> None:
        """Reject options nobody read, naming them like Elasticsearch."""
        if self.cfg:
            names = ", ".join(self.cfg)
            raise self.error(None,
                             f"processor [{self.type}] doesn't support one or more provided configuration "
                             f"parameters [{names}]")
