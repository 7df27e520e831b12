rule provenance:
    input:
        data=data_files,
        train_machine="results/{prefix}model/train_machine.yaml",
        # the last result: the record is written after the results, and again whenever they are
        results="results/{prefix}classification_report.tsv",
    output:
        report(
            "results/{prefix}provenance.yaml",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
    log:
        "logs/{prefix}provenance.log",
    benchmark:
        "benchmarks/{prefix}provenance.tsv"
    conda:
        "../../envs/keras.yaml"
    threads: 1
    resources:
        mem_mb=by_attempt(500),
        runtime=by_attempt(10),
    params:
        config=lambda wildcards: recorded_config(run_config(wildcards)),
        snakemake_version=SNAKEMAKE_VERSION,
        workflow_version=WORKFLOW_VERSION,
    script:
        "../scripts/provenance.py"
