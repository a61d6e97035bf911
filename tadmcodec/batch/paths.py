"""Input expansion (files, folders, globs) and output planning (never over an input, overwrite by flag)."""

from __future__ import annotations

import glob
import os
import re
from collections import defaultdict
from pathlib import Path

from tadmcodec_formats.atomic import process_alive, remove_stale

from ..errors import OutputExistsError, TadmError

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
    """(input, out_dir/stem+suffix) pairs, both absolute (workers on other machines and later reruns
    from another folder name the same files); two inputs mapping to one output name is an error."""
    pairs = [(source.absolute(), out_dir.absolute() / f"{source.stem}{suffix}") for source in inputs]
    seen: dict[Path, Path] = {}
    for source, target in pairs:
        if target in seen:
            raise TadmError(f"{source} and {seen[target]} would both be written to {target}")
        seen[target] = source
    return pairs


def should_write(source: Path, target: Path, overwrite: bool, skip_existing: bool) -> bool:
    """True to write, False to skip; refuses to replace the input or, without a flag, any existing file
    (a symbolic link counts as existing even when it points nowhere)."""
    if os.path.lexists(target):
        if target.is_dir():
            raise TadmError(f"{target} is a folder: name a file to write")
        if target.exists() and os.path.samefile(source, target):
            raise TadmError(f"{target}: refusing to overwrite the input")
        if skip_existing:
            return False
        if not overwrite:
            raise OutputExistsError(f"{target} exists (use --overwrite or --skip-existing)")
    return True


def remove_dead_temporaries(targets: list[Path]) -> None:
    """Remove the temporary and scratch files (`.NAME.PID-...`) of these targets whose process on this
    machine is gone, and the pyramid spools of dead TIFF writers: what a killed worker leaves. One
    listing per folder, however many targets."""
    from ..io.tiff_output import PYRAMID_PREFIX

    names: dict[Path, set[str]] = defaultdict(set)
    for target in targets:
        names[target.parent].add(target.name)
    pattern = re.compile(r"\.(.+)\.(\d+)-[0-9a-f]+(\.[^.]+)?")
    for folder, wanted in names.items():
        for entry in os.scandir(folder):
            match = pattern.fullmatch(entry.name)
            if match and match.group(1) in wanted and not process_alive(int(match.group(2))):
                Path(entry.path).unlink(missing_ok=True)
        remove_stale(folder, PYRAMID_PREFIX)
