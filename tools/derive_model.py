"""A model folder that differs from a released one only in its backbone, texture prior or configuration:
the same DFRM, TPM, scheduler and LoRA weights, another backbone (for example one with a retrained VAE
decoder), a texture prior (a saved tadmcodec.models.texture_prior.TexturePrior folder) and changed config
values. The result is a candidate for tools.release, which validates it.

    python -m tools.derive_model default-16x-r3 runs/default-16x-r4/model \\
        --backbone runs/tiny-r4-detail/export/tiny-backbone-r4 --set detail_strength=0.5
    python -m tools.derive_model default-16x-r10 runs/candidate --texture-prior runs/prior16/prior \\
        --set detail_strength=1
"""

from __future__ import annotations

import argparse
import inspect
import json
from pathlib import Path

from tadmcodec.models.tadm import TADMModel
from tadmcodec.runtime.model_loader import load_model_folder
from tadmcodec.store.folder import TEXTURE_PRIOR, WEIGHT_FILES, backbone_folder, write_backbone_reference
from tadmcodec.store.hashing import copy_weight_file, linked_file
from tadmcodec.store.registry import resolve_model


def derive(
    source: Path, output: Path, backbone: Path | None, values: dict[str, object], texture_prior: Path | None = None
) -> None:
    """Write output (a new folder) from source with another backbone, texture prior and config values, and
    check that it loads."""
    if output.exists():
        raise SystemExit(f"{output} exists")
    (output / TEXTURE_PRIOR).mkdir(parents=True)
    for name in WEIGHT_FILES:
        from_prior = texture_prior is not None and name.startswith(TEXTURE_PRIOR)
        origin = texture_prior / Path(name).name if from_prior else source / name
        if linked_file(origin).is_file():
            copy_weight_file(origin, output / name)
    if not any((output / TEXTURE_PRIOR).iterdir()):
        (output / TEXTURE_PRIOR).rmdir()
    config = json.loads((output / "config.json").read_text(encoding="utf-8"))
    known = set(inspect.signature(TADMModel.__init__).parameters) - {"self"}
    if set(values) - known:
        raise SystemExit(f"unknown config keys {sorted(set(values) - known)} (known: {sorted(known)})")
    (output / "config.json").write_text(json.dumps(config | values, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    write_backbone_reference(output, backbone or backbone_folder(source)[0])
    load_model_folder(output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a model name or folder")
    parser.add_argument("output", type=Path)
    parser.add_argument("--backbone", type=Path)
    parser.add_argument("--texture-prior", type=Path, help="a saved TexturePrior folder")
    parser.add_argument(
        "--set",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=JSON",
        help="config values: detail_strength=0.5 (repeatable)",
    )
    args = parser.parse_args()
    values = {key: json.loads(value) for key, value in (item.split("=", 1) for item in args.set)}
    derive(resolve_model(args.source, allow_path=True), args.output, args.backbone, values, args.texture_prior)
    print(args.output)


if __name__ == "__main__":
    main()
