"""A first-page preview for files that are only text (plain text, Word): the opening lines drawn on a page.

PDFs and images show themselves; a text file had "No preview" until now, which made a list of uploads
hard to scan by eye. The page has A4's proportions, so text and PDF previews line up in a grid. The
font is Pillow's own (bundled, scalable), so the preview looks the same on every machine.
"""

from __future__ import annotations

import textwrap

from PIL import Image, ImageDraw, ImageFont

A4_RATIO = 297 / 210
MARGIN = 0.06  # of the page width
LINE_HEIGHT = 1.35  # times the font size


def text_page(text: str, size: int = 320) -> Image.Image | None:
    """The first lines of `text` on a white page `size` pixels high at most; None when there is nothing to draw."""
    lines = [line.rstrip() for line in text.replace("\t", "    ").splitlines()]
    while lines and not lines[0].strip():
        lines.pop(0)
    if not any(line.strip() for line in lines):
        return None
    height = size
    width = round(height / A4_RATIO)
    margin = max(4, round(width * MARGIN))
    font_size = max(6, round(height / 48))
    font = ImageFont.load_default(size=font_size)
    columns = max(10, int((width - 2 * margin) / (font_size * 0.55)))
    step = round(font_size * LINE_HEIGHT)
    rows = (height - 2 * margin) // step
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    y = margin
    drawn = 0
    for line in lines:
        for piece in textwrap.wrap(line, columns, drop_whitespace=False, replace_whitespace=False) or [""]:
            if drawn == rows:
                return page
            draw.text((margin, y), piece, font=font, fill=40)
            y += step
            drawn += 1
    return page
