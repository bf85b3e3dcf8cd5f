"""Opening photos safely: limits, decompression-bomb guard, HEIF, the clean working copy."""
