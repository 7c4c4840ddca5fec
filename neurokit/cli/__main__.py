"""``python -m neurokit.cli``: the same as the ``neurokit`` command."""
from . import main

raise SystemExit(main())
