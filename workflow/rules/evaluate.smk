rule evaluate:
    input:
        predictions="results/{prefix}predictions.tsv",
        data="results/data/test.npz",
    output:
        confusion_matrix=report(
            "results/{prefix}confusion_matrix.png",
            caption="../report/confusion_matrix.rst",
            category=EVALUATION,
            labels=report_labels("Confusion matrix"),
        ),
        confusion_table="results/{prefix}confusion_matrix.tsv",
        report="results/{prefix}classification_report.tsv",
    log:
        "logs/{prefix}evaluate.log",
    benchmark:
        "benchmarks/{prefix}evaluate.tsv"
    conda:
        "../../envs/evaluate.yaml"
    threads: 1
    resources:
        mem_mb=by_attempt(1000),
        runtime=by_attempt(10),
    params:
        num_classes=NUM_CLASSES,
    script:
        "../scripts/evaluate.py"
