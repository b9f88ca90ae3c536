"""Network processors: ``community_id``, ``network_direction``, ``registered_domain`` (as in ingest-common)."""

from __future__ import annotations

import base64
import functools
import hashlib
import ipaddress
from typing import Any

from ingest.processors.base import ExecEnv, Factory, Processor
from ingest.processors.common import field_value, optional_module
from ingest.processors.config import Options
from ingest.processors.document import IngestDocument, java_type
from ingest.processors.errors import illegal_argument
from ingest.processors.template import Template, java_string

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(text: str) -> IPAddress:
    """``InetAddresses.forString`` with its message (an IPv4-mapped IPv6 address reads as the IPv4 one)."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise illegal_argument(f"'{text}' is not an IP string literal.") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


# --- community_id ----------------------------------------------------------------------------------------------
_TRANSPORTS = {"icmp": 1, "igmp": 2, "tcp": 6, "udp": 17, "gre": 47, "ipv6-icmp": 58, "icmpv6": 58, "eigrp": 88,
               "ospf": 89, "pim": 103, "sctp": 132}
_PORTS = (6, 17, 132)
_ICMP = (1, 58)
# ICMP types whose replies pair with them (CommunityIdProcessor.IcmpType): the "port" pair of a two-way flow.
_ICMP4_EQUIV = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 10: 9, 9: 10, 17: 18, 18: 17}
_ICMP6_EQUIV = {128: 129, 129: 128, 133: 134, 134: 133, 136: 135, 135: 136, 130: 131, 139: 140, 140: 139,
                144: 145, 145: 144}


def _transport(value: Any) -> int:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = int(value)
    elif isinstance(value, str):
        if value.lower() in _TRANSPORTS:
            return _TRANSPORTS[value.lower()]
        try:
            number = int(value)
        except ValueError:
            raise illegal_argument(f"could not convert string [{value}] to transport protocol") from None
    else:
        raise illegal_argument(f"could not convert value of type [{java_type(value)}] to transport protocol")
    if number < 0 or number >= 255:
        raise illegal_argument(f"invalid transport protocol number [{number}]")
    return number


def _int(value: Any, name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise illegal_argument(f"unable to parse {name} [{value}]")


def community_id(source: IPAddress, dest: IPAddress, protocol: int, src_port: int, dst_port: int,
                 seed: int, icmp: tuple[int, int] | None = None) -> str:
    """The Community ID v1 of a flow (https://github.com/corelight/community-id-spec)."""
    one_way = False
    if protocol in _ICMP and icmp is not None:
        icmp_type, icmp_code = icmp
        equivalent = (_ICMP6_EQUIV if protocol == 58 else _ICMP4_EQUIV).get(icmp_type)
        one_way = equivalent is None
        src_port, dst_port = icmp_type, icmp_code if equivalent is None else equivalent
    src_int, dst_int = int(source), int(dest)
    ordered = src_int < dst_int or (src_int == dst_int and src_port < dst_port)
    keep = ordered or (protocol in _ICMP and one_way)
    first, second = (source, dest) if keep else (dest, source)
    data = first.packed + second.packed + bytes([protocol, 0])
    if protocol in _PORTS or protocol in _ICMP:
        ports = (src_port, dst_port) if keep else (dst_port, src_port)
        data += ports[0].to_bytes(2, "big") + ports[1].to_bytes(2, "big")
    digest = hashlib.sha1(seed.to_bytes(2, "big") + data).digest()
    return "1:" + base64.b64encode(digest).decode()


class CommunityIdProcessor(Processor):
    """``community_id``: the Community ID flow hash of source/destination addresses, ports and protocol."""

    type = "community_id"
    fields: dict[str, str]
    target: str
    seed: int
    ignore_missing: bool

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        defaults = {"source_ip": "source.ip", "source_port": "source.port", "destination_ip": "destination.ip",
                    "destination_port": "destination.port", "iana_number": "network.iana_number",
                    "transport": "network.transport", "icmp_type": "icmp.type", "icmp_code": "icmp.code"}
        p.fields = {name: opts.string(name, default) for name, default in defaults.items()}
        p.target = opts.string("target_field", "network.community_id")
        p.seed = opts.integer("seed", 0)
        if not 0 <= p.seed <= 65535:
            raise opts.error("seed", "[seed] must be a value between 0 and 65535")
        p.ignore_missing = opts.boolean("ignore_missing", True)
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        f, ignore = self.fields, self.ignore_missing
        src = field_value(doc, f["source_ip"], ignore)
        dst = field_value(doc, f["destination_ip"], ignore)
        iana = doc.get(f["iana_number"], None)
        flow = None
        if src is not None and dst is not None:
            protocol = iana if iana is not None else field_value(doc, f["transport"], ignore, object)
            if protocol is not None:
                flow = (parse_ip(src), parse_ip(dst), _transport(protocol))
        if flow is None:
            if ignore:
                return
            raise illegal_argument("unable to construct flow from document")
        source, dest, number = flow
        sport = dport = 0
        icmp = None
        if number in _PORTS:
            raw_s, raw_d = (field_value(doc, f["source_port"], ignore, object),
                            field_value(doc, f["destination_port"], ignore, object))
            sport, dport = _int(raw_s, "source port"), _int(raw_d, "destination port")
            if not 1 <= sport <= 65535:
                raise illegal_argument(f"invalid source port [{java_string(raw_s) if raw_s is not None else 'null'}]")
            if not 1 <= dport <= 65535:
                raise illegal_argument(
                    f"invalid destination port [{java_string(raw_d) if raw_d is not None else 'null'}]")
        elif number in _ICMP:
            icmp = (_int(doc.get(f["icmp_type"], None), "icmp type"), _int(doc.get(f["icmp_code"], None), "icmp code"))
        doc.set(self.target, community_id(source, dest, number, sport, dport, self.seed, icmp))


# --- network_direction -----------------------------------------------------------------------------------------
_PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8")]
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def _v6_in(address: IPAddress, network: str) -> bool:
    return isinstance(address, ipaddress.IPv6Address) and address in ipaddress.ip_network(network)


def _link_local(a: IPAddress) -> bool:
    return a.is_link_local  # 169.254/16, fe80::/10 as Java's isLinkLocalAddress


def _mc_link_local(a: IPAddress) -> bool:
    if isinstance(a, ipaddress.IPv4Address):
        return a in ipaddress.ip_network("224.0.0.0/24")
    return _v6_in(a, "ff02::/16")


def _unspecified(a: IPAddress) -> bool:
    return int(a) == 0


def _private(a: IPAddress) -> bool:
    return any(a.version == n.version and a in n for n in _PRIVATE)


def _unicast(a: IPAddress) -> bool:
    return a != _BROADCAST and not _unspecified(a) and not a.is_loopback and not a.is_multicast \
        and not _link_local(a)


def _public(a: IPAddress) -> bool:
    return not (_private(a) or a.is_loopback or _unspecified(a) or _link_local(a) or _mc_link_local(a)
                or _v6_in(a, "ff01::/16") or a == _BROADCAST)


_NAMED = {
    "loopback": lambda a: a.is_loopback, "global_unicast": _unicast, "unicast": _unicast,
    "link_local_unicast": _link_local, "interface_local_multicast": lambda a: _v6_in(a, "ff01::/16"),
    "link_local_multicast": _mc_link_local, "multicast": lambda a: a.is_multicast, "unspecified": _unspecified,
    "private": _private, "public": _public,
}


@functools.lru_cache(maxsize=256)
def _cidr(network: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(network, strict=False)
    except ValueError:
        # CIDRUtils.isInRange: the address part goes through InetAddresses.forString
        parse_ip(network.split("/")[0])
        raise illegal_argument(f"Expected [ip/prefix] but was [{network}]") from None


def in_network(address: IPAddress, network: str) -> bool:
    """Whether ``address`` is in a named network (``private``, ``loopback``, ...) or a CIDR block."""
    named = _NAMED.get(network)
    if named is not None:
        return bool(named(address))
    block = _cidr(network)
    return address.version == block.version and address in block


class NetworkDirectionProcessor(Processor):
    """``network_direction``: inbound, outbound, internal or external, from the internal networks."""

    type = "network_direction"
    source: str
    destination: str
    target: str
    networks: list[Template] | None
    networks_field: str | None
    ignore_missing: bool

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        p.source = opts.string("source_ip", "source.ip")
        p.destination = opts.string("destination_ip", "destination.ip")
        p.target = opts.string("target_field", "network.direction")
        p.ignore_missing = opts.boolean("ignore_missing", True)
        networks = opts.string_list("internal_networks", allow_string=False)
        p.networks_field = opts.string("internal_networks_field")
        if networks is None and p.networks_field is None:
            raise opts.error("internal_networks", "[internal_networks] or [internal_networks_field] must be specified")
        if networks is not None and p.networks_field is not None:
            raise opts.error("internal_networks", "[internal_networks] and [internal_networks_field] cannot both be "
                                                  "used in the same processor")
        p.networks = None if networks is None else [Template(n) for n in networks]
        return p

    def _direction(self, doc: IngestDocument) -> str | None:
        if self.networks_field is not None:
            listed = field_value(doc, self.networks_field, self.ignore_missing, list)
            if listed is None:
                return None
            networks = [str(n) for n in listed]
        else:
            networks = [t.render(doc) for t in self.networks or []]
        src = field_value(doc, self.source, self.ignore_missing)
        if src is None:
            return None
        dst = field_value(doc, self.destination, self.ignore_missing)
        if dst is None:
            return None
        src_in = any(in_network(parse_ip(src), n) for n in networks)
        dst_in = any(in_network(parse_ip(dst), n) for n in networks)
        if src_in and dst_in:
            return "internal"
        if src_in:
            return "outbound"
        return "inbound" if dst_in else "external"

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        direction = self._direction(doc)
        if direction is None:
            if self.ignore_missing:
                return
            raise illegal_argument("unable to calculate network direction from document")
        doc.set(self.target, direction)


# --- registered_domain -----------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _suffixes() -> Any:
    # The Public Suffix List bundled with the ``publicsuffixlist`` package, ICANN and private rules alike (as
    # Elasticsearch's matcher: ``1.www.global.ssl.fastly.net`` has the registered domain
    # ``www.global.ssl.fastly.net``).
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def domain_info(fqdn: str) -> dict[str, str] | None:
    """``domain`` / ``registered_domain`` / ``top_level_domain`` / ``subdomain`` of a host name, or None."""
    psl = _suffixes()
    name = fqdn.lower()
    if not name or name.startswith(".") or name.endswith("."):
        return None
    registered = psl.privatesuffix(name, accept_unknown=False)
    if registered is None:
        if psl.publicsuffix(name, accept_unknown=False) == name:
            return {"domain": fqdn, "top_level_domain": fqdn}
        return None
    out = {"domain": fqdn, "registered_domain": registered, "top_level_domain": registered.split(".", 1)[1]}
    index = fqdn.rfind("." + registered)
    if index > 0:
        out["subdomain"] = fqdn[:index]
    return out


class RegisteredDomainProcessor(Processor):
    """``registered_domain``: split a host name by the Public Suffix List."""

    type = "registered_domain"
    field: str
    target: str
    ignore_missing: bool

    @classmethod
    def create(cls, opts: Options, factory: Factory) -> Processor:
        p = cls()
        optional_module("publicsuffixlist", cls.type, "publicsuffixlist")
        p.field = opts.string("field", required=True)
        p.target = opts.string("target_field", "")
        p.ignore_missing = opts.boolean("ignore_missing", True)
        return p

    def execute(self, doc: IngestDocument, env: ExecEnv) -> None:
        value = field_value(doc, self.field, self.ignore_missing)
        info = domain_info(value) if value is not None else None
        if info is None:
            if self.ignore_missing:
                return
            raise illegal_argument("unable to set domain information for document")
        prefix = f"{self.target}." if self.target else ""
        for key in ("domain", "registered_domain", "top_level_domain", "subdomain"):
            if key in info:
                doc.set(prefix + key, info[key])


PROCESSORS: list[type[Processor]] = [CommunityIdProcessor, NetworkDirectionProcessor, RegisteredDomainProcessor]
