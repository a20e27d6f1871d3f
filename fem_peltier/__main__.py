"""``python -m fem_peltier`` = the ``fem-peltier`` command."""

from .cli import main

raise SystemExit(main())
