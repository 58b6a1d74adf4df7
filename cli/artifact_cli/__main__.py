"""`python -m artifact_cli` runs the same command as the `artifact` console script."""

from .main import main

raise SystemExit(main())
