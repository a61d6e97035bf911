"""Developer tools run from a checkout (`python -m tools.formats.fuzz`), not installed with the package."""
