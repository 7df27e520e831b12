# The Galaxy Training Network tutorial "Deep Learning (Part 3) - Convolutional neural networks
# (CNN)" as a workflow: download MNIST from Zenodo, check it, configure, build, train and apply
# a Keras CNN, and evaluate it. README.md explains it; config.yaml sets it.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/config.smk"
include: "workflow/rules/runs.smk"
include: "workflow/rules/inputs.smk"
include: "workflow/rules/resources.smk"
include: "workflow/rules/outputs.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/provenance.smk"
include: "workflow/rules/experiments.smk"
include: "workflow/rules/apply.smk"
include: "workflow/rules/report.smk"


# Each run's files: every output of these rules (and of the rules they need), for each run.
rule all:
    default_target: True
    input:
        final_outputs(
            per_run_rules=[
                rules.train,
                rules.predict,
                rules.evaluate,
                rules.provenance,
                rules.record_config,
                rules.inspect_model,
                rules.evaluation_figures,
            ],
            shared_rules=[rules.data_sample],
        ),


# `snakemake apply`: only the apply jobs (with apply.model set, nothing is trained or downloaded).
rule apply:
    input:
        applied_outputs(),
