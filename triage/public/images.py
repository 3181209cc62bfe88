"""Photos and screenshots from the public form lose their metadata (EXIF with its GPS location,
the camera and the time; XMP; comments) before they are sealed: they are decoded with Pillow and
encoded again from their pixels alone. A PDF or an image Pillow cannot read is refused."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import N_, InvalidInput
from ..intake.attachments import Upload

#: What the public form accepts: images only (a PDF can carry too much that cannot be cleaned).
FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}
#: Decompression-bomb guard: the most pixels a photo may have (a 50-megapixel camera's).
MAX_PIXELS = 50_000_000


def clean(upload: Upload, *, field: str = "photos") -> Upload:
    """The same picture with no metadata, in the same format (orientation applied first, since
    dropping EXIF drops the orientation tag too)."""
    try:
        with Image.open(io.BytesIO(upload.data)) as image:
            kind = image.format or ""
            if kind not in FORMATS:
                raise InvalidInput(
                    N_("only PNG, JPEG, WebP or GIF images are accepted"), field=field
                )
            if image.width * image.height > MAX_PIXELS:
                raise InvalidInput(N_("the picture has too many pixels"), field=field)
            image.load()
            upright = ImageOps.exif_transpose(image) if kind != "GIF" else image
            pixels = upright.copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise InvalidInput(
            N_("only PNG, JPEG, WebP or GIF images are accepted"), field=field
        ) from None
    pixels.info = {}
    out = io.BytesIO()
    if kind == "JPEG":
        if pixels.mode not in ("RGB", "L"):
            pixels = pixels.convert("RGB")
        pixels.save(out, "JPEG", quality=90)
    elif kind == "GIF":
        pixels.save(out, "GIF")
    else:
        pixels.save(out, kind)
    name = f"photo.{FORMATS[kind]}"
    return Upload(name, out.getvalue())
