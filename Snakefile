# The workflow is workflow/Snakefile, where snakedeploy and the Snakemake Workflow Catalog look for
# it, and the only place from which a module loaded with gitfile() finds its rules. This file lets
# the repository's folder be run as it is, with workflow/Snakefile's `rule all` as the default
# target (which an `include:` would not keep).
workflow.include("workflow/Snakefile", overwrite_default_target=True)
