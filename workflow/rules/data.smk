localrules:
    download,


rule download:
    output:
        expand("results/data/{name}", name=ZENODO_FILES),
    log:
        "logs/download.log",
    benchmark:
        "benchmarks/download.tsv"
    # first of all: train waits for the training data's check, the longest job before it
    priority: 2
    conda:
        "../../envs/download.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=60,
    params:
        # retries, backoff and timeout are read from the config by the script: changing them
        # must not trigger a new download
        url=config["zenodo"]["url"],
        record=config["zenodo"]["record"],
    script:
        "../scripts/download.py"


rule check_data:
    input:
        images=lambda wildcards: data_file(f"X_{wildcards.split}.tsv"),
        labels=lambda wildcards: data_file(f"y_{wildcards.split}.tsv"),
    output:
        "results/data/{split}.npz",
    log:
        "logs/check_data_{split}.log",
    benchmark:
        "benchmarks/check_data_{split}.tsv"
    # train waits for the training data, model_config and model_builder: those go first, the
    # test data (for predict) after them
    priority: lambda wildcards: 1 if wildcards.split == "train" else 0
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=by_attempt(2000),
        runtime=by_attempt(15),
    params:
        n_features=N_FEATURES,
        num_classes=NUM_CLASSES,
        md5=known_md5,
    script:
        "../scripts/check_data.py"
