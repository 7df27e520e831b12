rule provenance:
    input:
        data=data_files,
        # the last result: the record is written after the results, and again whenever they are
        results="results/classification_report.tsv",
    output:
        report(
            "results/provenance.yaml",
            caption="../report/provenance.rst",
            category="Provenance",
        ),
    log:
        "logs/provenance.log",
    benchmark:
        "benchmarks/provenance.tsv"
    conda:
        "../../envs/keras.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    params:
        config=recorded_config(config),
        snakemake_version=SNAKEMAKE_VERSION,
        workflow_version=WORKFLOW_VERSION,
    script:
        "../scripts/provenance.py"
