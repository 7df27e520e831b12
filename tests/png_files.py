"""The tests' check of a PNG: Pillow verifies it (every chunk's CRC, up to IEND) and gives its size."""

from PIL import Image


def png_size(path) -> tuple[int, int]:
    """(width, height) of the PNG at ``path``, once Pillow has verified the file."""
    with Image.open(path) as image:
        assert image.format == "PNG", f"{path}: expected a PNG, found {image.format}"
        image.verify()
        return image.size
