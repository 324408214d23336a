"""OpenVEX 0.2.0 documents (``--vex``) read as suppression entries.

``not_affected`` (with its justification or impact statement) and ``fixed`` statements take the
findings they name out of the main sections, like a suppression, with the document's author and
the statement as the reason; ``affected`` and ``under_investigation`` statements keep them and
are shown with them. Of statements about the same vulnerability and product, the latest wins
(``last_updated``, else ``timestamp``, of the statement, else of its document; then the later
file, then the later statement), as VEX means a sequence of statements, each overriding the last.

A statement names its vulnerability by ``name`` and ``aliases`` (the CVE ids among them; the name
when there is none), and each product by:

- a CPE, 2.2 or 2.3 (``identifiers.cpe23``, ``identifiers.cpe22``, or an ``@id`` that is one):
  the services with that vendor:product (through the alias table), of that version when the CPE
  gives one (version and update: ``7.4`` and ``p1`` is ``7.4p1``);
- and, optionally, a location as the product's ``@id``: ``tcp://10.0.0.5:22``,
  ``udp://[fd00::5]:161``, ``tcp://*:22`` (any host). brulee's ``-f openvex`` writes products so.

A product naming neither (a purl alone) names nothing a network scan sees, nor does a statement
without a CVE id: they are skipped, with a warning. Anything else wrong is refused in one line
naming the file and the statement: not JSON, larger than ``MAX_FILE_BYTES``, nested deeper than
``MAX_DEPTH``, a repeated key, not OpenVEX, a field of the wrong type or value, a
``not_affected`` statement with neither justification nor impact statement, an ``affected`` one
without action statement. Unknown fields are ignored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from brulee.core.cpe import ANY, NA, CpeError, parse_cpe
from brulee.core.suppression import Software, Suppression, VexClaim, cpe_version
from brulee.core.vulnerability import VEX_STATUSES, VexStatus
from brulee.errors import UsageError
from brulee.history.suppressions.apply import Suppressions
from brulee.history.suppressions.load import SuppressionError, parse_suppression
from brulee.match.products import nvd_products
from brulee.util.boundedjson import JsonError, load_json
from brulee.util.files import TooLarge, read_bounded

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 16 << 20
MAX_DEPTH = 16
"""OpenVEX nests six levels deep (document, statements, statement, products, product,
identifiers): anything deeper than this is not a VEX document."""
CONTEXT = "https://openvex.dev/ns"
"""Every OpenVEX ``@context`` starts so (``https://openvex.dev/ns/v0.2.0``)."""
JUSTIFICATIONS = frozenset({
    "component_not_present", "vulnerable_code_not_present", "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary", "inline_mitigations_already_exist",
})  # fmt: skip
_LOCATION = re.compile(r"(tcp|udp|sctp)://(\*|\[[^\[\]/]+\]|[^\[\]/:@]+):([0-9]{1,5})/?", re.I)
_CVE = re.compile(r"CVE-[0-9]{4}-[0-9]{4,}", re.IGNORECASE)
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_STATUSES: dict[str, VexStatus] = {status: status for status in VEX_STATUSES}


class VexError(UsageError):
    """A VEX document brulee cannot use: the file, then what is wrong and where."""


class _Bad(ValueError):
    """One problem; the caller names the file."""


def load_vex(paths: Sequence[Path]) -> Suppressions:
    """The entries of every document, in file and statement order, the latest statement about
    each vulnerability and product only. VexError (exit 2) for a document that cannot be used."""
    latest: dict[tuple[Any, ...], tuple[tuple[datetime, int, int], Suppression]] = {}
    for number, path in enumerate(paths):
        for order, (when, entry) in enumerate(_read(path)):
            key = (entry.cve, entry.software and (entry.software.names, entry.software.version),
                   entry.host, entry.port, entry.protocol)  # fmt: skip
            rank = (when, number, order)
            if key not in latest or rank >= latest[key][0]:
                latest[key] = (rank, entry)
    chosen = sorted(latest.values(), key=lambda item: item[0][1:])
    return Suppressions.from_entries(entry for _, entry in chosen)


def _read(path: Path) -> list[tuple[datetime, Suppression]]:
    try:
        data = read_bounded(path, MAX_FILE_BYTES)
    except TooLarge as exc:
        raise VexError(f"{path}: {exc}, not read") from None
    except OSError as exc:
        raise VexError(f"{path}: cannot read it ({exc.strerror or exc})") from exc
    try:
        document = load_json(data, max_depth=MAX_DEPTH)
        return _document(document, str(path))
    except (JsonError, _Bad) as exc:
        raise VexError(f"{path}: {exc}") from exc


def _document(document: Any, source: str) -> list[tuple[datetime, Suppression]]:
    if not isinstance(document, dict):
        raise _Bad("not an OpenVEX document (a JSON object with @context, author, statements)")
    context = document.get("@context")
    if not isinstance(context, str) or not context.startswith(CONTEXT):
        raise _Bad(f"not an OpenVEX document: @context is {context!r:.80}, not {CONTEXT}/...")
    author = _text(document, "author", required=True)
    when = _time(document)
    statements = document.get("statements")
    if not isinstance(statements, list):
        raise _Bad("statements is not a list")
    entries, skipped = [], 0
    for number, statement in enumerate(statements, 1):
        try:
            found, missed = _statement(statement, author, f"{source} statement {number}")
            entries += [(_time(statement) or when or _EARLIEST, entry) for entry in found]
            skipped += missed
        except _Bad as exc:
            raise _Bad(f"statement {number}: {exc}") from exc
    if skipped:
        log.warning("%s: %d products name no CVE, or neither a CPE nor a location: skipped",
                    source, skipped)  # fmt: skip
    return entries


def _statement(raw: Any, author: str, origin: str) -> tuple[list[Suppression], int]:
    """The entries of one statement, and how many of its products it skipped (all of them
    when the statement names no CVE)."""
    if not isinstance(raw, dict):
        raise _Bad("not an object")
    vulnerability = raw.get("vulnerability")
    if not isinstance(vulnerability, dict):
        raise _Bad("vulnerability is not an object with a name (OpenVEX 0.2.0)")
    names = [_text(vulnerability, "name", required=True), *_texts(vulnerability, "aliases")]
    cves = list(dict.fromkeys(n.upper() for n in names if _CVE.fullmatch(n)))
    raw_status = raw.get("status")
    status = _STATUSES.get(raw_status) if isinstance(raw_status, str) else None
    if status is None:
        raise _Bad(f"status {raw_status!r:.60} is not one of {', '.join(VEX_STATUSES)}")
    justification = _text(raw, "justification")
    if justification and justification not in JUSTIFICATIONS:
        raise _Bad(f"justification {justification!r:.60} is not one of OpenVEX's")
    impact, action, notes = (_text(raw, k) for k in
                             ("impact_statement", "action_statement", "status_notes"))  # fmt: skip
    if status == "not_affected" and not (justification or impact):
        raise _Bad("not_affected needs a justification or an impact_statement")
    if status == "affected" and not action:
        raise _Bad("affected needs an action_statement")
    products = raw.get("products")
    if not isinstance(products, list) or not products:
        raise _Bad("products is not a non-empty list")
    said = "; ".join(text for text in (impact, action, notes) if text)
    claim = VexClaim(status, justification or None, said)
    reason = f"VEX {status}" + (f" ({justification})" if justification else "")
    reason += f": {said}" if said else ""
    entries: list[Suppression] = []
    skipped = 0
    if not cves:  # brulee's findings are CVEs: a GHSA or vendor id alone names none of them
        return entries, len(products)
    for product in products:
        scope = _product(product)
        if scope is None:
            skipped += 1
            continue
        software, location = scope
        for cve in cves:
            fields = {"cve": cve, "reason": reason, "author": author, **location}
            try:
                entry = parse_suppression(fields, origin=origin)
            except SuppressionError as exc:
                raise _Bad("; ".join(text for _, text in exc.problems)) from exc
            entries.append(replace(entry, software=software, vex=claim))
    return entries, skipped


def _product(raw: Any) -> tuple[Software | None, dict[str, object]] | None:
    """The product's software and location (host, port, protocol); None when it names
    neither."""
    if not isinstance(raw, dict):
        raise _Bad("a product is not an object")
    at_id = _text(raw, "@id")
    identifiers = raw.get("identifiers", {})
    if not isinstance(identifiers, dict):
        raise _Bad("identifiers is not an object")
    cpe = _text(identifiers, "cpe23") or _text(identifiers, "cpe22")
    if not cpe and at_id.lower().startswith("cpe:"):
        cpe = at_id
    software = _software(cpe) if cpe else None
    location: dict[str, object] = {}
    if (match := _LOCATION.fullmatch(at_id)) is not None:
        host = match[2].strip("[]")
        location = {"protocol": match[1].lower(), "port": int(match[3])}
        location |= {"host": host} if host != "*" else {}
    elif at_id.lower().startswith(("tcp:", "udp:", "sctp:")):
        raise _Bad(f"product @id {at_id!r:.80} is not a location like tcp://10.0.0.5:22")
    if software is None and not location:
        return None
    return software, location


def _software(text: str) -> Software:
    try:
        cpe = parse_cpe(text)
    except CpeError as exc:
        raise _Bad(f"product CPE {text!r:.80} is not a CPE 2.2 or 2.3 name") from exc
    if {cpe.vendor, cpe.product} & {ANY, NA}:
        raise _Bad(f"product CPE {text!r:.80} names no vendor and product")
    return Software(text, nvd_products(cpe), cpe_version(text))


def _text(raw: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _Bad(f"{key} is not {'non-empty ' if required else ''}text")
    return value.strip()


def _texts(raw: dict[str, Any], key: str) -> list[str]:
    values = raw.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise _Bad(f"{key} is not a list of names")
    return values


def _time(raw: Any) -> datetime | None:
    """When the statement (or document) was last known true; naive times are UTC."""
    text = _text(raw, "last_updated") or _text(raw, "timestamp")
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise _Bad(f"timestamp {text!r:.60} is not an ISO 8601 time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
