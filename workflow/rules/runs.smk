# The runs: the single run, each experiment and each replicate, their {prefix}, their config and
# how the report labels them.
REPLICATES = config["replicates"]
# Every run's {prefix} and config: the single run or each experiment, each replicate apart.
RUNS = run_configs(EXPERIMENTS or {None: config}, REPLICATES)
# Where the runs are summarised (comparison.tsv): with experiments or with replicates.
COMPARED = f"{EXPERIMENTS_DIR}/" if EXPERIMENTS else f"{REPLICATES_DIR}/"
# The report's category of what is summarised there.
COMPARED_CATEGORY = "Experiments" if EXPERIMENTS else "Replicates"

# The report's categories, numbered so that it lists them in the tutorial's order.
CONFIGURATION, DATA, MODEL, TRAINING, EVALUATION = (
    "1. Configuration",
    "2. Data",
    "3. Model",
    "4. Training",
    "5. Evaluation",
)


# Experiments (config key experiments, see config/experiments.yaml). The same rules serve the
# single run and every experiment. Making a rule per experiment takes three mechanical steps.
#   1. In its output, log and benchmark, and in inputs made per experiment, put {prefix} right
#      after results/, logs/ and benchmarks/: "results/{prefix}predictions.tsv". {prefix} is ""
#      for the single run (paths as before) and experiments/<name>/ for an experiment, with
#      replicate_<i>/ after it for each replicate (replicates/replicate_<i>/ for the single run).
#      Inputs of the shared data (results/data/...) keep plain paths: the data is made once.
#   2. In params, read model and training settings with setting("fit", "batch_size") instead of
#      config["fit"]["batch_size"]: that is the config of the run {prefix} names. An input
#      function calls run_config(wildcards) instead of reading config.
#   3. If nothing reads its outputs, add it to per_run_rules of the target `all` (Snakefile),
#      which then asks for every file it writes, for the single run or for every experiment.
# Keys shared by all runs (zenodo, data, threads) stay config[...] (the schema keeps them out
# of experiments).


# "" or a declared run's prefix. Never an empty pattern: Snakemake ignores that and
# falls back to ".+", which cannot match the single run's "".
wildcard_constraints:
    prefix="(?:" + "|".join(re.escape(prefix) for prefix in RUNS if prefix) + ")?",


def run_config(wildcards):
    """The config of the run {prefix} names: the single run, an experiment or a replicate; for
    apply.model, applied once into results/applied/ whatever the runs, "" is the config's."""
    if not wildcards.prefix and APPLY_MODEL:
        return config
    return RUNS[wildcards.prefix]


def setting(*keys):
    """A params function: run_config(wildcards)[keys[0]][keys[1]]..."""

    def lookup(wildcards):
        value = run_config(wildcards)
        for key in keys:
            value = value[key]
        return value

    return lookup


def run_files(pattern):
    """pattern, such as "results/{prefix}model/history.tsv", for each run in order."""
    return [pattern.format(prefix=prefix) for prefix in RUNS]


def compared_runs():
    """Experiment (or "single run"), replicate and seed of each run, in the order of run_files."""
    return [
        {
            "experiment": experiment_name(prefix) or "single run",
            "replicate": replicate_number(prefix) or 1,
            "seed": run["random_seed"],
        }
        for prefix, run in RUNS.items()
    ]


def run_labels():
    """A name for each run, in the order of run_files: its experiment, and its replicate if any."""
    return [
        " ".join(filter(None, [run["experiment"], f"replicate {run['replicate']}" if REPLICATES > 1 else ""]))
        for run in compared_runs()
    ]


def model_json_input(wildcards):
    return run_config(wildcards)["model"]["config_json"] or []


def validation_name(wildcards):
    """What history.tsv's val_* columns of the run were measured on."""
    return "validation split" if run_config(wildcards)["fit"]["validation_split"] else "holdout"


def report_labels(result):
    """Labels of a result in the report: what it is, and with experiments or replicates, whose it is."""
    if not EXPERIMENTS and REPLICATES == 1:
        return {"result": result}
    return lambda wildcards: (
        {
            "result": result,
            "experiment": experiment_name(wildcards.prefix) or "single run",
            **({"replicate": str(replicate_number(wildcards.prefix))} if REPLICATES > 1 else {}),
        }
        if wildcards.prefix
        else {"result": result, "model": APPLY_MODEL}  # apply.model's, no run's
    )


def compared_files():
    """What rule compare writes below results/{COMPARED}, by name."""
    outputs = {"table": "comparison.tsv", "figure": "comparison.png", "timings": "timings.tsv"}
    if REPLICATES > 1:
        outputs["replicates"] = "replicates.tsv"
        if len(EXPERIMENTS) > 1:
            outputs["differences"] = "differences.tsv"
    return {name: f"results/{COMPARED}{path}" for name, path in outputs.items()}


def compare_outputs():
    """compared_files() for rule compare's output, each for the report with its caption, and only
    there: Snakemake finds a caption relative to the file of the rule that flags it (workflow/rules/
    here, the repository's root for rule all, which asks for the plain paths)."""
    return {
        name: report(path, caption=f"../report/{Path(path).stem}.rst", category=COMPARED_CATEGORY)
        for name, path in compared_files().items()
    }
