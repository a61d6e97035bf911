"""Developer tools run from a checkout (`python -m tools.fuzz.container`), not installed with the package."""
