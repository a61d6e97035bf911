"""The null-prompt embedding of a text-conditioned U-Net, computed once from the backbone's CLIP text
encoder and cached with the TADM weights, so that decoding never loads the text encoder."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import CLIPTextModel, CLIPTokenizer

from ..errors import MissingWeightsError


@torch.no_grad()
def null_prompt_embedding(folder: str | Path) -> torch.Tensor:
    """(1, tokens, dim) hidden states of the empty prompt, as SD's unconditional branch uses."""
    folder = Path(folder)
    for part in ("tokenizer", "text_encoder"):
        if not (folder / part).is_dir():
            raise MissingWeightsError(f"backbone folder {folder} lacks {part}/, needed once for the null embedding")
    tokenizer = CLIPTokenizer.from_pretrained(folder, subfolder="tokenizer", local_files_only=True)
    encoder = CLIPTextModel.from_pretrained(
        folder, subfolder="text_encoder", local_files_only=True, use_safetensors=True
    )
    ids = tokenizer([""], padding="max_length", max_length=tokenizer.model_max_length, return_tensors="pt").input_ids
    return encoder.eval()(ids)[0].float()
