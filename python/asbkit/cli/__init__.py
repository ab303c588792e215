"""The `asbkit` command line, built on the library: flags (the library's declared options
and the CLI's own), one module per command (flags → options → call → text), the JSON
envelope and exit codes, progress displays, configuration files, the Secret Agent and
signal handling. Nothing outside this package imports it."""

from .app import main

__all__ = ["main"]
