"""Image quality measures: PSNR, SSIM, detail ratio, grid and pattern measures, SSIMULACRA2, ST-LPIPS."""
