"""``brulee diff`` as Markdown or as a self-contained HTML page: the report's changes section
(same view, same partial templates, same escaping), on its own."""

from __future__ import annotations

from functools import cache

import jinja2
from markupsafe import Markup

from brulee.core.history import Changes
from brulee.report import html, markdown
from brulee.report.view.changes import changes_view


@cache
def _html_template() -> jinja2.Template:
    return html.environment_html().get_template("changes.page.html.j2")


def changes_markdown(changes: Changes) -> str:
    """The changes as a GFM document; every data string escaped."""
    return markdown.template("changes.page.md.j2").render(c=changes_view(changes))


def changes_html(changes: Changes) -> str:
    """The changes as one HTML page: the report's style admitted by its CSP hash, no script,
    nothing loaded from the network."""
    css, csp = html.page_assets()
    return _html_template().render(
        c=changes_view(changes),
        css=Markup(css),  # noqa: S704 - package file, admitted by its CSP hash
        csp=csp,
        **html.ROW_HELPERS,
    )
