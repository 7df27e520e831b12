"""Your own digits: real MNIST test digits written out as the images people make, converted back."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image
from png_files import png_size

from mnist_cnn import InputError, image_files
from mnist_cnn.data import read_split
from mnist_cnn.figures import plot_applied_digits
from mnist_cnn.handwriting import convert_images, image_to_mnist, open_image
from mnist_cnn.model_builder import builder_config
from mnist_cnn.model_config import build_model
from mnist_cnn.prediction import class_probabilities
from mnist_cnn.training import train

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())
SAMPLE = REPO / "resources" / "mnist_sample"
PER_CLASS = 30  # test digits of each class written out as images


@pytest.fixture(scope="module")
def test_digits():
    """The first 30 test digits of each class in the sample (300 in all) and their labels."""
    images, labels = read_split(SAMPLE / "X_test.tsv.gz", SAMPLE / "y_test.tsv.gz", 784, 10)
    rows = np.concatenate([np.flatnonzero(labels == c)[:PER_CLASS] for c in range(10)])
    return images[rows], labels[rows]


@pytest.fixture(scope="module")
def model():
    """The tutorial's CNN trained on the sample's 3,000 training digits (config/sample.yaml's fit)."""
    images, labels = read_split(SAMPLE / "X_train.tsv.gz", SAMPLE / "y_train.tsv.gz", 784, 10)
    model_json = build_model(CONFIG["model"]["input_shape"], CONFIG["model"]["layers"]).to_json()
    fit = {**CONFIG["fit"], "epochs": 10, "batch_size": 100}
    builder = json.loads(json.dumps(builder_config(CONFIG["compile"], fit, 0)))
    return train(model_json, builder, images, labels, CONFIG["holdout"], 10)[0]


def on_paper(digit: np.ndarray, layout: str) -> Image.Image:
    """An MNIST digit as black ink on white paper: 280x280, or 160x160 off centre on a 400x240 sheet."""
    ink = Image.fromarray(digit.reshape(28, 28))
    if layout == "square":
        return Image.fromarray(255 - np.asarray(ink.resize((280, 280), Image.Resampling.BICUBIC)))
    sheet = Image.new("L", (400, 240), 255)
    sheet.paste(Image.fromarray(255 - np.asarray(ink.resize((160, 160), Image.Resampling.BICUBIC))), (30, 50))
    return sheet


def save_as(paper: Image.Image, path: Path, kind: str) -> Path:
    if kind == "png":
        paper.save(path.with_suffix(".png"))
    elif kind == "jpeg":
        paper.save(path.with_suffix(".jpg"), quality=75)
    else:  # a drawing in a paint program: black strokes on a transparent background
        drawing = Image.new("RGBA", paper.size, (0, 0, 0, 0))
        drawing.putalpha(Image.fromarray(255 - np.asarray(paper)))
        drawing.save(path.with_suffix(".png"))
    return next(path.parent.glob(path.name + ".*"))


def accuracy(model, images: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(class_probabilities(model, images, 100).to_numpy().argmax(axis=1) == labels))


@pytest.mark.parametrize("layout", ["square", "off_centre"])
@pytest.mark.parametrize("kind", ["png", "jpeg", "transparent_png"])
def test_digits_as_images_score_as_their_rows(model, test_digits, layout, kind, tmp_path):
    images, labels = test_digits
    paths = [save_as(on_paper(digit, layout), tmp_path / f"{i:03d}", kind) for i, digit in enumerate(images)]
    converted = convert_images(paths)
    assert converted.shape == images.shape and converted.dtype == np.uint8
    as_rows, as_images = accuracy(model, images, labels), accuracy(model, converted, labels)
    print(f"{layout} {kind}: accuracy {as_images:.4f} as images, {as_rows:.4f} as rows")
    assert as_rows > 0.85
    assert abs(as_images - as_rows) <= 0.02


def test_a_centred_mnist_digit_changes_little(test_digits):
    """MNIST's own 28x28 digits go through unchanged but for rounding and, for a few, a pixel's shift."""
    images, _ = test_digits
    converted = np.stack([image_to_mnist(Image.fromarray(d.reshape(28, 28)), "d").ravel() for d in images])
    difference = np.abs(converted.astype(int) - images.astype(int)).mean(axis=1)
    print(f"mean absolute pixel difference: mean {difference.mean():.2f}, median {np.median(difference):.2f}")
    assert difference.mean() < 2  # grey levels of 255
    assert np.median(difference) < 1
    assert np.mean(difference < 3) >= 0.9


def test_the_ink_is_centred_by_its_mass_and_20_pixels_long(tmp_path):
    # a bar 100 x 30 pixels in the corner of a photo-like sheet: light, uneven paper, noise
    rng = np.random.default_rng(0)
    paper = 180 + 60 * np.linspace(0, 1, 300)[None, :] + rng.normal(0, 6, (200, 300))
    paper[20:120, 200:230] = 40
    Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)).save(tmp_path / "bar.jpg", quality=75)
    digit = convert_images([tmp_path / "bar.jpg"])[0].reshape(28, 28).astype(float)
    rows, cols = np.nonzero(digit > 127)
    assert rows.max() - rows.min() + 1 == 20 and cols.max() - cols.min() + 1 == 6
    centre = np.array(np.nonzero(digit)).T.astype(float)
    weights = digit[digit > 0]
    np.testing.assert_allclose(np.average(centre, axis=0, weights=weights), [14, 14], atol=0.5)
    assert digit[:, :10].max() == 0  # the paper's gradient and noise are gone


def test_light_ink_on_dark_is_not_inverted_and_transparency_is_paper(test_digits, tmp_path):
    digit = test_digits[0][0]
    Image.fromarray(digit.reshape(28, 28)).save(tmp_path / "chalk.png")  # MNIST's way round
    drawing = Image.new("RGBA", (28, 28), (255, 255, 255, 0))  # white strokes, transparent
    drawing.putalpha(Image.fromarray(digit.reshape(28, 28)))
    drawing.save(tmp_path / "white_strokes.png")
    chalk, white_strokes = convert_images([tmp_path / "chalk.png", tmp_path / "white_strokes.png"])
    np.testing.assert_array_equal(chalk, white_strokes)
    assert np.abs(chalk.astype(int) - digit).mean() < 3


def test_a_photo_is_turned_as_its_exif_says(test_digits, tmp_path):
    digit = test_digits[0][7 * PER_CLASS]  # a 7: upside down, it is no 7
    paper = on_paper(digit, "off_centre")
    paper.save(tmp_path / "upright.jpg", quality=95)
    exif = Image.Exif()
    exif[0x0112] = 3  # Orientation: stored upside down, shown turned by 180 degrees
    paper.rotate(180).save(tmp_path / "stored_turned.jpg", quality=95, exif=exif)
    upright, turned = convert_images([tmp_path / "upright.jpg", tmp_path / "stored_turned.jpg"]).astype(int)
    assert np.abs(upright - turned).mean() < 3
    assert np.abs(upright - np.rot90(turned.reshape(28, 28), 2).ravel()).mean() > 10


@pytest.mark.parametrize(
    ("content", "found"),
    [
        (b"not an image at all\n", "a file Pillow cannot read"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a file Pillow cannot read"),  # cut short
    ],
)
def test_unreadable_file_is_named(tmp_path, content, found):
    (tmp_path / "seven.png").write_bytes(content)
    with pytest.raises(InputError, match=rf"^seven\.png: expected an image \(PNG, JPEG.*{found}"):
        open_image(tmp_path / "seven.png")


@pytest.mark.parametrize("blank", ["white", "noisy_grey", "transparent"])
def test_an_image_without_ink_is_named(tmp_path, blank):
    rng = np.random.default_rng(1)
    images = {
        "white": Image.new("L", (200, 100), 255),
        "noisy_grey": Image.fromarray(rng.normal(200, 4, (100, 200)).clip(0, 255).astype(np.uint8)),
        "transparent": Image.new("RGBA", (64, 64), (0, 0, 0, 0)),
    }
    images[blank].save(tmp_path / "blank.png")
    with pytest.raises(InputError, match=r"^blank\.png: expected a digit, .* found no ink"):
        convert_images([tmp_path / "blank.png"])


def test_image_files_are_the_folder_s_own_by_name(tmp_path):
    for name in ["b.png", "a.jpg", ".hidden.png", "sub/c.png"]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in image_files(tmp_path)] == ["a.jpg", "b.png"]


@pytest.mark.parametrize("n", [12, 200])
def test_figure_of_the_images_fits_the_report(test_digits, n, tmp_path):
    images, labels = test_digits
    originals = [on_paper(digit, "off_centre") for digit in images[:n]]
    predictions = pd.DataFrame({"image": range(n), "Predicted": labels[:n], "probability": 0.5})
    plot_applied_digits(originals, images[:n], predictions, tmp_path / "digits.png")
    width, height = png_size(tmp_path / "digits.png")
    assert 900 <= width <= 1000 and 150 <= height <= 850, (width, height)
