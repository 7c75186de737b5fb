"""`python -m rectifiers.diagnose`: the command line of the package (rectifiers.diagnose.main)."""
import sys

from . import main

sys.exit(main())
