"""CPE names: CPE 2.2 URIs and CPE 2.3 formatted strings, and the Nmap -> NVD alias table.

Both bindings parse into one :class:`Cpe` value holding the eleven attributes of a CPE 2.3
well-formed name, unescaped and lowercased (CPE compares case-insensitively; NVD writes
lowercase). The logical values are ``ANY`` (``*``; an empty URI component) and ``NA``
(``-``). Wildcards inside a value (``?``, ``*`` next to other characters) are kept as text:
NVD's match strings do not use them. A value that is exactly a quoted ``\\*`` or ``\\-`` reads
as ANY or NA; CPE's own bindings cannot keep those apart in a URI either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import lru_cache
from urllib.parse import unquote

ANY = "*"
NA = "-"
VendorProduct = tuple[str, str]

_FS_PREFIX = "cpe:2.3:"
_URI_PREFIX = "cpe:/"
_PARTS = frozenset({"a", "o", "h", ANY})
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_URI_WILDCARDS = {"%01": "?", "%02": "*"}


class CpeError(ValueError):
    """Text that is not a CPE 2.2 URI or CPE 2.3 formatted string."""


@dataclass(frozen=True, slots=True)
class Cpe:
    """One CPE name: unescaped, lowercase values; every attribute is ``ANY`` unless given."""

    part: str
    vendor: str
    product: str
    version: str = ANY
    update: str = ANY
    edition: str = ANY
    language: str = ANY
    sw_edition: str = ANY
    target_sw: str = ANY
    target_hw: str = ANY
    other: str = ANY

    @property
    def vendor_product(self) -> VendorProduct:
        return (self.vendor, self.product)

    @property
    def extended(self) -> tuple[str, str, str, str, str]:
        """The attributes a URI packs into its edition: edition, sw_edition ... other."""
        return (self.edition, self.sw_edition, self.target_sw, self.target_hw, self.other)

    def to_fs(self) -> str:
        """The CPE 2.3 formatted string (``cpe:2.3:a:openbsd:openssh:7.4:p1:*:*:*:*:*:*``)."""
        return _FS_PREFIX + ":".join(_bind_fs(getattr(self, f.name)) for f in fields(self))

    def to_uri(self) -> str:
        """The CPE 2.2 URI (``cpe:/a:openbsd:openssh:7.4:p1``), edition packed if needed."""
        if any(value != ANY for value in self.extended[1:]):
            edition = "~" + "~".join(_bind_uri(value) for value in self.extended)
        else:
            edition = _bind_uri(self.edition)
        head = (self.part, self.vendor, self.product, self.version, self.update)
        components = [*(_bind_uri(value) for value in head), edition, _bind_uri(self.language)]
        while components and not components[-1]:
            components.pop()
        return _URI_PREFIX + ":".join(components)

    def __str__(self) -> str:
        return self.to_fs()


@lru_cache(maxsize=65536)
def parse_cpe(text: str) -> Cpe:
    """Parse a CPE 2.3 formatted string or a CPE 2.2 URI; raise :class:`CpeError` if neither."""
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered.startswith(_FS_PREFIX):
        return _parse_fs(stripped[len(_FS_PREFIX) :])
    if lowered.startswith(_URI_PREFIX):
        return _parse_uri(stripped[len(_URI_PREFIX) :])
    raise CpeError(f"not a CPE name: {text!r}")


def _parse_fs(body: str) -> Cpe:
    values = _split_fs(body)
    if len(values) != 11:
        raise CpeError(f"a CPE 2.3 name has 11 attributes, not {len(values)}: cpe:2.3:{body}")
    if not all(values):
        raise CpeError(f"empty attribute in a CPE 2.3 name: cpe:2.3:{body}")
    return _checked(Cpe(*(value.lower() for value in values)))


def _split_fs(body: str) -> list[str]:
    """Split on unquoted colons and drop the backslash quoting."""
    if "\\" not in body:
        return body.split(":")
    values: list[str] = []
    current: list[str] = []
    chars = iter(body)
    for char in chars:
        if char == "\\":
            quoted = next(chars, None)
            if quoted is None:
                raise CpeError(f"dangling backslash in CPE name: cpe:2.3:{body}")
            current.append(quoted)
        elif char == ":":
            values.append("".join(current))
            current = []
        else:
            current.append(char)
    values.append("".join(current))
    return values


def _parse_uri(body: str) -> Cpe:
    components = body.split(":")
    if len(components) > 7:
        raise CpeError(f"a CPE 2.2 URI has at most 7 components: cpe:/{body}")
    values = [_unbind_uri(value) for value in components]
    values += [ANY] * (7 - len(values))
    part, vendor, product, version, update, edition, language = values
    extended = (edition, ANY, ANY, ANY, ANY)
    if components[5:6] and components[5].startswith("~"):
        packed = components[5][1:].split("~")
        if len(packed) != 5:
            raise CpeError(f"a packed edition has 5 fields: {components[5]!r}")
        extended = tuple(_unbind_uri(value) for value in packed)  # type: ignore[assignment]
    edition, sw_edition, target_sw, target_hw, other = extended
    return _checked(
        Cpe(
            part,
            vendor,
            product,
            version,
            update,
            edition,
            language,
            sw_edition,
            target_sw,
            target_hw,
            other,
        )
    )


def _unbind_uri(value: str) -> str:
    if value == "":
        return ANY
    if value == NA:
        return NA
    for code, wildcard in _URI_WILDCARDS.items():
        value = value.replace(code, wildcard)
    if "%" in _PERCENT.sub("", value):
        raise CpeError(f"bad percent-encoding in CPE component {value!r}")
    try:
        return unquote(value, errors="strict").lower()
    except UnicodeDecodeError as exc:
        raise CpeError(f"bad percent-encoding in CPE component {value!r}") from exc


def _checked(cpe: Cpe) -> Cpe:
    if cpe.part not in _PARTS:
        raise CpeError(f"CPE part must be a, o or h, not {cpe.part!r}")
    return cpe


def _bind_fs(value: str) -> str:
    if value in (ANY, NA):
        return value
    return "".join(ch if ch in _PLAIN else "\\" + ch for ch in value)


def _bind_uri(value: str) -> str:
    if value == ANY:
        return ""
    if value == NA:
        return NA
    return "".join(
        ch if ch in _PLAIN else "".join(f"%{byte:02x}" for byte in ch.encode()) for ch in value
    )


def vendor_product_of(text: str) -> VendorProduct | None:
    """(vendor, product) of a CPE 2.3 formatted string or CPE 2.2 URI, unescaped and lowercased
    as :func:`parse_cpe` reads them, without reading (or requiring) the other attributes: the
    database's index keys (NVD criteria, the Debian tracker's CPE list). ``-`` is a name like
    any other here (NVD writes ``cpe:2.3:h:-:wireless_ip_camera_360:-``). None when ``text``
    names no vendor and product."""
    lowered = text[:8].lower()
    try:
        if lowered.startswith(_FS_PREFIX):
            values = _split_fs(text[len(_FS_PREFIX) :])
        elif lowered.startswith(_URI_PREFIX):
            components = text[len(_URI_PREFIX) :].split(":")[:3]
            if "" in components[1:]:
                return None
            values = [_unbind_uri(value) for value in components]
        else:
            return None
    except CpeError:
        return None
    if len(values) < 3 or not values[1] or not values[2]:
        return None
    return (values[1].lower(), values[2].lower())


_ESCAPE = re.compile(r"\\(.)")


def index_name(value: str) -> str:
    """A CPE vendor or product as the database's index stores it: backslash escapes removed,
    lowercase (``tcl\\/tk`` and ``tcl/tk`` both give ``tcl/tk``)."""
    return _ESCAPE.sub(r"\1", value).lower() if "\\" in value else value.lower()
