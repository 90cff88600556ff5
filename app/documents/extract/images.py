"""Images: opening them without decoding a bomb, OCR of every frame, and a preview.

This module owns opening PNG, JPEG, TIFF and WebP files with Pillow (refusing decompression
bombs before any decoding), decoding one frame within the pixel limit (JPEGs shrunk while
decoding, others skipped with a note), OCR of each frame of an image, and image thumbnails.
"""

from __future__ import annotations

import math
import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from .detect import IMAGE_MIMES, DetectedType
from .errors import CorruptFile, TooLarge
from .ocr import _to_rgb, ocr_image
from .result import Extraction, _page_limit_note


@contextmanager
def _open_image(path: Path, detected: DetectedType) -> Iterator[Image.Image]:
    """Pillow's lazy view of the image (header only), refusing decompression bombs before any decoding."""
    plugin = IMAGE_MIMES.get(detected.mime)
    with path.open("rb") as handle:
        try:
            # Pillow warns between its limit and twice it, and raises above; both mean "do not decode".
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(handle, formats=[plugin] if plugin else None)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise TooLarge(
                "The image claims to be so large (a possible 'decompression bomb') that it was not opened."
            ) from error
        except (UnidentifiedImageError, SyntaxError, ValueError) as error:
            raise CorruptFile("The image is damaged or in a format that cannot be read.") from error
        try:
            yield image
        finally:
            image.close()


def _bounded_frame(image: Image.Image, max_pixels: int, label: str, notes: list[str]) -> Image.Image | None:
    """The current frame decoded in RGB, shrunk while decoding if it is over max_pixels; None if it cannot be.

    Only JPEG can be decoded at a reduced size (1/2 to 1/8); any other format over the limit would
    have to be decoded in full first, so it is skipped with a note.
    """
    width, height = image.size
    if width * height > max_pixels:
        if image.format == "JPEG":
            # draft() picks a scale at least as large as asked; asking half the side keeps the result in bounds.
            factor = 2 * math.sqrt(width * height / max_pixels)
            image.draft("RGB", (max(1, int(width / factor)), max(1, int(height / factor))))
        if image.size[0] * image.size[1] > max_pixels:
            notes.append(
                f"{label} is {width:,} x {height:,} pixels, more than the limit of {max_pixels:,} "
                "(QM_MAX_PIXELS), so it was not read."
            )
            return None
        notes.append(
            f"{label} is {width:,} x {height:,} pixels, more than the limit of {max_pixels:,} (QM_MAX_PIXELS); "
            f"it was read at a reduced size of {image.size[0]:,} x {image.size[1]:,}."
        )
    try:
        image.load()
        upright = ImageOps.exif_transpose(image)  # phone photos store rotation in EXIF
    except (SyntaxError, ValueError, struct.error, zlib.error) as error:
        raise CorruptFile("The image is damaged, so its text cannot be read.") from error
    return _to_rgb(upright)


def _extract_image(path: Path, detected: DetectedType, *, max_pages: int, max_pixels: int, ocr: bool) -> Extraction:
    """OCR every frame (a multi-page TIFF has several) up to max_pages."""
    notes: list[str] = []
    texts: list[str] = []
    processed = ocr_pages = 0
    refusals: list[TooLarge] = []
    with _open_image(path, detected) as image:
        frames = getattr(image, "n_frames", 1)
        limit = min(frames, max_pages)
        for index in range(limit):
            try:
                image.seek(index)
            except EOFError as error:
                raise CorruptFile("The image file ends early; it is damaged or incomplete.") from error
            label = f"Page {index + 1} of the image" if frames > 1 else "The image"
            frame = _bounded_frame(image, max_pixels, label, notes)
            if frame is None:
                refusals.append(TooLarge(f"{label} is larger than the limit of {max_pixels:,} pixels (QM_MAX_PIXELS)."))
                continue
            if ocr:
                try:
                    texts.append(ocr_image(frame))
                except TooLarge as error:
                    refusals.append(error)
                    notes.append(f"{label} was not read: {error}")
                    continue
                ocr_pages += 1
            processed += 1
    if processed == 0 and refusals:
        raise refusals[0]
    if not ocr:
        notes.append("OCR was off, so the text in the image was not read.")
    if frames > max_pages:
        notes.append(_page_limit_note(frames, max_pages, "pages of the image"))
    return Extraction(
        text="\n\n".join(text.strip() for text in texts),
        kind="image",
        mime=detected.mime,
        pages=frames,
        pages_processed=processed,
        ocr_pages=ocr_pages,
        notes=notes,
    )


def _image_thumbnail(path: Path, detected: DetectedType, size: int, max_pixels: int) -> Image.Image:
    notes: list[str] = []
    with _open_image(path, detected) as image:
        if image.format == "JPEG":
            image.draft("RGB", (size, size))  # decode at 1/2 to 1/8 scale: a thumbnail needs no more
        frame = _bounded_frame(image, max_pixels, "The image", notes)
        if frame is None:
            raise TooLarge(f"The image is larger than the limit of {max_pixels:,} pixels, so no preview was drawn.")
        frame.thumbnail((size, size))
        return frame
