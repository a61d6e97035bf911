"""Tiled encode and decode: fixed global tiles, so any region decodes like the same box of the whole."""
