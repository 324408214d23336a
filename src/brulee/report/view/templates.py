"""The Jinja environment every template format shares, and rendering a template as a stream."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2

from brulee.errors import ReportError
from brulee.report.view.text import age_text, host_status, open_port_text, port_text, safe_url
from brulee.util.text import count_text

TEMPLATE_HELPERS: dict[str, Callable[..., Any]] = {
    "safe_url": safe_url,
    "count_text": count_text,
    "port_text": port_text,
    "open_port_text": open_port_text,
    "host_status": host_status,
    "age_text": age_text,
}


def environment(*, autoescape: bool, **options: Any) -> jinja2.Environment:
    """A Jinja environment over ``brulee/report/templates`` with the shared helpers.

    ``autoescape`` is HTML escaping; other formats escape with their own ``finalize``.
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("brulee.report", "templates"),
        autoescape=autoescape,  # noqa: S701 - Markdown and LaTeX escape in their finalize
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        **options,
    )
    env.globals.update(TEMPLATE_HELPERS)
    return env


def stream(template: jinja2.Template, path: Path, **context: Any) -> None:
    """Render ``template`` chunk by chunk into ``path`` (never the whole document in memory)."""
    try:
        with path.open("w", encoding="utf-8", errors="replace", newline="\n") as out:
            for chunk in template.generate(**context):
                out.write(chunk)
    except OSError as exc:
        raise ReportError(f"cannot write report {path}: {exc.strerror or exc}") from exc
