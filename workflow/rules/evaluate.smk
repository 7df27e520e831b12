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
        confusion_matrix_svg=report(
            "results/{prefix}confusion_matrix.svg",
            caption="../report/confusion_matrix.rst",
            category=EVALUATION,
            labels=report_labels("Confusion matrix (SVG, for print)"),
        ),
        confusion_normalised=report(
            "results/{prefix}confusion_matrix_normalised.png",
            caption="../report/confusion_matrix_normalised.rst",
            category=EVALUATION,
            labels=report_labels("Confusion matrix normalised by row (recall)"),
        ),
        confusion_table="results/{prefix}confusion_matrix.tsv",
        confusion_html=report(
            "results/{prefix}confusion_matrix.html",
            caption="../report/confusion_matrix.rst",
            category=EVALUATION,
            labels=report_labels("Confusion matrix (table)"),
        ),
        report="results/{prefix}classification_report.tsv",
        report_html=report(
            "results/{prefix}classification_report.html",
            caption="../report/classification_report.rst",
            category=EVALUATION,
            labels=report_labels("Precision, recall and F1 per class (table)"),
        ),
        class_scores=report(
            "results/{prefix}class_scores.png",
            caption="../report/class_scores.rst",
            category=EVALUATION,
            labels=report_labels("Precision, recall and F1 per class"),
        ),
    log:
        "logs/{prefix}evaluate.log",
    benchmark:
        "benchmarks/{prefix}evaluate.tsv"
    conda:
        "../../envs/evaluate.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        num_classes=NUM_CLASSES,
    script:
        "../scripts/evaluate.py"
