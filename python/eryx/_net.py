"""Network and secrets for the Python API: NetConfig (as pyeryx 0.11's, without its
allow_host bug), NetStats, the checks of `network=`, `secrets=` and `scrub_*`, and
how they become builder calls (docs/NETWORK.md)."""
from __future__ import annotations

import ipaddress
from typing import Any, Iterable, Mapping, NamedTuple

# The reference's default blocked_hosts, kept so the attribute reads the same. The
# IP-literal patterns are redundant with blocked_networks (which also catches every
# other spelling); "localhost" and "*.localhost" block the names themselves.
_DEFAULT_BLOCKED_HOSTS = ("localhost", "*.localhost", "127.*", "10.*") + tuple(
    f"172.{n}.*" for n in range(16, 32)) + ("192.168.*", "169.254.*", "[::1]")
# Every non-public range: the C library's default list (eryx_builder_net_block_network).
_DEFAULT_BLOCKED_NETWORKS = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/4", "240.0.0.0/4", "::/128", "::1/128", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23",
    "2001:db8::/32", "2002::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8")
# What allow_localhost() takes out of the lists.
_LOOPBACK_HOSTS = {"localhost", "*.localhost", "127.*", "[::1]", "::1"}
_LOOPBACK_NETWORKS = {"127.0.0.0/8", "::1/128"}


def _cidr(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a CIDR string like '10.0.0.0/8', not {type(value).__name__}")
    try:
        ipaddress.ip_network(value.strip(), strict=False)
    except ValueError as e:
        raise ValueError(f"invalid CIDR {value!r}: {e}") from None
    return value.strip()


def _pattern(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a host pattern (str), not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{what} must not be empty")
    if "\0" in value:
        raise ValueError(f"{what} must not contain a NUL character")
    return value.strip()


def _str_list(values: Any, what: str, check: Any) -> list[str]:
    if values is None:
        return []
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{what} must be a list of strings, not {type(values).__name__}")
    return [check(v, f"an item of {what}") for v in values]


def _count(value: Any, what: str, minimum: int, maximum: int = (1 << 63) - 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not minimum <= value <= maximum:
        raise ValueError(f"{what} must be in {minimum}..{maximum}, not {value}")
    return value


def _cert(data: Any) -> bytes:
    """DER bytes, or PEM (bytes or str); checked for its shape here, parsed by the
    library when the sandbox is made (ValueError there if it is not a certificate)."""
    if isinstance(data, str):
        data = data.encode("ascii", "strict")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"a root certificate must be DER bytes or PEM text, not {type(data).__name__}")
    data = bytes(data)
    if b"-----BEGIN CERTIFICATE-----" in data or (len(data) > 4 and data[0] == 0x30):
        return data
    raise ValueError("a root certificate must be DER (an ASN.1 SEQUENCE) or PEM (-----BEGIN CERTIFICATE-----)")


class NetConfig:
    """What a sandbox's code may reach over the network (pyeryx 0.11's NetConfig).

    Networking is off unless a NetConfig is passed as `network=`. By default any
    public host may be reached (allowed_hosts empty), names are resolved by the host
    and every resolved address is checked against blocked_networks (every non-public
    range), and localhost is blocked. The builder methods and the constructor mean
    the same thing: NetConfig().allow_host("a.com") reaches only a.com, exactly like
    NetConfig(allowed_hosts=["a.com"]) (pyeryx 0.11's allow_host left every host
    allowed)."""

    __slots__ = ("_max_connections", "_connect_timeout_ms", "_io_timeout_ms", "_allowed_hosts", "_blocked_hosts",
                 "_blocked_networks", "_allowed_networks", "_internal_hosts", "_localhost", "_root_certs")

    def __init__(self, *, max_connections: int = 10, connect_timeout_ms: int = 30000, io_timeout_ms: int = 60000,
                 allowed_hosts: Iterable[str] | None = None, blocked_hosts: Iterable[str] | None = None,
                 blocked_networks: Iterable[str] | None = None, allowed_networks: Iterable[str] | None = None,
                 internal_hosts: Iterable[str] | None = None) -> None:
        self.max_connections = max_connections
        self.connect_timeout_ms = connect_timeout_ms
        self.io_timeout_ms = io_timeout_ms
        self.allowed_hosts = allowed_hosts
        self.blocked_hosts = list(_DEFAULT_BLOCKED_HOSTS) if blocked_hosts is None else blocked_hosts
        self.blocked_networks = list(_DEFAULT_BLOCKED_NETWORKS) if blocked_networks is None else blocked_networks
        self.allowed_networks = allowed_networks
        self.internal_hosts = internal_hosts
        self._localhost = False
        self._root_certs: list[bytes] = []

    # -- attributes (validated on assignment; read as copies, as the reference does) --
    @property
    def max_connections(self) -> int:
        """Connections open at once (>= 1); past it connect raises OSError."""
        return self._max_connections

    @max_connections.setter
    def max_connections(self, v: int) -> None:
        self._max_connections = _count(v, "max_connections", 1, (1 << 32) - 1)

    @property
    def connect_timeout_ms(self) -> int:
        """Connect timeout in ms (0: none); past it the guest gets TimeoutError."""
        return self._connect_timeout_ms

    @connect_timeout_ms.setter
    def connect_timeout_ms(self, v: int) -> None:
        self._connect_timeout_ms = _count(v, "connect_timeout_ms", 0)

    @property
    def io_timeout_ms(self) -> int:
        """Read/write timeout in ms (0: none); past it the guest gets TimeoutError."""
        return self._io_timeout_ms

    @io_timeout_ms.setter
    def io_timeout_ms(self, v: int) -> None:
        self._io_timeout_ms = _count(v, "io_timeout_ms", 0)

    @property
    def allowed_hosts(self) -> list[str]:
        """Host globs that may be reached (empty: any host passing the network checks)."""
        return list(self._allowed_hosts)

    @allowed_hosts.setter
    def allowed_hosts(self, v: Iterable[str] | None) -> None:
        self._allowed_hosts = _str_list(v, "allowed_hosts", _pattern)

    @property
    def blocked_hosts(self) -> list[str]:
        """Host globs that may never be reached (they win over allowed_hosts)."""
        return list(self._blocked_hosts)

    @blocked_hosts.setter
    def blocked_hosts(self, v: Iterable[str] | None) -> None:
        self._blocked_hosts = _str_list(v, "blocked_hosts", _pattern)

    @property
    def blocked_networks(self) -> list[str]:
        """CIDRs no resolved address may fall in (default: every non-public range)."""
        return list(self._blocked_networks)

    @blocked_networks.setter
    def blocked_networks(self, v: Iterable[str] | None) -> None:
        self._blocked_networks = _str_list(v, "blocked_networks", _cidr)

    @property
    def allowed_networks(self) -> list[str]:
        """CIDRs exempt from blocked_networks."""
        return list(self._allowed_networks)

    @allowed_networks.setter
    def allowed_networks(self, v: Iterable[str] | None) -> None:
        self._allowed_networks = _str_list(v, "allowed_networks", _cidr)

    @property
    def internal_hosts(self) -> list[str]:
        """Host globs allowed to resolve into blocked_networks (names whose DNS you control)."""
        return list(self._internal_hosts)

    @internal_hosts.setter
    def internal_hosts(self, v: Iterable[str] | None) -> None:
        self._internal_hosts = _str_list(v, "internal_hosts", _pattern)

    @property
    def root_certs(self) -> list[bytes]:
        """The root certificates added by with_root_cert (DER or PEM, as given)."""
        return list(self._root_certs)

    @property
    def localhost_allowed(self) -> bool:
        """Whether allow_localhost() (or permissive()) was called."""
        return self._localhost

    # -- builder methods: each returns self ---------------------------------------------
    @staticmethod
    def permissive() -> "NetConfig":
        """Any host, localhost and private ranges included: nothing blocked. For
        trusted code and tests only."""
        n = NetConfig(blocked_hosts=[], blocked_networks=[])
        n._localhost = True
        return n

    def allow_host(self, pattern: str) -> "NetConfig":
        """Adds an allowed host glob ("api.example.com", "*.example.com"): from then on
        only hosts matching an allowed pattern may be reached."""
        self._allowed_hosts.append(_pattern(pattern, "allow_host's pattern"))
        return self

    def block_host(self, pattern: str) -> "NetConfig":
        """Adds a blocked host glob."""
        self._blocked_hosts.append(_pattern(pattern, "block_host's pattern"))
        return self

    def allow_network(self, cidr: str) -> "NetConfig":
        """Exempts a CIDR from blocked_networks (ValueError if it is not a CIDR)."""
        self._allowed_networks.append(_cidr(cidr, "allow_network's cidr"))
        return self

    def allow_internal_host(self, pattern: str) -> "NetConfig":
        """Lets names matching pattern resolve into blocked_networks."""
        self._internal_hosts.append(_pattern(pattern, "allow_internal_host's pattern"))
        return self

    def allow_localhost(self) -> "NetConfig":
        """Lets the code reach this machine's loopback (127.0.0.0/8, ::1, "localhost"):
        takes them out of blocked_hosts and blocked_networks."""
        self._blocked_hosts = [h for h in self._blocked_hosts if h.lower() not in _LOOPBACK_HOSTS]
        self._blocked_networks = [c for c in self._blocked_networks if c not in _LOOPBACK_NETWORKS]
        self._localhost = True
        return self

    def with_root_cert(self, cert: bytes | str) -> "NetConfig":
        """Trusts one more root certificate for TLS (beside the system's CA store):
        DER bytes, or PEM text (str or bytes, one or more certificates)."""
        self._root_certs.append(_cert(cert))
        return self

    def __repr__(self) -> str:
        return (f"NetConfig(max_connections={self._max_connections}, connect_timeout_ms={self._connect_timeout_ms}, "
                f"io_timeout_ms={self._io_timeout_ms}, allowed_hosts={self._allowed_hosts!r}, "
                f"blocked_hosts=[{len(self._blocked_hosts)} patterns], "
                f"blocked_networks=[{len(self._blocked_networks)} networks], "
                f"allowed_networks={self._allowed_networks!r}, internal_hosts={self._internal_hosts!r}, "
                f"localhost={self._localhost}, root_certs={len(self._root_certs)})")

    def _apply(self, b: Any) -> None:
        """Configures a _eryx.Builder: the lists replace the library's defaults."""
        b.set_network(True)
        b.net_clear_blocked_networks()
        for c in self._blocked_networks:
            b.net_block_network(c)
        for c in self._allowed_networks:
            b.net_allow_network(c)
        for p in self._allowed_hosts:
            b.net_allow_host(_unbracket(p))
        for p in self._blocked_hosts:
            b.net_block_host(_unbracket(p))
        for p in self._internal_hosts:
            b.net_allow_internal_host(_unbracket(p))
        if self._localhost:
            b.net_allow_localhost()
        b.net_set_limits(self._max_connections, self._connect_timeout_ms, self._io_timeout_ms)
        for c in self._root_certs:
            b.net_add_root_cert(c)


def _unbracket(p: str) -> str:
    # "[::1]" (the reference's spelling) is matched as the canonical "::1"
    return p[1:-1] if p.startswith("[") and p.endswith("]") else p


def check_network(network: Any) -> NetConfig | None:
    """network=: a NetConfig, None/False (no network), True (NetConfig()), or a
    mapping of NetConfig's keywords."""
    if network is None or network is False:
        return None
    if network is True:
        return NetConfig()
    if isinstance(network, NetConfig):
        return network
    if isinstance(network, Mapping):
        try:
            return NetConfig(**dict(network))
        except TypeError as e:
            raise TypeError(f"network: {e}") from None
    raise TypeError(f"network must be a NetConfig (or None), not {type(network).__name__}")


class _MissingValue(KeyError, ValueError):
    """A secret without "value": a KeyError, and a ValueError as in pyeryx 0.11."""

    def __str__(self) -> str:
        return str(self.args[0])


_SECRET_KEYS = {"value", "allowed_hosts"}


def check_secrets(secrets: Any) -> list[tuple[str, str, list[str]]]:
    """secrets={"NAME": {"value": "...", "allowed_hosts": ["api.example.com"]}} ->
    [(name, value, hosts)]. Unknown keys are refused (a misspelt allowed_hosts must
    not pass silently)."""
    if secrets is None:
        return []
    if not isinstance(secrets, Mapping):
        raise TypeError(f"secrets must be a dict of NAME -> {{'value': ..., 'allowed_hosts': [...]}}, "
                        f"not {type(secrets).__name__}")
    out = []
    for name, spec in secrets.items():
        if not isinstance(name, str):
            raise TypeError(f"secret names must be strings, not {type(name).__name__}")
        if not name or "=" in name or "\0" in name:
            raise ValueError(f"secret name {name!r} is not an environment variable name")
        if not isinstance(spec, Mapping):
            raise TypeError(f"secret {name!r} must be a dict with a 'value' key, not {type(spec).__name__}")
        unknown = set(spec) - _SECRET_KEYS
        if unknown:
            raise ValueError(f"secret {name!r} has unknown keys {sorted(map(str, unknown))} "
                             f"(it takes 'value' and 'allowed_hosts')")
        if "value" not in spec:
            raise _MissingValue(f"secret {name!r} must contain a 'value' key")
        value = spec["value"]
        if not isinstance(value, str):
            raise TypeError(f"secret {name!r} value must be a string, not {type(value).__name__}")
        if not value or "\0" in value:
            raise ValueError(f"secret {name!r} value must be a non-empty string without NUL")
        hosts = spec.get("allowed_hosts", [])
        if hosts is None or isinstance(hosts, (str, bytes)) or not isinstance(hosts, Iterable):
            raise TypeError(f"secret {name!r} allowed_hosts must be a list of strings")
        hosts = list(hosts)
        if not all(isinstance(h, str) for h in hosts):
            raise TypeError(f"secret {name!r} allowed_hosts must be a list of strings")
        if not all(h.strip() for h in hosts):
            raise ValueError(f"secret {name!r} allowed_hosts has an empty pattern")
        out.append((name, value, [_unbracket(h.strip()) for h in hosts]))
    return out


# eryx.h's ERYX_SCRUB_*
SCRUB_STDOUT, SCRUB_STDERR, SCRUB_FILES, SCRUB_RESULT = 1, 2, 4, 8


def scrub_flags(scrub_stdout: Any, scrub_stderr: Any, scrub_files: Any, scrub_result: Any) -> int:
    """The reference's defaults: stdout, stderr and files scrubbed (None), the result not."""
    flags = 0
    for name, v, bit, default in (("scrub_stdout", scrub_stdout, SCRUB_STDOUT, True),
                                  ("scrub_stderr", scrub_stderr, SCRUB_STDERR, True),
                                  ("scrub_files", scrub_files, SCRUB_FILES, True),
                                  ("scrub_result", scrub_result, SCRUB_RESULT, False)):
        if v is not None and not isinstance(v, bool):
            raise TypeError(f"{name} must be a bool or None, not {type(v).__name__}")
        if (default if v is None else v):
            flags |= bit
    return flags


class NetStats(NamedTuple):
    """An execution's network activity (eryx_result_net_stats)."""

    connections: int     # connections opened
    refused: int         # connects, resolutions and sends the policy refused
    bytes_sent: int      # to the network, after secret substitution
    bytes_received: int  # from the network, before scrubbing


NO_NET_STATS = NetStats(0, 0, 0, 0)
