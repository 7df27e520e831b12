rule compare:
    input:
        metrics=run_files("results/{prefix}model/train_metrics.tsv"),
        report=run_files("results/{prefix}classification_report.tsv"),
        history=run_files("results/{prefix}model/history.tsv"),
        weights=run_files("results/{prefix}model/weights.h5"),
        benchmark=run_files("benchmarks/{prefix}train.tsv"),
        agreement=APPLIED_AGREEMENT,
    output:
        **compare_outputs(),
    log:
        f"logs/{COMPARED}compare.log",
    benchmark:
        f"benchmarks/{COMPARED}compare.tsv"
    conda:
        "../../envs/compare.yaml"
    threads: 1
    resources:
        mem_mb=by_attempt(1000),
        runtime=by_attempt(10),
    params:
        runs=compared_runs(),
    script:
        "../scripts/compare.py"
