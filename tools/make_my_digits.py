"""Write resources/my_digits/images/: digits that are not MNIST's, as people photograph, scan and draw them.

    python tools/make_my_digits.py [FOLDER]

Each digit is typeset in one of the fonts that matplotlib ships (DejaVu, Computer Modern, STIX),
then distorted: a stroke width, a slant or a rotation, and then made into the kind of file a
person makes: a photo (light paper with a gradient and grain, dark blue-black ink, JPEG), a scan
(PNG, WebP, GIF), or a drawing from a paint program (black strokes on a transparent background).
Seeded: the same files every time.
"""

import argparse
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

REPO = Path(__file__).resolve().parents[1]
FONTS = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
# name: digit, font, stroke width, rotation (degrees), kind of file
DIGITS = {
    "0_photo.jpg": (0, "DejaVuSans.ttf", 2, -6, "photo"),
    "1_photo.jpg": (1, "DejaVuSerif.ttf", 0, 8, "photo"),
    "2_scan.png": (2, "DejaVuSans-Bold.ttf", 0, 3, "scan"),
    "3_photo.jpg": (3, "DejaVuSerif-Italic.ttf", 3, 0, "photo"),
    "4_drawing.png": (4, "DejaVuSans.ttf", 6, -4, "drawing"),
    "5_scan.webp": (5, "DejaVuSansMono.ttf", 2, 5, "scan"),
    "6_photo.jpg": (6, "cmr10.ttf", 3, 10, "photo"),
    "7_photo.jpg": (7, "DejaVuSans-Oblique.ttf", 3, -3, "photo"),
    "8_scan.gif": (8, "STIXGeneralItalic.ttf", 2, 0, "scan"),
    "9_photo.jpg": (9, "DejaVuSerif-Bold.ttf", 0, -8, "photo"),
    "2b_photo.jpg": (2, "cmss10.ttf", 4, 12, "photo"),
    "7b_drawing.png": (7, "DejaVuSansMono-Bold.ttf", 4, 6, "drawing"),
}


def typeset(digit: int, font: str, stroke: int, rotation: float, size=(150, 190)) -> np.ndarray:
    """The digit's ink, 0 (none) .. 1, centred on a canvas of ``size``, rotated."""
    canvas = Image.new("L", size, 0)
    draw = ImageDraw.Draw(canvas)
    draw.text(
        (size[0] / 2, size[1] / 2), str(digit), fill=255, anchor="mm",
        font=ImageFont.truetype(FONTS / font, 130), stroke_width=stroke, stroke_fill=255,
    )  # fmt: skip
    canvas = canvas.rotate(rotation, resample=Image.Resampling.BICUBIC)
    return np.asarray(canvas, dtype=np.float64) / 255


def photo(ink: np.ndarray, rng) -> Image.Image:
    """Light paper, lit unevenly from one side, with grain; blue-black ink; a little blur."""
    rows, cols = ink.shape
    light = 0.75 + 0.2 * np.linspace(0, 1, cols)[None, :] * np.linspace(1, 0.7, rows)[:, None]
    paper = light + rng.normal(0, 0.025, ink.shape)
    colour = np.array([0.15, 0.17, 0.3])  # blue-black ink
    rgb = paper[..., None] * (1 - ink[..., None]) + colour * ink[..., None]
    image = Image.fromarray((255 * rgb.clip(0, 1)).astype(np.uint8), "RGB")
    return image.filter(ImageFilter.GaussianBlur(0.8))


def scan(ink: np.ndarray, rng) -> Image.Image:
    """Black on white, greys only, a few specks of dust."""
    grey = 1 - ink
    specks = rng.random(ink.shape) < 0.0005
    return Image.fromarray((255 * np.where(specks, 0.3, grey)).astype(np.uint8), "L")


def drawing(ink: np.ndarray, rng) -> Image.Image:
    """Black strokes on a transparent background, as a paint program saves them."""
    image = Image.new("RGBA", (ink.shape[1], ink.shape[0]), (0, 0, 0, 0))
    image.putalpha(Image.fromarray((255 * ink).astype(np.uint8)))
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=REPO / "resources" / "my_digits" / "images")
    folder = parser.parse_args().folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(12)
    make = {"photo": photo, "scan": scan, "drawing": drawing}
    for name, (digit, font, stroke, rotation, kind) in DIGITS.items():
        image = make[kind](typeset(digit, font, stroke, rotation), rng)
        options = {".jpg": {"quality": 80}, ".webp": {"quality": 80}, ".png": {"optimize": True}}
        image.save(folder / name, **options.get(Path(name).suffix, {}))
        print(folder / name, (folder / name).stat().st_size, "bytes")


if __name__ == "__main__":
    main()
