rule model_config:
    input:
        model_json_input,
    output:
        "results/model/model_config.json",
    log:
        "logs/model_config.log",
    benchmark:
        "benchmarks/model_config.tsv"
    conda:
        "../../envs/keras.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        input_shape=config["model"]["input_shape"],
        layers=config["model"]["layers"],
        n_features=N_FEATURES,
    script:
        "../scripts/model_config.py"


rule model_builder:
    output:
        "results/model/model_builder.json",
    log:
        "logs/model_builder.log",
    benchmark:
        "benchmarks/model_builder.tsv"
    conda:
        "../../envs/keras.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        compile=config["compile"],
        fit=config["fit"],
        random_seed=config["random_seed"],
        precision=config["precision"],
    script:
        "../scripts/model_builder.py"


rule train:
    input:
        data="results/data/train.npz",
        model_config="results/model/model_config.json",
        builder="results/model/model_builder.json",
    output:
        model="results/model/model.keras",
        weights="results/model/weights.h5",
        metrics="results/model/train_metrics.tsv",
        history="results/model/history.tsv",
    log:
        "logs/train.log",
    benchmark:
        "benchmarks/train.tsv"
    conda:
        "../../envs/keras.yaml"
    threads: config["threads"]["train"]
    resources:
        mem_mb=3000,
        runtime=120,
    params:
        holdout=config["holdout"],
        num_classes=NUM_CLASSES,
    script:
        "../scripts/train.py"


rule predict:
    input:
        model="results/model/model.keras",
        data="results/data/test.npz",
    output:
        "results/predictions.tsv",
    log:
        "logs/predict.log",
    benchmark:
        "benchmarks/predict.tsv"
    conda:
        "../../envs/keras.yaml"
    threads: config["threads"]["predict"]
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        method=config["predict"]["method"],
        batch_size=config["fit"]["batch_size"],
    script:
        "../scripts/predict.py"
