"""Your own digits in MNIST's layout: photos, scans and drawings converted as MNIST's digits were made.

MNIST's digits are ink, light on dark, cropped, scaled (antialiased) so that the longer side of
the ink is 20 pixels, and placed in a 28x28 frame with the ink's centre of mass at its centre.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from scipy import ndimage
from skimage.filters import threshold_otsu

from mnist_cnn import IMAGE_FORMATS, InputError

FRAME = 28  # MNIST's images: 28x28 pixels
BOX = 20  # the longer side of the ink in them
# The ink ends up 20 pixels long: more detail than this only costs time.
WORKING_SIZE = 400
# Ink and paper must differ by at least this share of black to white, or there is no ink.
MIN_CONTRAST = 0.15
# Ink blobs smaller than this share of the largest one are specks of dust or noise.
MIN_BLOB = 0.02


def open_image(path) -> Image.Image:
    """The image as its viewer shows it: the first frame, turned as its EXIF says (photos)."""
    path = Path(path)
    try:
        with Image.open(path) as image:
            upright = ImageOps.exif_transpose(image)
            upright.load()
            return upright
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise InputError(
            f"{path.name}: expected an image ({IMAGE_FORMATS}), found a file Pillow cannot read ({error})"
        ) from None


def grey_levels(image: Image.Image) -> np.ndarray:
    """Brightness 0 (black) .. 1 (white), at most WORKING_SIZE pixels on the longer side.

    Transparent parts (a drawing from a paint program) become paper: white behind dark ink,
    black behind light ink.
    """
    if image.mode.startswith("I") or image.mode == "F":  # 16- and 32-bit greys
        values = np.asarray(image, dtype=np.float32)
        image = Image.fromarray((255 * values / max(values.max(), 1)).astype(np.uint8))
    rgba = image.convert("RGBA")
    rgba.thumbnail((WORKING_SIZE, WORKING_SIZE), Image.Resampling.LANCZOS)
    grey = np.asarray(rgba.convert("L"), dtype=np.float32) / 255
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255
    if alpha.min() == 1:
        return grey
    if alpha.max() == 0:
        return np.zeros_like(grey)  # wholly transparent: no ink
    paper = 1.0 if np.average(grey, weights=alpha) < 0.5 else 0.0
    return alpha * grey + (1 - alpha) * paper


def ink_light_on_dark(grey: np.ndarray) -> np.ndarray:
    """The image inverted where its border, the paper, is lighter than the middle of its range."""
    ring = max(1, min(grey.shape) // 50)
    border = np.concatenate(
        [grey[:ring].ravel(), grey[-ring:].ravel(), grey[:, :ring].ravel(), grey[:, -ring:].ravel()]
    )
    darkest, lightest = np.percentile(grey, [1, 99])
    return 1 - grey if np.median(border) > (darkest + lightest) / 2 else grey


def separate_ink(ink: np.ndarray, name: str) -> np.ndarray:
    """Ink 0..1 with the paper 0: Otsu's threshold after a light blur finds the strokes.

    The strokes' antialiased rims, a little beyond the threshold, are kept; dust and noise
    specks are dropped. Uneven paper and shadows lighter than the threshold vanish.
    """
    sigma = max(ink.shape) / 300  # about a pixel at 300 pixels; none at 28
    smooth = ndimage.gaussian_filter(ink, sigma) if sigma >= 0.5 else ink
    if smooth.max() - smooth.min() < MIN_CONTRAST:
        raise _no_ink(name, smooth.max() - smooth.min())
    strokes = smooth > threshold_otsu(smooth)
    paper_level, ink_level = np.median(ink[~strokes]), np.median(ink[strokes])
    if ink_level - paper_level < MIN_CONTRAST:
        raise _no_ink(name, ink_level - paper_level)
    blobs, n = ndimage.label(strokes, structure=np.ones((3, 3)))
    sizes = ndimage.sum_labels(strokes, blobs, index=np.arange(1, n + 1))
    strokes = np.isin(blobs, 1 + np.flatnonzero(sizes >= MIN_BLOB * sizes.max()))
    rims = ndimage.binary_dilation(strokes, iterations=max(1, round(max(ink.shape) / 100)))
    return np.clip((ink - paper_level) / (ink_level - paper_level), 0, 1) * rims


def _no_ink(name: str, contrast: float) -> InputError:
    return InputError(
        f"{name}: expected a digit, ink darker or lighter than its paper, found no ink "
        f"(the image's grey levels differ by at most {round(255 * contrast)} of 255)"
    )


def centred_digit(ink: np.ndarray) -> np.ndarray:
    """The ink cropped, its longer side scaled to 20 pixels (antialiased), in a 28x28 frame with
    its centre of mass at the centre (as far as the frame holds all of it)."""
    rows, cols = np.nonzero(ink)
    ink = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    scale = BOX / max(ink.shape)
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
    scaled = Image.fromarray(ink.astype(np.float32), mode="F").resize(size, Image.Resampling.LANCZOS)
    digit = np.clip(np.asarray(scaled), 0, 1)
    centre_row, centre_col = ndimage.center_of_mass(digit)
    top = int(np.clip(round(FRAME / 2 - centre_row), 0, FRAME - digit.shape[0]))
    left = int(np.clip(round(FRAME / 2 - centre_col), 0, FRAME - digit.shape[1]))
    frame = np.zeros((FRAME, FRAME), dtype=np.float32)
    frame[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    return np.round(255 * frame).astype(np.uint8)


def image_to_mnist(image: Image.Image, name: str) -> np.ndarray:
    """One image as MNIST's 28x28 uint8 digit, ink light on dark."""
    return centred_digit(separate_ink(ink_light_on_dark(grey_levels(image)), name))


def convert_images(paths) -> np.ndarray:
    """Every image as a row of 784 pixels 0..255 (MNIST's layout), in the order given.

    Every file is checked before anything is returned: a bad one raises InputError naming it.
    """
    return np.stack([image_to_mnist(open_image(path), Path(path).name).ravel() for path in paths])
