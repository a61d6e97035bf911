"""`tadmcodec train CONFIG.json`: run one training stage, resuming from its checkpoint."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parsers(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("train", help="run a training stage from a JSON config (resumes)")
    parser.add_argument("config", type=Path)
    parser.add_argument("--minutes", type=float, help="stop with a checkpoint after this many minutes")
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="folder of run logs and checkpoints")
    parser.set_defaults(run=_train)


def _train(args: argparse.Namespace) -> int:
    from ..errors import TadmError
    from ..runtime.extras import require_torch

    try:
        require_torch("training")
    except TadmError as err:
        print(f"tadmcodec train: {err}", file=sys.stderr)
        return 2
    try:
        config = json.loads(args.config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        print(f"tadmcodec train: {args.config}: {err}", file=sys.stderr)
        return 2
    from ..training.train import train

    try:
        metrics = train(config, args.runs, args.minutes)
    except TadmError as err:
        print(f"tadmcodec train: {args.config}: {err}", file=sys.stderr)
        return 2
    print(json.dumps(metrics))
    return 0
