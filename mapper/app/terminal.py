"""The CLI's rich consoles: results on stdout, progress notes and rejections on stderr."""

from __future__ import annotations

import sys

from rich.console import Console

console = Console(width=None if sys.stdout.isatty() else 160)
errors = Console(stderr=True)
