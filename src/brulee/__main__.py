"""Entry point for ``python -m brulee``."""

from brulee.cli import main

raise SystemExit(main())
