#!/usr/bin/env python3
"""Build the site: `python build.py --help` lists the commands and flags."""
import sys

from runpost.cli import main

if __name__ == "__main__":
    sys.exit(main())
