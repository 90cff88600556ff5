"""OCR: the one rapidocr engine each process loads, and reading the words in a picture.

This module owns the engine's creation and configuration (thread count, created once per
process on first use), `ocr_image`, the cutting of long thin pictures (receipts, whole-page
screenshots) into pieces rapidocr can take safely, putting the recognised boxes in reading
order, and turning any picture into the RGB-on-white that OCR (and a preview) needs.
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING

from PIL import Image

from .errors import TooLarge

if TYPE_CHECKING:
    from rapidocr import RapidOCR

DEFAULT_OCR_THREADS = 2
MIN_OCR_SIDE = 16  # a picture narrower than this holds no readable line of text
MAX_OCR_TALL = 3  # longest tall piece handed to rapidocr, as a multiple of its width
MAX_OCR_WIDE = 8  # ... and wide piece, as a multiple of its height,
MIN_OCR_WIDE_PIECE = 1600  # ... or this many pixels (rapidocr pads wide pieces to a safe shape itself)
MAX_OCR_PIECES = 40  # a picture needing more pieces than this is refused rather than read for minutes

_engine: RapidOCR | None = None
_engine_lock = threading.Lock()
_engine_threads = DEFAULT_OCR_THREADS


def configure_ocr(threads: int) -> None:
    """Set onnxruntime's thread count for this process's engine (from the caller's settings), before first use."""
    global _engine, _engine_threads
    if threads < 1:
        raise ValueError("OCR needs at least one thread")
    with _engine_lock:
        if threads != _engine_threads:
            _engine_threads = threads
            _engine = None


def ocr_engine() -> RapidOCR:
    """The process's one OCR engine, created on first use: loading the models costs about a second."""
    global _engine
    engine = _engine
    if engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = create_ocr_engine(_engine_threads)
            engine = _engine
    return engine


def create_ocr_engine(threads: int = DEFAULT_OCR_THREADS) -> RapidOCR:
    """A new rapidocr engine on the models inside its wheel (nothing is downloaded), tuned for upright scans."""
    from rapidocr import RapidOCR  # imports OpenCV and onnxruntime: only processes that OCR pay for them

    return RapidOCR(
        params={
            "Global.use_cls": False,  # the orientation classifier garbles upright lines more than it fixes
            "Global.log_level": "warning",
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )


def ocr_image(image: Image.Image) -> str:
    """The words in the picture, one text line per line, top to bottom and left to right."""
    engine = ocr_engine()
    boxes: list[list[tuple[float, float]]] = []
    texts: list[str] = []
    for (left, top), piece in _ocr_pieces(_to_rgb(image)):
        result = engine(piece)
        found_boxes, found_texts = getattr(result, "boxes", None), getattr(result, "txts", None)
        if found_boxes is None or not found_texts:
            continue
        for box, text in zip(found_boxes, found_texts, strict=True):
            boxes.append([(float(x) + left, float(y) + top) for x, y in box])
            texts.append(text)
    return "\n".join(_reading_order(boxes, texts))


def _ocr_pieces(image: Image.Image) -> list[tuple[tuple[int, int], Image.Image]]:
    """The image cut into pieces rapidocr can take, each with its offset in the whole.

    rapidocr scales the short side of what it gets up to 736 pixels (after squeezing the long side
    into 2,000 and stretching the short side to at least 30), so a long thin picture (a till
    receipt, a screenshot of a whole web page) became hundreds of megapixels: a 5 x 2,000 strip
    took the whole machine's memory. Tall pieces are kept within MAX_OCR_TALL times their width;
    wide ones within MAX_OCR_WIDE times their height or MIN_OCR_WIDE_PIECE pixels, which rapidocr
    pads to a safe shape itself. Cuts fall in the widest light gap near each boundary: between two
    lines of a receipt, or between two words of a line.
    """
    width, height = image.size
    short, long = min(width, height), max(width, height)
    if short < MIN_OCR_SIDE:
        return []
    tall = height > width
    limit = short * MAX_OCR_TALL if tall else max(short * MAX_OCR_WIDE, MIN_OCR_WIDE_PIECE)
    if long <= limit:
        return [((0, 0), image)]
    step = int(limit * 0.8)
    if long / step > MAX_OCR_PIECES:  # every piece but the last is at least 3/4 of a step: a cheap early refusal
        raise TooLarge(f"The picture is too long and narrow ({width:,} x {height:,} pixels) to be read with OCR.")
    # Mean brightness of each row (tall) or column (wide): text lowers it, the gaps between lines and words do not.
    profile = image.convert("L").resize((1, height) if tall else (width, 1), Image.Resampling.BOX)
    brightness = profile.tobytes()
    cuts = [0]
    while long - cuts[-1] > limit:
        end = cuts[-1] + step
        cuts.append(_widest_gap(brightness, end - step // 4, end))
    cuts.append(long)
    pieces = []
    for begin, end in itertools.pairwise(cuts):
        box = (0, begin, width, end) if tall else (begin, 0, end, height)
        pieces.append(((box[0], box[1]), image.crop(box)))
    return pieces


def _widest_gap(brightness: bytes, start: int, end: int) -> int:
    """The middle of the longest run of the lightest lines between start and end."""
    lightest = max(brightness[start:end])
    best_start = best_length = run_start = 0
    for position in range(start, end):
        if brightness[position] >= lightest - 1:
            if position == start or brightness[position - 1] < lightest - 1:
                run_start = position
            if position - run_start + 1 > best_length:
                best_start, best_length = run_start, position - run_start + 1
    return best_start + best_length // 2


def _reading_order(boxes, texts) -> list[str]:
    """Group text boxes into lines (vertical centre inside the line's band), then sort each line by x."""
    items = []
    for box, text in zip(boxes, texts, strict=True):
        ys = [float(point[1]) for point in box]
        xs = [float(point[0]) for point in box]
        items.append((min(ys), max(ys), min(xs), text))
    items.sort(key=lambda item: (item[0], item[2]))
    rows: list[tuple[float, float, list[tuple[float, str]]]] = []
    for top, bottom, left, text in items:
        centre = (top + bottom) / 2
        if rows and rows[-1][0] <= centre <= rows[-1][1]:
            rows[-1][2].append((left, text))
        else:
            rows.append((top, bottom, [(left, text)]))
    return [" ".join(text for _left, text in sorted(row)) for _top, _bottom, row in rows]


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB on white: transparent areas would otherwise turn black and hide black text."""
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode.startswith("I;16"):
        image = image.convert("I").point(lambda value: value / 256).convert("L")  # 16-bit scans: top 8 bits
    return image.convert("RGB")
