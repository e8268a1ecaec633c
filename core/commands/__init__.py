"""The command line's commands, one module each (core/__main__.py parses the arguments and calls them)."""
