"""How many of the 300 test digits the conversion of images changes, over models trained with several seeds.

tests/test_handwriting.py::test_digits_as_images_score_as_their_rows writes the first 30 test
digits of each class of the sample as images (two layouts, three kinds of file), converts them
back, and compares the digits a small model gets right as images with those it gets right as the
TSV rows. Its model depends on the CPU (another CPU rounds otherwise and trains another model),
so the bound on that difference must hold for any model of the same training, not one: this
script trains the test's model with seeds 0..N-1 (another seed changes the initial weights and
the order of the batches) and counts, for each seed and each kind of image, the digits right as rows and as images and
the digits whose predicted class the conversion changes. Writes a Markdown table.

    python benchmarks/handwriting_spread.py [--seeds 10] [--out benchmarks/results/handwriting_spread.md]
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "workflow" / "scripts")]

from test_handwriting import first_test_digits, on_paper, predicted, save_as, trained_model  # noqa: E402

from mnist_cnn.handwriting import convert_images  # noqa: E402
from mnist_cnn.provenance import cpu_model  # noqa: E402

LAYOUTS = ["square", "off_centre"]
KINDS = ["png", "jpeg", "transparent_png"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "handwriting_spread.md")
    args = parser.parse_args()
    images, labels = first_test_digits()
    converted = {}
    with tempfile.TemporaryDirectory() as folder:
        for layout in LAYOUTS:
            for kind in KINDS:
                paths = [
                    save_as(on_paper(digit, layout), Path(folder) / f"{layout}_{kind}_{i:03d}", kind)
                    for i, digit in enumerate(images)
                ]
                converted[layout, kind] = convert_images(paths)
    rows = []
    for seed in range(args.seeds):
        model = trained_model(seed)
        as_rows = predicted(model, images)
        for (layout, kind), digits in converted.items():
            as_images = predicted(model, digits)
            right_rows, right_images = int((as_rows == labels).sum()), int((as_images == labels).sum())
            changed = int((as_rows != as_images).sum())
            rows.append((seed, layout, kind, right_rows, right_images, right_images - right_rows, changed))
            print(rows[-1], flush=True)
    right_as_rows, differences, changed = (np.array([row[i] for row in rows]) for i in (3, 5, 6))
    lines = [
        f"Machine: {cpu_model()}, {os.cpu_count()} cores; {args.seeds} seeds x {len(converted)} kinds of image; "
        f"{len(labels)} test digits (`python benchmarks/handwriting_spread.py --seeds {args.seeds}`).",
        "",
        "| seed | layout | file | right as rows | right as images | difference | predictions changed |",
        "|---:|---|---|---:|---:|---:|---:|",
        *(f"| {' | '.join(map(str, row))} |" for row in rows),
        "",
        f"Difference (images less rows), digits of {len(labels)}: min {differences.min()}, max {differences.max()}, "
        f"mean {differences.mean():.2f}, standard deviation {differences.std(ddof=1):.2f}, "
        f"largest in absolute value {np.abs(differences).max()}.",
        f"Predictions changed by the conversion: min {changed.min()}, max {changed.max()}, mean {changed.mean():.2f}, "
        f"standard deviation {changed.std(ddof=1):.2f}.",
        f"Right as rows: min {right_as_rows.min()}, max {right_as_rows.max()}.",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines[-3:]))


if __name__ == "__main__":
    main()
