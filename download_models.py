#!/usr/bin/env python3
"""Assemble the bundled models offline, or download voices, Whisper models and LLMs from the hub.

`python download_models.py --help` lists the commands; the code is in backend/models/.
"""

import sys

from backend.models.cli import main

if __name__ == "__main__":
    sys.exit(main())
