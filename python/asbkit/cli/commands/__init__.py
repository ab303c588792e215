"""One module per command: its flags, how it calls the library from them, how the result
reads as text (`COMMANDS`, which `asbkit.cli.app` registers)."""
