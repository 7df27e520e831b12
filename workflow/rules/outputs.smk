# What the targets `all` and `apply` ask for: the files the rules declare, for each run.


def files_of(*rules_, prefixes=("",)):
    """Every output file of these rules, its {prefix} filled in with each of ``prefixes``."""
    return [str(path).format(prefix=prefix) for prefix in prefixes for rule in rules_ for path in rule.output]


def final_outputs(per_run_rules, shared_rules):
    """Every file of ``per_run_rules`` for each run, of ``shared_rules`` once; with experiments or
    replicates, the comparison; with apply, what the apply jobs make."""
    compared = compared_files().values() if EXPERIMENTS or REPLICATES > 1 else []
    return [*files_of(*shared_rules), *files_of(*per_run_rules, prefixes=RUNS), *compared, *applied_outputs()]


def applied_outputs():
    """Everything the apply jobs make: for apply.model or the single run, or for every experiment and replicate."""
    return [
        *APPLIED_SHARED_OUTPUTS,
        *(f"results/{prefix}{path}" for prefix in APPLIED_PREFIXES for path in APPLIED_RUN_OUTPUTS),
    ]
