"""Photos: JPEG or PNG only, at most 5 MB, checked by content, re-encoded without metadata."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 1200  # enough to recognise a face on a console screen or a printout
Image.MAX_IMAGE_PIXELS = 40_000_000  # refuse decompression bombs


class RefusedPhoto(ValueError):
    pass


def clean_photo(data: bytes) -> bytes:
    """A fresh JPEG of the picture alone: no EXIF (GPS, camera), no other metadata."""
    if len(data) > MAX_BYTES:
        raise RefusedPhoto("too big")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("JPEG", "PNG"):
                raise RefusedPhoto("not a JPEG or PNG")
            image.load()
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((MAX_SIDE, MAX_SIDE))
            # Copying only the pixels into a new image leaves every metadata block behind.
            clean = Image.new("RGB", upright.size, "white")
            clean.paste(upright.convert("RGBA"), mask=upright.convert("RGBA").getchannel("A"))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise RefusedPhoto("not an image") from error
    out = io.BytesIO()
    clean.save(out, format="JPEG", quality=85)
    return out.getvalue()
