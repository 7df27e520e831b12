rule model_config:
    input:
        model_json_input,
    output:
        "results/{prefix}model/model_config.json",
    log:
        "logs/{prefix}model_config.log",
    benchmark:
        "benchmarks/{prefix}model_config.tsv"
    priority: 1  # before the test data: train waits for it
    conda:
        "../../envs/keras.yaml"
    threads: 1
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(10),
    params:
        input_shape=setting("model", "input_shape"),
        layers=setting("model", "layers"),
        n_features=N_FEATURES,
    script:
        "../scripts/model_config.py"


rule model_builder:
    output:
        "results/{prefix}model/model_builder.json",
    log:
        "logs/{prefix}model_builder.log",
    benchmark:
        "benchmarks/{prefix}model_builder.tsv"
    priority: 1  # before the test data: train waits for it
    conda:
        "../../envs/keras.yaml"
    threads: 1
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(10),
    params:
        compile=setting("compile"),
        fit=setting("fit"),
        random_seed=setting("random_seed"),
        precision=setting("precision"),
    script:
        "../scripts/model_builder.py"


rule train:
    input:
        data="results/data/train.npz",
        model_config="results/{prefix}model/model_config.json",
        builder="results/{prefix}model/model_builder.json",
    output:
        model="results/{prefix}model/model.keras",
        weights="results/{prefix}model/weights.h5",
        metrics="results/{prefix}model/train_metrics.tsv",
        history="results/{prefix}model/history.tsv",
        machine="results/{prefix}model/train_machine.yaml",
    log:
        "logs/{prefix}train.log",
    benchmark:
        "benchmarks/{prefix}train.tsv"
    # before a report figure that is ready at the same time: train takes every core, and the
    # figure then runs beside predict and evaluate instead of delaying the longest job
    priority: 1
    conda:
        "../../envs/keras.yaml"
    threads: config["threads"]["train"]
    resources:
        mem_mb=by_attempt(3000),
        runtime=by_attempt(60),
        # GPUs to ask the cluster for (config gpu; the SLURM plugin passes it as sbatch --gpus)
        gpu=config["gpu"],
    params:
        backend=config["backend"],
        holdout=setting("holdout"),
        num_classes=NUM_CLASSES,
        state_dir=training_state_dir,
        configured_threads=config["threads"]["train"],
    script:
        "../scripts/train.py"


# The trained model as ONNX (config onnx), which predict and apply_model run with onnxruntime: a
# rule of its own, so that switching onnx on or off never retrains.
rule export_onnx:
    input:
        model="results/{prefix}model/model.keras",
        model_config="results/{prefix}model/model_config.json",
        machine="results/{prefix}model/train_machine.yaml",  # the precision train used
    output:
        onnx="results/{prefix}model/model.onnx",
    log:
        "logs/{prefix}export_onnx.log",
    benchmark:
        "benchmarks/{prefix}export_onnx.tsv"
    priority: 1  # predict waits for it
    conda:
        "../../envs/keras.yaml"
    threads: 1
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(10),
    script:
        "../scripts/export_onnx.py"


rule predict:
    input:
        **ONNX_MODEL,
        model="results/{prefix}model/model.keras",
        data="results/data/test.npz",
    output:
        predictions="results/{prefix}predictions.tsv",
        probabilities="results/{prefix}probabilities.tsv",
    log:
        "logs/{prefix}predict.log",
    benchmark:
        "benchmarks/{prefix}predict.tsv"
    conda:
        "../../envs/keras.yaml"
    threads: config["threads"]["predict"]
    resources:
        mem_mb=by_attempt(3000),
        runtime=by_attempt(20),
    params:
        backend=config["backend"],
        method=setting("predict", "method"),
        batch_size=setting("fit", "batch_size"),
        n_features=N_FEATURES,
    script:
        "../scripts/predict.py"
