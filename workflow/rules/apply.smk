# The trained model applied to your own digits: images converted to MNIST's layout, tables like
# X_test.tsv (config key apply).


rule convert_images:
    input:
        APPLY_IMAGES,
    output:
        "results/applied/digits.tsv",
    log:
        "logs/convert_images.log",
    benchmark:
        "benchmarks/convert_images.tsv"
    conda:
        "../../envs/images.yaml"
    threads: 1
    resources:
        mem_mb=by_attempt(1000),
        runtime=by_attempt(10),
    script:
        "../scripts/convert_images.py"


rule apply_model:
    input:
        # run as predict runs it: the run's own model with its ONNX export (config onnx); a model
        # given by apply.model with Keras
        **({} if APPLY_MODEL else ONNX_MODEL),
        model=model_to_apply,
        digits=APPLIED_DIGITS,
        tables=list(APPLY_TABLES.values()),
    output:
        **APPLIED_PREDICTIONS,
    log:
        "logs/{prefix}apply_model.log",
    benchmark:
        "benchmarks/{prefix}apply_model.tsv"
    conda:
        "../../envs/keras.yaml"
    threads: config["threads"]["predict"]
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(20),
    params:
        backend=config["backend"],
        image_names=[Path(path).name for path in APPLY_IMAGES],
        n_features=N_FEATURES,
        batch_size=setting("fit", "batch_size"),
    script:
        "../scripts/apply_model.py"


rule applied_figure:
    input:
        images=APPLY_IMAGES,
        digits="results/applied/digits.tsv",
        predictions="results/{prefix}applied/predictions.tsv",
    output:
        report(
            "results/{prefix}applied/digits.png",
            caption="../report/applied_digits.rst",
            category=APPLIED,
            labels=report_labels("Your images, as the model sees them, and its predictions"),
        ),
    log:
        "logs/{prefix}applied_figure.log",
    benchmark:
        "benchmarks/{prefix}applied_figure.tsv"
    conda:
        "../../envs/images.yaml"
    threads: 1
    resources:
        mem_mb=by_attempt(1000),
        runtime=by_attempt(10),
    script:
        "../scripts/applied_figure.py"


rule applied_agreement:
    input:
        run_files("results/{prefix}applied/predictions.tsv"),
    output:
        report(
            f"results/{COMPARED}applied_agreement.tsv",
            caption="../report/applied_agreement.rst",
            category=COMPARED_CATEGORY,
        ),
    log:
        f"logs/{COMPARED}applied_agreement.log",
    benchmark:
        f"benchmarks/{COMPARED}applied_agreement.tsv"
    conda:
        "../../envs/compare.yaml"
    threads: 1
    resources:
        mem_mb=by_attempt(500),
        runtime=by_attempt(5),
    params:
        names=run_labels(),
    script:
        "../scripts/applied_agreement.py"
