"""`python -m runpost`: the same command line as `runpost` and `python build.py`."""
import sys

from .cli import main

sys.exit(main())
