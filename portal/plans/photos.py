"""Photos as phones take them (JPEG, HEIC, PNG, WebP; at most 25 MB), checked by content and
stored as a small fresh JPEG of the pixels alone: no EXIF (GPS, camera, time), XMP, ICC, IPTC
or comment survives."""

from __future__ import annotations

import io
import struct

import pillow_heif
from PIL import Image, ImageCms, UnidentifiedImageError

# HEIC/HEIF (the iPhone's default) through libheif. Only the primary picture is decoded: never an
# embedded thumbnail (it could show something else), depth map or auxiliary image.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)

MAX_BYTES = 25 * 1024 * 1024  # a 50 MP phone's JPEG at its best quality is about this
MAX_SIDE = 800  # the officer brief shows it at most 320 CSS px wide: enough for a 2x screen or print
MAX_STORED = 1_000_000  # bytes; re-encoded at a lower quality until it fits
QUALITIES = (85, 75, 65, 50)
# Pixels are counted on the header, before any is decoded: a small file can declare a huge
# picture (a 300 KB PNG of 8,890 x 8,890 pixels takes a gigabyte to decode). A JPEG is decoded
# already shrunk (Pillow's draft mode), so 100 MP is cheap. PNG and WebP are decoded whole, so
# they get less. HEIC is decoded whole too, but an iPhone's "HEIF Max" photo has 48 MP
# (8064 x 6048): it must pass, and it peaks at about 350 MB while decoding.
MAX_PIXELS = {
    "JPEG": 100_000_000,
    "MPO": 100_000_000,  # a JPEG with extra pictures (some phones' depth or portrait shots)
    "HEIF": 50_000_000,
    "PNG": 16_000_000,
    "WEBP": 16_000_000,
}
FORMATS = ("JPEG", "HEIF", "PNG", "WEBP")  # the only parsers a file reaches (JPEG's also opens MPO)
Image.MAX_IMAGE_PIXELS = MAX_PIXELS["JPEG"]  # Pillow's own check, as a second line

# EXIF orientation -> the turn that makes the picture upright (as PIL.ImageOps.exif_transpose).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
ORIENTATION = 0x0112
SRGB = ImageCms.createProfile("sRGB")

# What a malformed file can make Pillow or libheif raise while opening or decoding it.
UNREADABLE = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error)


class RefusedPhoto(ValueError):
    pass


def clean_photo(data: bytes) -> bytes:
    """A fresh JPEG of the picture alone: upright, at most MAX_SIDE px, at most MAX_STORED bytes."""
    if len(data) > MAX_BYTES:
        raise RefusedPhoto("too big")
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            if image.width * image.height > MAX_PIXELS[str(image.format)]:
                raise RefusedPhoto("too many pixels")
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a fraction of the size
            image.load()
            turn = UPRIGHT.get(_orientation(image))
            icc = image.info.get("icc_profile")
            picture = _plain(image)
            picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
            picture = _in_srgb(picture, icc)
            if turn is not None:
                picture = picture.transpose(turn)
            # Copying only the pixels into a new image leaves every metadata block behind;
            # transparent parts become white.
            clean = Image.new("RGB", picture.size, "white")
            clean.paste(picture, mask=picture.getchannel("A") if picture.mode == "RGBA" else None)
    except RefusedPhoto:
        raise
    except Image.DecompressionBombError as error:
        raise RefusedPhoto("too many pixels") from error
    except UNREADABLE as error:
        raise RefusedPhoto("not an image") from error
    return _small_jpeg(clean)


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation, 1 (as stored) when absent or unreadable. libheif has already
    turned a HEIC upright, and pillow_heif reports 1 for it."""
    try:
        value = image.getexif().get(ORIENTATION, 1)
    except UNREADABLE:
        return 1
    return value if isinstance(value, int) else 1


def _plain(image: Image.Image) -> Image.Image:
    """The pixels as RGB, or RGBA when the picture has transparency."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA", "RGBa") or "transparency" in image.info:
        return image.convert("RGBA")
    if image.mode in ("I;16", "I;16L", "I;16B", "I", "F"):  # 16-bit greyscale: scale to 8 bits
        return image.convert("I").point(lambda value: value / 256).convert("RGB")
    return image.convert("RGB")


def _in_srgb(picture: Image.Image, icc: object) -> Image.Image:
    """Colours as the camera meant them: a phone's wide-gamut (Display P3) pixels converted to
    sRGB, since the stored JPEG carries no profile. An unreadable profile is ignored."""
    if not isinstance(icc, bytes) or not icc:
        return picture
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(picture, profile, SRGB, outputMode=picture.mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return picture
    return converted if converted is not None else picture


def _small_jpeg(picture: Image.Image) -> bytes:
    while True:
        for quality in QUALITIES:
            out = io.BytesIO()
            picture.save(out, format="JPEG", quality=quality)
            if out.tell() <= MAX_STORED:
                return out.getvalue()
        picture = picture.reduce(2)  # never needed at MAX_SIDE; a last resort so this always ends
