"""Safe targets: which URLs a webhook may point at (no server-side request forgery).

`https://` only; plain `http://` only to a loopback address and only when settings.DEBUG (the
demo receiver). Every address the host resolves to must be public. The same check runs at save
time (`url_check`) and again at every delivery (`target_resolve`, whose address the client then
connects to, so a DNS answer that changes after the check cannot move the request elsewhere).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from core.exceptions import DomainError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 500
METADATA = ipaddress.ip_address("169.254.169.254")
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeTarget(DomainError):
    """A URL or an address the engine refuses to call."""

    code = "unsafe_url"

    def __init__(self, message: str) -> None:
        super().__init__(message, code="unsafe_url", details={"field": "url"})


@dataclass(frozen=True)
class Target:
    """A checked URL and the address to connect to (the host name stays for SNI and Host)."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    address: str


def _embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip.teredo is not None:
            return ip.teredo[1]
    return None


def address_is_public(ip: IPAddress) -> bool:
    """Whether an address is a public unicast one (and any IPv4 it embeds is too)."""
    inner = _embedded_v4(ip)
    if inner is not None and not address_is_public(inner):
        return False
    if ip == METADATA:
        return False
    return bool(
        ip.is_global
        and not (
            ip.is_private
            or ip.is_loopback
            or ip.is_link_local
            or ip.is_multicast
            or ip.is_reserved
            or ip.is_unspecified
            or getattr(ip, "is_site_local", False)
        )
    )


def _is_loopback(ip: IPAddress) -> bool:
    inner = _embedded_v4(ip)
    return (inner or ip).is_loopback


def host_addresses(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (a literal address is itself); [] if it does not."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    found: list[IPAddress] = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            continue
        if ip not in found:
            found.append(ip)
    return found


def _parse(url: str) -> tuple[str, str, str, int, str]:
    text = (url or "").strip()
    if not text:
        raise UnsafeTarget("url: a URL is required.")
    if len(text) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"url: at most {MAX_URL_LENGTH} characters.")
    if any(ord(c) < 33 or ord(c) == 127 for c in text):
        raise UnsafeTarget("url: no spaces or control characters.")
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        raise UnsafeTarget("url: not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http"):
        raise UnsafeTarget("url: the URL must start with https://.")
    if not host:
        raise UnsafeTarget("url: the URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("url: credentials in the URL are not allowed.")
    try:
        host = host.encode("idna").decode("ascii").lower() if not _is_literal(host) else host
    except UnicodeError:
        raise UnsafeTarget("url: the host name is not valid.") from None
    port = port or (443 if scheme == "https" else 80)
    netloc = f"[{host}]" if ":" in host else host
    default = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
    if not default:
        netloc = f"{netloc}:{port}"
    path = parts.path or "/"
    normalised = urlunsplit((scheme, netloc, path, parts.query, ""))
    return normalised, scheme, host, port, (path + (f"?{parts.query}" if parts.query else ""))


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_addresses(scheme: str, host: str, addresses: list[IPAddress]) -> None:
    if scheme == "http":
        if not settings.DEBUG:
            raise UnsafeTarget("url: the URL must start with https://.")
        if not addresses or not all(_is_loopback(ip) for ip in addresses):
            raise UnsafeTarget("url: plain http:// is allowed only to a loopback address.")
        return
    if not addresses:
        raise UnsafeTarget("url: the host name does not resolve.")
    for ip in addresses:
        if not address_is_public(ip):
            raise UnsafeTarget("url: the host resolves to a private or reserved address.")


def url_check(url: str, *, resolve: bool = True) -> str:
    """The normalised URL, or DomainError `unsafe_url` if a webhook may not point there.

    With `resolve=False` only a literal address in the URL is checked (no DNS look-up).
    """
    normalised, scheme, host, port, _path = _parse(url)
    if resolve or _is_literal(host):
        addresses = host_addresses(host, port)
    elif scheme == "http":
        addresses = [ipaddress.ip_address("127.0.0.1")] if host == "localhost" else []
    else:
        return normalised
    _check_addresses(scheme, host, addresses)
    return normalised


def target_resolve(url: str) -> Target:
    """Check `url` again now (fresh DNS) and pick the address to connect to."""
    normalised, scheme, host, port, path = _parse(url)
    addresses = host_addresses(host, port)
    _check_addresses(scheme, host, addresses)
    return Target(
        url=normalised, scheme=scheme, host=host, port=port, path=path, address=str(addresses[0])
    )
