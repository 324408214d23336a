"""Entry point for ``python -m brulee``."""

from brulee.cli.main import main

raise SystemExit(main())
