"""``python -m hdlimits.cli ARGS`` runs the ``hdlimits`` command."""
import sys

from hdlimits.cli.main import main

sys.exit(main())
