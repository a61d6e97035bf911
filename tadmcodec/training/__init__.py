"""Training: data, losses, checkpoints and the stages (0: backbone, 1: DFRM, 2: LoRA+TPM, 3: joint)."""
