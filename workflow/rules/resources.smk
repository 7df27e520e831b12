# What each job asks of a cluster: resources that grow with each retry, where train keeps its state.
def by_attempt(first):
    """A resource (runtime in minutes, mem_mb) that doubles with every retry of a failed job.

    Each rule's runtime and mem_mb are set here and only here: profiles/slurm retries a job that
    SLURM killed for its time or memory limit, and the retry asks for twice as much.
    """
    return lambda wildcards, attempt: first * 2 ** (attempt - 1)


def training_state_dir(wildcards, output):
    """Where train saves its state after every epoch, for a killed job to resume from: beside
    its outputs (under a module's prefix too), but not one of them, since Snakemake deletes a
    failed job's outputs and this must survive the failure. The train script deletes it once
    its outputs are written.
    """
    return str(Path(output.model).parent / "train_state")
