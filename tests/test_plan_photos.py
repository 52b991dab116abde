"""Crisis-plan photos: whatever a phone produces goes in; a small upright JPEG of the pixels alone
comes out, with nothing that tells where, when or with what it was taken."""

from __future__ import annotations

import io
import random
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageCms

from portal.plans.photos import RefusedPhoto, clean_photo
from tests.conftest import IN_CI

MB = 1024 * 1024
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="SecretCam"/>'
    b"</rdf:RDF></x:xmpmeta>"
)
# Markers a JPEG needs for its pixels: JFIF header, tables, frame, scan, restart interval.
PIXEL_MARKERS = {0xE0, 0xDB, 0xC0, 0xC1, 0xC2, 0xC4, 0xDD, 0xDA}


def camera_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x0110] = "Phone 15 Pro"  # Model
    exif.get_ifd(0x8769)[0x9003] = "2024:05:01 07:30:00"  # DateTimeOriginal
    gps = exif.get_ifd(0x8825)  # GPSInfo: where the person lives
    gps.update({1: "N", 2: (38.0, 37.0, 12.5), 3: "W", 4: (90.0, 11.0, 52.3)})
    if orientation is not None:
        exif[0x0112] = orientation
    return exif


def with_iptc(jpeg: bytes) -> bytes:
    """An APP13 (Photoshop IPTC) block with a caption, which Pillow cannot write, after SOI."""
    caption = b"Sam at home, 12 Elm St"
    iptc = b"\x1c\x02\x78" + struct.pack(">H", len(caption)) + caption
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iptc)) + iptc
    body = b"Photoshop 3.0\x00" + resource
    return jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


def jpeg_markers(data: bytes) -> set[int]:
    """The segment markers of a JPEG up to its first scan."""
    assert data[:2] == b"\xff\xd8"
    markers, at = set(), 2
    while True:
        marker = data[at + 1]
        markers.add(marker)
        if marker == 0xDA:
            return markers
        at += 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]


def noise(size: tuple[int, int], seed: int = 1) -> Image.Image:
    return Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))


def test_the_stored_photo_keeps_no_metadata_at_all() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    noise((640, 480)).save(
        out, format="JPEG", exif=camera_exif(), xmp=XMP, icc_profile=srgb, comment=b"taken at 12 Elm St"
    )
    upload = with_iptc(out.getvalue())
    with Image.open(io.BytesIO(upload)) as original:  # the test photo really carries all of it
        assert original.getexif().get_ifd(0x8825)[2] == (38.0, 37.0, 12.5)
        assert {"exif", "xmp", "icc_profile", "comment", "photoshop"} <= set(original.info)

    stored = clean_photo(upload)

    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert image.size == (640, 480)
        assert not image.getexif()
        assert not {"exif", "xmp", "icc_profile", "comment", "photoshop", "adobe"} & set(image.info)
    for trace in (
        b"Exif\x00\x00",
        b"http://ns.adobe.com/xap",
        b"GPS",
        b"CameraMaker",
        b"Phone 15",
        b"2024:05",
    ):
        assert trace not in stored, trace
    for trace in (b"Elm St", b"SecretCam", b"Photoshop", b"8BIM", b"ICC_PROFILE"):
        assert trace not in stored, trace
    assert jpeg_markers(stored) <= PIXEL_MARKERS  # no APP1 (EXIF, XMP), APP2 (ICC), APP13 (IPTC), COM


def test_a_20_mb_camera_photo_is_stored_under_1_mb_and_800_px() -> None:
    out = io.BytesIO()
    noise((6000, 4000)).save(out, format="JPEG", quality=90)  # a 24 MP camera, the worst case: all detail
    upload = out.getvalue()
    assert 20_000_000 <= len(upload) <= 25 * MB

    started = time.perf_counter()
    stored = clean_photo(upload)
    seconds = time.perf_counter() - started

    assert len(stored) <= 1_000_000
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert image.size == (800, 533)  # the long side at 800 px, the shape kept
    assert seconds < 10  # decoded already shrunk: a fraction of a second on a laptop


def test_a_100_mp_jpeg_is_decoded_already_shrunk(tmp_path: Path) -> None:
    out = io.BytesIO()
    Image.new("L", (10_000, 10_000), 128).save(out, format="JPEG")  # a small file of a 100 MP picture
    (tmp_path / "big.jpg").write_bytes(out.getvalue())
    measure = (
        "import resource, sys\n"
        "from portal.plans.photos import clean_photo\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "stored = clean_photo(data)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before, len(stored))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", measure, str(tmp_path / "big.jpg")],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    grown_kb, stored_bytes = map(int, result.stdout.split())
    assert 0 < stored_bytes <= 1_000_000
    assert grown_kb < 100 * 1024  # decoded whole, it would take 100 MB, and 400 MB in colour


def test_even_the_most_detailed_picture_is_stored_under_1_mb() -> None:
    out = io.BytesIO()
    noise((800, 800)).save(out, format="PNG")  # every pixel different, already at the stored size
    assert len(out.getvalue()) > 1_000_000

    stored = clean_photo(out.getvalue())

    assert len(stored) <= 1_000_000
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (800, 800)


def test_a_photo_taken_with_the_phone_turned_comes_out_upright() -> None:
    # The camera stores the sensor's landscape pixels and says "turn 90° clockwise to view" (6).
    sensor = Image.new("RGB", (1200, 900), "blue")
    sensor.paste("red", (0, 0, 600, 900))  # left half red: the top once turned
    out = io.BytesIO()
    sensor.save(out, format="JPEG", exif=camera_exif(orientation=6))

    with Image.open(io.BytesIO(clean_photo(out.getvalue()))) as image:
        assert image.size == (600, 800)  # portrait, 800 px tall
        red, blue = image.getpixel((300, 100)), image.getpixel((300, 700))
    assert isinstance(red, tuple) and red[0] > 200 and red[2] < 60
    assert isinstance(blue, tuple) and blue[2] > 200 and blue[0] < 60


def heic_encoder() -> None:
    import pillow_heif

    if not pillow_heif.libheif_info().get("HEIF"):
        if IN_CI:
            pytest.fail("libheif here cannot encode HEIC: CI must run the HEIC tests")
        pytest.skip("libheif here has no HEIC encoder to build a test photo with")


def test_an_iphone_heic_is_accepted_and_stripped() -> None:
    heic_encoder()
    out = io.BytesIO()
    Image.new("RGB", (1024, 768), "teal").save(out, format="HEIF", exif=camera_exif(), quality=80)
    upload = out.getvalue()
    assert upload[4:12] == b"ftypheic"
    with Image.open(io.BytesIO(upload)) as original:  # the test photo really says where it was taken
        assert original.format == "HEIF" and original.getexif().get_ifd(0x8825)[1] == "N"

    stored = clean_photo(upload)

    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert image.size == (800, 600)
        assert not image.getexif()
        middle = image.getpixel((400, 300))
    assert isinstance(middle, tuple) and middle[0] < 40 and 100 < middle[1] < 160 and 100 < middle[2] < 160
    assert b"GPS" not in stored and b"CameraMaker" not in stored


def test_a_small_heic_declaring_a_huge_picture_is_refused_before_decoding() -> None:
    heic_encoder()
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(out, format="HEIF")
    small = out.getvalue()
    size_box = small.index(b"ispe") + 8  # after the box type, version and flags: width, height
    for width, height in ((10_000, 8_000), (20_000, 20_000)):  # 80 and 400 MP: no phone takes these
        bomb = small[:size_box] + struct.pack(">II", width, height) + small[size_box + 8 :]
        with pytest.raises(RefusedPhoto, match="too many pixels"):
            clean_photo(bomb)


@pytest.mark.parametrize("kind", ["PNG with transparency", "WebP", "MPO"])
def test_other_pictures_a_phone_makes_are_accepted(kind: str) -> None:
    picture = Image.new("RGBA", (1600, 1000), (0, 128, 128, 255))
    out = io.BytesIO()
    if kind == "PNG with transparency":
        picture.paste((0, 0, 0, 0), (0, 0, 800, 1000))  # a cut-out: the left half see-through
        picture.save(out, format="PNG")
    elif kind == "WebP":
        picture.save(out, format="WEBP", exif=camera_exif())
    else:  # a JPEG with a second picture (depth, portrait): Pillow calls it MPO
        rgb = picture.convert("RGB")
        rgb.save(out, format="MPO", save_all=True, append_images=[rgb], exif=camera_exif())

    upload = out.getvalue()
    if kind != "PNG with transparency":
        assert b"CameraMaker" in upload

    stored = clean_photo(upload)

    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and image.size == (800, 500)
        assert not image.getexif()
        if kind == "PNG with transparency":
            assert image.getpixel((100, 250)) == (255, 255, 255)  # see-through became white
    assert b"CameraMaker" not in stored and b"GPS" not in stored


def test_a_25_mb_photo_is_accepted_and_one_byte_more_is_refused() -> None:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), "teal").save(out, format="JPEG")
    photo = out.getvalue()
    exactly = photo + b"\x00" * (25 * MB - len(photo))  # a viewer ignores what follows the picture
    assert len(exactly) == 25 * MB

    with Image.open(io.BytesIO(clean_photo(exactly))) as image:
        assert image.size == (640, 480)
    with pytest.raises(RefusedPhoto, match="too big"):
        clean_photo(exactly + b"\x00")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"Notes for the CIT officer.\nNot a photo at all.\n", id="text named photo.jpg"),
        pytest.param(b"%PDF-1.4 not a photo", id="PDF"),
        pytest.param(b"\xff\xd8\xff\xe0" + b"\x00" * 100, id="a JPEG's first bytes only"),
    ],
)
def test_a_file_that_is_not_a_photo_is_refused(data: bytes) -> None:
    with pytest.raises(RefusedPhoto, match="not an image"):
        clean_photo(data)


def test_a_gif_is_refused() -> None:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(out, format="GIF")
    with pytest.raises(RefusedPhoto):
        clean_photo(out.getvalue())
