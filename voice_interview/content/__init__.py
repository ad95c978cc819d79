"""Content the program reads: interview banks, TOML loading with errors that name the
line, and where the data folders (``prompts/``, ``models/``) live. Imports only ``errors``."""
