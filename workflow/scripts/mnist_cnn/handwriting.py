"""Your own digits in MNIST's layout: photos, scans and drawings converted as MNIST's digits were made.

MNIST's digits are ink, light on dark, cropped, scaled (antialiased) so that the longer side of
the ink is 20 pixels, and placed in a 28x28 frame with the ink's centre of mass at its centre.
"""

from pathlib import Path

import numpy as np
from numpy.polynomial import polynomial
from PIL import Image, ImageOps
from scipy import ndimage, stats
from skimage import measure
from skimage.filters import threshold_otsu
from skimage.morphology import remove_small_objects

from mnist_cnn import IMAGE_FORMATS, InputError

FRAME = 28  # MNIST's images: 28x28 pixels
BOX = 20  # the longer side of the ink in them
# The ink ends up 20 pixels long: more detail than this only costs time.
WORKING_SIZE = 400
# Ink and paper must differ by at least this share of black to white, or there is no ink.
MIN_CONTRAST = 0.15
# Ink blobs smaller than this share of the largest one are specks of dust or noise.
MIN_BLOB = 0.02
# The strokes' antialiased rims, beyond the threshold, are kept to this share of the ink's longer side.
RIM = 1 / 60


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


def local_median(grey: np.ndarray) -> np.ndarray:
    """The median grey level around each pixel, over half the picture: the paper wherever ink
    covers less than half of that (computed on a copy about 50 pixels across)."""
    shrink = max(1, int(np.ceil(max(grey.shape) / 50)))
    small = Image.fromarray(grey.astype(np.float32), mode="F").resize(
        (max(1, round(grey.shape[1] / shrink)), max(1, round(grey.shape[0] / shrink))), Image.Resampling.BOX
    )
    median = ndimage.median_filter(np.asarray(small), size=(max(small.size) // 2) | 1, mode="nearest")
    return np.asarray(Image.fromarray(median, mode="F").resize(grey.shape[::-1], Image.Resampling.BILINEAR))


def spread(values: np.ndarray) -> float:
    """The standard deviation of the bulk of the values, robust to outliers (the median absolute deviation)."""
    return float(stats.median_abs_deviation(values, axis=None, scale="normal"))


def ink_sign(residual: np.ndarray) -> int:
    """+1 if the ink is lighter than its paper, -1 if it is darker. ``residual``: the
    (lightly blurred) grey levels less the local median. The ink is what lies far from the paper:
    the side with more of it beyond half the largest difference (and beyond the paper's noise)
    wins, however thin, small or unevenly lit; shading and grain are far weaker than ink."""
    beyond = max(4 * spread(residual), np.abs(residual).max() / 2)
    lighter = np.clip(residual - beyond, 0, None).sum()
    darker = np.clip(-residual - beyond, 0, None).sum()
    return 1 if lighter > darker else -1


def paper_light(ink_up: np.ndarray, residual: np.ndarray) -> np.ndarray:
    """The paper's grey level, under the ink as well: a polynomial of degree 2 in x and in y (an
    even light, light from one side, vignetting) fitted to the pixels that are not ink, by least
    squares. ``ink_up``: the grey levels, ink lighter than paper.

    ``residual``, ink up, tells the first guess of the ink; each fit's own residuals tell the next.
    Fitted on a grid of about 30 pixels a side."""
    rows, cols = ink_up.shape
    step = max(1, max(rows, cols) // 30)
    ys, xs = np.arange(rows) / max(rows, cols), np.arange(cols) / max(rows, cols)
    y, x = np.meshgrid(ys[::step], xs[::step], indexing="ij")
    terms = polynomial.polyvander2d(y.ravel(), x.ravel(), [2, 2])
    values, off_paper = ink_up[::step, ::step].ravel(), residual[::step, ::step].ravel()
    for _ in range(3):
        paper = off_paper <= max(3 * spread(off_paper), 1e-3)  # 1e-3: paper without noise
        coefficients = np.linalg.lstsq(terms[paper], values[paper], rcond=None)[0]
        off_paper = values - terms @ coefficients
    return polynomial.polygrid2d(ys, xs, coefficients.reshape(3, 3))


def ink_above_paper(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ink's excess over its paper (light ink or dark, the paper 0 however lit), as is and
    lightly blurred (about a pixel at 300 pixels; none at 28)."""
    sigma = max(grey.shape) / 300
    smooth = ndimage.gaussian_filter(grey, sigma) if sigma >= 0.5 else grey
    residual = smooth - local_median(smooth)
    sign = ink_sign(residual)
    paper = paper_light(sign * smooth, sign * residual)
    return sign * grey - paper, sign * smooth - paper


def separate_ink(grey: np.ndarray, name: str) -> np.ndarray:
    """Ink 0..1 with the paper 0, as MNIST's: light on dark.

    The strokes: Otsu's threshold among the pixels near those that stand out of the paper's noise
    (the ink may be a small share of a page). Their antialiased rims, a little beyond the
    threshold, are kept, less the paper's noise; specks of dust or noise are dropped.
    """
    ink, smooth = ink_above_paper(grey)
    sure = smooth > max(5 * spread(smooth), MIN_CONTRAST / 2)
    if not sure.any():
        raise _no_ink(name, smooth.max())
    near = ndimage.binary_dilation(sure, iterations=max(1, round(max(grey.shape) / 50)))
    strokes = smooth > threshold_otsu(smooth[near])
    paper_level, ink_level = np.median(ink[~strokes]), np.median(ink[strokes])
    contrast = np.percentile(ink[strokes], 90) - paper_level  # thin strokes are fainter than their pen
    if contrast < MIN_CONTRAST:
        raise _no_ink(name, contrast)
    largest = np.bincount(measure.label(strokes, connectivity=2).ravel())[1:].max()
    strokes = remove_small_objects(strokes, max_size=int(np.ceil(MIN_BLOB * largest)) - 1, connectivity=2)
    rows, cols = np.nonzero(strokes)
    extent = max(rows.max() - rows.min(), cols.max() - cols.min()) + 1
    rims = ndimage.binary_dilation(strokes, iterations=max(1, round(RIM * extent)))
    paper_level += 3 * spread(ink[~strokes])  # the paper's noise is not ink
    return np.clip((ink - paper_level) / (ink_level - paper_level), 0, 1) * rims


def _no_ink(name: str, contrast: float) -> InputError:
    return InputError(
        f"{name}: expected a digit, ink darker or lighter than its paper, found no ink "
        f"(the image's grey levels differ from its paper by at most {round(255 * contrast)} of 255)"
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
    return centred_digit(separate_ink(grey_levels(image), name))


def convert_images(paths) -> np.ndarray:
    """Every image as a row of 784 pixels 0..255 (MNIST's layout), in the order given.

    Every file is checked before anything is returned: a bad one raises InputError naming it.
    """
    return np.stack([image_to_mnist(open_image(path), Path(path).name).ravel() for path in paths])
