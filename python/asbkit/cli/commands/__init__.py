"""One module per command: its flags, how it calls the library from them, how the result
reads as text (`COMMANDS`, which `asbkit.cli.app` registers).

INDEX names every command, its module and its one-line help, in the order `asbkit --help`
lists them: the CLI imports a command's module (and the part of the library it needs)
only when that command runs."""

INDEX: dict[str, tuple[str, str]] = {
    "backup": ("backup", "back up a namespace of a live cluster into .asb files (asbackup's flags)"),
    "restore": ("restore", "restore .asb backups into a live cluster (asrestore's flags)"),
    "verify": ("verify", "check that a cluster holds what a backup holds (record by record, bin by bin)"),
    "validate": ("validate", "parse a backup completely; print counts or the first error, located"),
    "inspect": ("inspect", "show what a backup holds: sets, bins, keys, TTLs, sizes, indexes, UDFs"),
    "stats": ("stats", "statistics: per set and bin, value sizes, TTLs by month, duplicate digests"),
    "convert": ("convert", "convert a backup to JSON Lines or back, losslessly"),
    "filter": ("filter", "copy a backup into one .asb file, keeping what the filters keep"),
    "split": ("filter", "split a backup into files that restore on their own"),
}
