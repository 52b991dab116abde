"""Photos: JPEG or PNG only, at most 5 MB, checked by content, re-encoded without metadata."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 5 * 1024 * 1024
MAX_SIDE = 1200  # enough to recognise a face on a console screen or a printout
# Pixels are counted on the header, before any is decoded: a small file can declare a
# huge picture (a 300 KB PNG of 8,890 x 8,890 pixels takes a gigabyte to decode). A JPEG
# is decoded already shrunk (Pillow's draft mode), so a phone camera's 48 MP is fine; a
# PNG is decoded whole, so it gets less.
MAX_JPEG_PIXELS = 100_000_000
MAX_PNG_PIXELS = 16_000_000
Image.MAX_IMAGE_PIXELS = MAX_JPEG_PIXELS  # Pillow's own check, as a second line


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
            most = MAX_JPEG_PIXELS if image.format == "JPEG" else MAX_PNG_PIXELS
            if image.width * image.height > most:
                raise RefusedPhoto("too many pixels")
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a fraction of the size
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
