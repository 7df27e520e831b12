"""The peer: the plain Keras script a user would write instead of the workflow.

Reads the four Zenodo TSVs with pandas, builds the tutorial's CNN, fits 2 epochs of batch 500 on
80% of X_train and evaluates the other 20% after each epoch (``validation_split=0.2``: the
workflow's job, which holds out a seeded 20%), predicts X_test, draws the confusion matrix and
writes the classification report, timing each phase. Its last line
of output is a JSON object of those timings, which benchmarks/peer_vs_workflow.py reads.

    python benchmarks/peer_keras.py DATA_DIR OUT_DIR
"""

import time

started = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import matplotlib  # noqa: E402
import pandas as pd  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay, accuracy_score, classification_report  # noqa: E402

data, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
phases = {"import": time.perf_counter() - started}

mark = time.perf_counter()
x_train = pd.read_csv(data / "X_train.tsv", sep="\t", header=None).to_numpy("float32")
phases["read_X_train"] = time.perf_counter() - mark
y_train = pd.read_csv(data / "y_train.tsv", sep="\t", header=None)[0].to_numpy()
x_test = pd.read_csv(data / "X_test.tsv", sep="\t", header=None).to_numpy("float32")
y_test = pd.read_csv(data / "y_test.tsv", sep="\t", header=None)[0].to_numpy()
phases["read"] = time.perf_counter() - mark

mark = time.perf_counter()
model = keras.Sequential(
    [
        keras.Input((784,)),
        keras.layers.Reshape((28, 28, 1)),
        keras.layers.Conv2D(64, (3, 3), activation="relu", padding="same"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(32, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ]
)
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
phases["build"] = time.perf_counter() - mark

mark = time.perf_counter()
history = model.fit(
    x_train,
    keras.utils.to_categorical(y_train, 10),
    epochs=2,
    batch_size=500,
    validation_split=0.2,
    verbose=2,
)
phases["fit"] = time.perf_counter() - mark

mark = time.perf_counter()
predicted = model.predict(x_test, batch_size=500, verbose=0).argmax(axis=1)
phases["predict"] = time.perf_counter() - mark

mark = time.perf_counter()
ConfusionMatrixDisplay.from_predictions(y_test, predicted)
plt.savefig(out / "confusion_matrix.png")
report = classification_report(y_test, predicted, output_dict=True)
pd.DataFrame(report).transpose().to_csv(out / "classification_report.tsv", sep="\t")
phases["plot"] = time.perf_counter() - mark

phases["total"] = time.perf_counter() - started
result = {
    "phases_s": phases,
    "fit_images": len(history.history["loss"]) * round(len(x_train) * 0.8),
    "predict_images": len(x_test),
    "X_train_mb": (data / "X_train.tsv").stat().st_size / 1e6,
    "accuracy": accuracy_score(y_test, predicted),
}
print(json.dumps(result))
