"""Models on disk: names, defaults and the search path (registry), the folder format, hashing; torch-free."""
