"""Input expansion (files, folders, globs) and output planning (never over an input, overwrite by flag)."""

from __future__ import annotations

import argparse
import glob
import os
from pathlib import Path

from ..errors import TadmError

TADM_SUFFIXES = {".tadm"}


def expand_inputs(patterns: list[str], suffixes: set[str]) -> list[Path]:
    """Files named directly, files with the suffixes under folders (recursively), and glob matches."""
    found: list[Path] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
        elif path.exists():
            found.append(path)
        elif glob.has_magic(pattern):
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
            found += [p for p in matches if p.is_file() and p.suffix.lower() in suffixes]
        else:
            raise TadmError(f"{pattern}: no such file or folder")
    unique = list(dict.fromkeys(found))
    if not unique:
        raise TadmError(f"no input files in {' '.join(patterns)}")
    return unique


def plan_outputs(inputs: list[Path], out_dir: Path, suffix: str) -> list[tuple[Path, Path]]:
    """(input, out_dir/stem+suffix) pairs; two inputs mapping to one output name is an error."""
    pairs = [(source, out_dir / f"{source.stem}{suffix}") for source in inputs]
    seen: dict[Path, Path] = {}
    for source, target in pairs:
        if target in seen:
            raise TadmError(f"{source} and {seen[target]} would both be written to {target}")
        seen[target] = source
    return pairs


def add_overwrite_flags(parser: argparse.ArgumentParser) -> None:
    """--overwrite / --skip-existing, for every command that writes files."""
    exclusive = parser.add_mutually_exclusive_group()
    exclusive.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    exclusive.add_argument("--skip-existing", action="store_true", help="leave existing outputs and skip their inputs")


def should_write(source: Path, target: Path, overwrite: bool, skip_existing: bool) -> bool:
    """True to write, False to skip; refuses to replace the input or, without a flag, any existing file
    (a symbolic link counts as existing even when it points nowhere)."""
    if os.path.lexists(target):
        if target.exists() and os.path.samefile(source, target):
            raise TadmError(f"{target}: refusing to overwrite the input")
        if skip_existing:
            return False
        if not overwrite:
            raise TadmError(f"{target} exists (use --overwrite or --skip-existing)")
    return True
