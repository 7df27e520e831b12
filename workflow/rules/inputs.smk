# The inputs from outside: the TSVs of data.dir and what apply names (images, tables, a model),
# checked here before anything runs; their contents by the jobs that read them.
wildcard_constraints:
    split="train|test",


def data_file(name):
    """A TSV from data.dir (plain or gzipped) if set, else the downloaded copy."""
    if not DATA_DIR:
        return f"results/data/{name}"
    for candidate in (Path(DATA_DIR) / name, Path(DATA_DIR) / f"{name}.gz"):
        if candidate.exists():
            return str(candidate)
    raise WorkflowError(f"data.dir: {DATA_DIR} holds neither {name} nor {name}.gz")


def data_files(wildcards):
    """The four input TSVs, wherever they come from."""
    return [data_file(name) for name in ZENODO_FILES]


def check_md5_keys():
    """Each data.md5 key names a file of data.dir, or a gzipped one by its name without .gz."""
    md5 = config["data"]["md5"]
    if md5 and not DATA_DIR:
        raise WorkflowError(
            f"data.md5 ({', '.join(md5)}) is set but data.dir is empty: data.md5 checks files "
            "in data.dir (downloads are checked against the md5 the Zenodo record publishes)"
        )
    files = [Path(data_file(name)).name for name in ZENODO_FILES] if md5 else []
    for key in md5:
        if key not in files and f"{key}.gz" not in files:
            raise WorkflowError(
                f"data.md5.{key}: matches no input file; data.dir {DATA_DIR} holds {', '.join(files)} "
                "(give a file's name, or a .gz file's name without .gz for its decompressed content)"
            )


check_md5_keys()


def known_md5(wildcards, input):
    """Checksums from data.md5 for this split's files, under their names with or without .gz."""
    names = {Path(path).name for path in input}
    return {
        key: value for key, value in config["data"]["md5"].items() if key in names or f"{key}.gz" in names
    }


# Apply (config key apply): a trained model applied to your own images and tables. Paths are
# checked here, before anything runs; the files' contents by the apply jobs.
APPLIED = "6. Your own digits"  # the report's category, after Evaluation


def images_to_apply():
    """The image files of apply.images, by name; none when it is empty."""
    folder = config["apply"]["images"]
    if not folder:
        return []
    if not Path(folder).is_dir():
        raise WorkflowError(f"apply.images: {folder} is not a folder: expected a folder of digit images")
    files = image_files(folder)
    if not files:
        raise WorkflowError(
            f"apply.images: the folder {folder} holds no files: expected digit images ({IMAGE_FORMATS})"
        )
    return [str(path) for path in files]


def tables_to_apply():
    """The tables of apply.tables by name: <name>.tsv (or .tsv.gz) is <name>."""
    tables = {}
    for position, table in enumerate(config["apply"]["tables"]):
        if not Path(table).is_file():
            raise WorkflowError(
                f"apply.tables[{position}]: no such file: {table}: expected a TSV laid out like X_test.tsv"
            )
        name = Path(table).name.removesuffix(".gz").removesuffix(".tsv")
        if name in tables:
            raise WorkflowError(
                f"apply.tables[{position}]: {table} has the name {name} of {tables[name]}: "
                "expected tables of different file names (results/applied/<name>.predictions.tsv)"
            )
        tables[name] = table
    return tables


def given_model():
    model = config["apply"]["model"]
    if model and not Path(model).is_file():
        raise WorkflowError(
            f"apply.model: no such file: {model}: expected a trained Keras model (.keras), "
            "such as results/model/model.keras of an earlier run"
        )
    return model


APPLY_IMAGES = images_to_apply()
APPLY_TABLES = tables_to_apply()
APPLY_MODEL = given_model()
# The outputs of rule apply_model (the images' predictions, each table's)
APPLIED_PREDICTIONS = {
    **({"images": "results/{prefix}applied/predictions.tsv"} if APPLY_IMAGES else {}),
    **(
        {"tables": [f"results/{{prefix}}applied/{name}.predictions.tsv" for name in APPLY_TABLES]}
        if APPLY_TABLES
        else {}
    ),
}
# Whose model is applied: apply.model's once, into results/applied/, whatever the runs; else each run's.
APPLIED_PREFIXES = [""] if APPLY_MODEL else list(RUNS)
# Below results/{prefix}: what the apply jobs make for each of APPLIED_PREFIXES; and once for all.
APPLIED_RUN_OUTPUTS = [
    *(["applied/predictions.tsv", "applied/digits.png"] if APPLY_IMAGES else []),
    *(f"applied/{name}.predictions.tsv" for name in APPLY_TABLES),
]
APPLIED_DIGITS = ["results/applied/digits.tsv"] if APPLY_IMAGES else []
# Where the runs read your images alike (rule applied_agreement); the comparison gives its share.
APPLIED_AGREEMENT = (
    [f"results/{COMPARED}applied_agreement.tsv"] if APPLY_IMAGES and len(APPLIED_PREFIXES) > 1 else []
)
APPLIED_SHARED_OUTPUTS = [
    *APPLIED_DIGITS,
    *APPLIED_AGREEMENT,
]


def model_to_apply(wildcards):
    """apply.model (applied once, into results/applied/), or the run's own trained model."""
    if APPLY_MODEL and wildcards.prefix:
        raise WorkflowError(
            f"results/{wildcards.prefix}applied/: apply.model ({APPLY_MODEL}) is applied once, into "
            "results/applied/, not as a run's model; leave apply.model empty to apply each run's own"
        )
    return APPLY_MODEL or f"results/{wildcards.prefix}model/model.keras"
