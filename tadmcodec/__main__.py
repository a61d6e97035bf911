"""`python -m tadmcodec` runs the command line."""

import sys

from tadmcodec.cli import main

sys.exit(main())
