"""Keep a device call under the device tool's 64 MiB: take the package's weight folders the GPU job does not
read, and the pictures and reference files only CI reads, out of the working tree for the calls.

    python -m tools.gpu.slim              what the job needs, and what would go (sizes)
    python -m tools.gpu.slim --apply      stage their removal (git rm --cached) and delete them
    python -m tools.gpu.slim --restore    bring them back from HEAD (right after give_back)

The job reads the default models, the folders tools/gpu/recipe.json names, their backbones and every
file their weight links stand for; each release adds weights the job never reads, and the tool sends
the whole working tree. Removed files are committed ones (the command refuses otherwise), so
`--restore` (or `git reset -q HEAD -- . && git checkout -- .`) always brings them back; never commit
while the tree is slim.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from tadmcodec.store.folder import backbone_folder
from tadmcodec.store.hashing import LINK_SUFFIX, linked_file
from tadmcodec.store.registry import PACKAGE_WEIGHTS, default_models, resolve_model

ROOT = Path(__file__).resolve().parents[2]
RECIPE = Path(__file__).with_name("recipe.json")
NOT_LOADED = ("MODEL_CARD.md", "validation-*.json", "*.png")  # in a model folder, read by people and CI only
ONLY_FOR_CI = ("docs", "tests/quality/reference")  # pictures and decode references: no device call reads them


def needed_weight_files() -> set[Path]:
    """Every file under the package's weights that the GPU job reads: the default models, the recipe's
    folders, their backbones, and the files their weight links stand for."""
    recipe = json.loads(RECIPE.read_text())
    models = [resolve_model(name) for name in default_models().values()]
    named = [stage["config"].get("latents_from", []) for stage in recipe["stages"]]
    models += [ROOT / path for paths in named if isinstance(paths, list) for path in paths]  # not "candidates"
    folders = {*models, ROOT / recipe["backbone"], *(backbone_folder(model)[0] for model in models)}
    needed = {PACKAGE_WEIGHTS / "defaults.json"}
    for folder in folders:
        for path in folder.resolve().rglob("*"):
            if not path.is_file() or any(path.match(pattern) for pattern in NOT_LOADED):
                continue
            needed.add(path)
            if path.name.endswith(LINK_SUFFIX):  # and the file the link's target is
                needed.add(linked_file(path.with_name(path.name.removesuffix(LINK_SUFFIX))))
    return needed


def tracked(paths: list[Path]) -> list[Path]:
    listed = (
        subprocess.run(["git", "ls-files", "-z", "--", *map(str, paths)], cwd=ROOT, check=True, capture_output=True)
        .stdout.decode()
        .split("\0")
    )
    return [ROOT / name for name in listed if name]


def removable() -> list[Path]:
    """The tracked files a device call need not carry."""
    needed = {path.resolve() for path in needed_weight_files()}
    weights = [path for path in tracked([PACKAGE_WEIGHTS]) if path.resolve() not in needed]
    return weights + tracked([ROOT / name for name in ONLY_FOR_CI])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--apply", action="store_true", help="remove them from the working tree and the index")
    action.add_argument("--restore", action="store_true", help="bring back what --apply removed")
    args = parser.parse_args()
    paths = [str(PACKAGE_WEIGHTS.relative_to(ROOT)), *ONLY_FOR_CI]
    if args.restore:
        subprocess.run(["git", "reset", "-q", "HEAD", "--", *paths], cwd=ROOT, check=True)
        subprocess.run(["git", "checkout", "--", *paths], cwd=ROOT, check=True)
        print("restored")
        return
    files = removable()
    print(f"{len(files)} files, {sum(p.stat().st_size for p in files) / 1e6:.1f} MB the GPU job does not read")
    if args.apply:
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", *paths], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout
        if changed:
            raise SystemExit(f"uncommitted changes under {', '.join(paths)}: commit them first\n{changed}")
        subprocess.run(["git", "rm", "-q", "--cached", "--", *map(str, files)], cwd=ROOT, check=True)
        for path in files:
            path.unlink()
        print("removed; python -m tools.gpu.slim --restore brings them back")


if __name__ == "__main__":
    main()
