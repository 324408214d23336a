"""What the human-readable reports show, derived once from a Report, and how templates stream.

HTML, Markdown and LaTeX render the same ``ReportView`` (``report``); each escapes it for its own
format. Per-host data stays a stream from the spool.
"""
