# The Galaxy Training Network tutorial "Deep Learning (Part 3) - Convolutional neural networks
# (CNN)" as a workflow: download MNIST from Zenodo, check it, configure, build, train and apply
# a Keras CNN, and evaluate it. README.md explains it; config.yaml sets it.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/model.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/provenance.smk"
include: "workflow/rules/experiments.smk"
include: "workflow/rules/apply.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        final_outputs(),


# `snakemake apply`: only the apply jobs (with apply.model set, nothing is trained or downloaded).
rule apply:
    input:
        applied_outputs(),
