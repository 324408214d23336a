"""The command line: argument parsing, one module per command family, errors mapped to exit
codes once."""
