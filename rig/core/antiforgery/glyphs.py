"""Text shapes for the marks, drawn with the IPAex Gothic font that scripts/setup.sh installs.

The word 「複写」 of the けん制文字 and the latent character of the emblem are rendered once
per process and cached; the marks never depend on fonts at verification time beyond this.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from rig.core.antiforgery.errors import AntiforgeryError

#: Debian package fonts-ipaexfont (in scripts/setup.sh).
FONT_PATHS = (
    Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"),
    Path("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf"),
)


@lru_cache(maxsize=1)
def font_path() -> Path:
    for path in FONT_PATHS:
        if path.is_file():
            return path
    raise AntiforgeryError(
        "IPAex Gothic font not found (Debian package fonts-ipaexfont; run scripts/setup.sh)"
    )


@lru_cache(maxsize=16)
def text_mask(text: str, size_px: int) -> NDArray[np.bool_]:
    """A tight boolean mask (True = ink) of `text` set at `size_px` pixels per em."""
    font = ImageFont.truetype(str(font_path()), size_px)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (int(right - left), int(bottom - top)), 0)
    ImageDraw.Draw(image).text((-left, -top), text, font=font, fill=255)
    mask = np.asarray(image) >= 128
    mask.setflags(write=False)
    return mask
