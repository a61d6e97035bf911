"""Images in and out: reading images for the encoder (PNG, JPEG, WebP, TIFF, ...), writing decodes (and
the pyramidal BigTIFF), rasters read in boxes, progress reporting."""
