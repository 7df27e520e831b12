# The report's figures and tables beyond the evaluation's (`snakemake --report results/report.html`).


rule record_config:
    output:
        yaml="results/{prefix}config.yaml",
        html=report(
            "results/{prefix}config.html",
            caption="../report/config.rst",
            category=CONFIGURATION,
            labels=report_labels("The configuration of this run"),
        ),
    log:
        "logs/{prefix}record_config.log",
    benchmark:
        "benchmarks/{prefix}record_config.tsv"
    conda:
        "../../envs/evaluate.yaml"
    threads: 1
    resources:
        mem_mb=by_attempt(500),
        runtime=by_attempt(5),
    params:
        config=lambda wildcards: recorded_config(run_config(wildcards)),
    script:
        "../scripts/record_config.py"


rule data_sample:
    input:
        "results/data/train.npz",
    output:
        report(
            "results/data/training_digits.png",
            caption="../report/training_digits.rst",
            category=DATA,
            labels={"result": "The first training images and their labels"},
        ),
    log:
        "logs/data_sample.log",
    benchmark:
        "benchmarks/data_sample.tsv"
    conda:
        "../../envs/evaluate.yaml"
    threads: 1
    resources:
        mem_mb=by_attempt(1000),
        runtime=by_attempt(10),
    params:
        input_shape=config["model"]["input_shape"],
    script:
        "../scripts/data_sample.py"


rule inspect_model:
    input:
        model="results/{prefix}model/model.keras",
        history="results/{prefix}model/history.tsv",
        data="results/data/test.npz",
    output:
        summary="results/{prefix}model/summary.tsv",
        summary_html=report(
            "results/{prefix}model/summary.html",
            caption="../report/model_summary.rst",
            category=MODEL,
            labels=report_labels("Model summary: layers, output shapes, parameters"),
        ),
        curves=report(
            "results/{prefix}model/training_curves.png",
            caption="../report/training_curves.rst",
            category=TRAINING,
            labels=report_labels("Loss and accuracy per epoch"),
        ),
        filters=report(
            "results/{prefix}model/first_conv_filters.png",
            caption="../report/first_conv_filters.rst",
            category=TRAINING,
            labels=report_labels("Filters the first convolution layer learned"),
        ),
        maps=report(
            "results/{prefix}model/first_conv_feature_maps.png",
            caption="../report/first_conv_feature_maps.rst",
            category=TRAINING,
            labels=report_labels("Feature maps of the first convolution layer"),
        ),
    log:
        "logs/{prefix}inspect_model.log",
    benchmark:
        "benchmarks/{prefix}inspect_model.tsv"
    conda:
        "../../envs/keras.yaml"
    threads: 1
    resources:
        mem_mb=by_attempt(1500),
        runtime=by_attempt(10),
    params:
        validation=validation_name,
        num_classes=NUM_CLASSES,
        input_shape=setting("model", "input_shape"),
    script:
        "../scripts/inspect_model.py"


rule evaluation_figures:
    input:
        report="results/{prefix}classification_report.tsv",
        confusion_table="results/{prefix}confusion_matrix.tsv",
        probabilities="results/{prefix}probabilities.tsv",
        data="results/data/test.npz",
    output:
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
        confusion_html=report(
            "results/{prefix}confusion_matrix.html",
            caption="../report/confusion_matrix.rst",
            category=EVALUATION,
            labels=report_labels("Confusion matrix (table)"),
        ),
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
        misclassified=report(
            "results/{prefix}misclassified.png",
            caption="../report/misclassified.rst",
            category=EVALUATION,
            labels=report_labels("Misclassified test digits, most confident first"),
        ),
        misclassified_table="results/{prefix}misclassified.tsv",
        roc=report(
            "results/{prefix}roc_curves.png",
            caption="../report/roc_curves.rst",
            category=EVALUATION,
            labels=report_labels("ROC curve per class"),
        ),
        pr=report(
            "results/{prefix}precision_recall_curves.png",
            caption="../report/precision_recall_curves.rst",
            category=EVALUATION,
            labels=report_labels("Precision-recall curve per class"),
        ),
        auc_table="results/{prefix}auc.tsv",
        auc_html=report(
            "results/{prefix}auc.html",
            caption="../report/auc.rst",
            category=EVALUATION,
            labels=report_labels("ROC AUC and average precision per class (table)"),
        ),
    log:
        "logs/{prefix}evaluation_figures.log",
    benchmark:
        "benchmarks/{prefix}evaluation_figures.tsv"
    conda:
        "../../envs/evaluate.yaml"
    threads: 1
    resources:
        mem_mb=by_attempt(1000),
        runtime=by_attempt(10),
    params:
        input_shape=setting("model", "input_shape"),
    script:
        "../scripts/evaluation_figures.py"
