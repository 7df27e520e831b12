"""A real one-node SLURM cluster on 127.0.0.1 (munged, slurmctld, slurmd from Debian's packages), for tests.

Needs root: slurmd runs jobs as their users, and the job-step helper of Snakemake's SLURM plugin
drops SLURM_CONF, so the configuration must also sit at /etc/slurm/slurm.conf.

/etc/slurm/slurm.conf names the controller only while it answers: every `snakemake` command on the
machine imports the SLURM executor plugin, which runs `scontrol show config`, and scontrol waits
10 s for a controller that a slurm.conf names but that is not running (with no slurm.conf it fails
at once). So the file is written once the node is idle, removed before the daemons stop, and a
leftover of a killed test session is removed at the next (remove_stale_conf).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

BINARIES = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol")
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
MUNGE_KEY = Path("/etc/munge/munge.key")
MUNGE_DIR = Path("/run/munge")
# The first line of every slurm.conf written here: a file without it is someone's real cluster.
MARKER = "# written by tests/slurm_cluster.py"
# squeue shows a finished job for MinJobAge seconds; the plugin must see it there before it is
# gone. Its status checks are at most 180 s apart.
MIN_JOB_AGE = 300


def why_not_here() -> str | None:
    """Why this machine cannot run the cluster, or None when it can."""
    missing = [name for name in BINARIES if shutil.which(name) is None]
    if missing:
        return f"SLURM is not installed ({', '.join(missing)} missing): apt-get install slurmctld slurmd slurm-client munge"
    if os.geteuid() != 0:
        return "starting slurmd and munged needs root"
    if SYSTEM_CONF.exists() and not SYSTEM_CONF.read_text().startswith(MARKER):
        return f"{SYSTEM_CONF} belongs to a real SLURM installation; it is not overwritten"
    if published_controller_runs():
        return f"another test cluster runs on this machine ({SYSTEM_CONF}): one at a time"
    return None


def published_controller_runs() -> bool | None:
    """Whether the controller named by a /etc/slurm/slurm.conf that this module wrote runs (None:
    there is no such file)."""
    try:
        text = SYSTEM_CONF.read_text()
    except FileNotFoundError:
        return None
    if not text.startswith(MARKER):
        return None
    pid_file = Path(re.search(r"^SlurmctldPidFile=(.+)$", text, flags=re.M)[1])
    try:
        os.kill(int(pid_file.read_text()), 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return False
    return True


def remove_stale_conf() -> bool:
    """Remove /etc/slurm/slurm.conf if this module wrote it and its controller no longer runs (a
    test session killed before it stopped its cluster); True if removed."""
    if published_controller_runs() is not False:
        return False
    try:
        SYSTEM_CONF.unlink()
    except OSError:  # not root: the SLURM tests do not run here either
        return False
    return True


def free_ports(count: int) -> list[int]:
    probes = [socket.socket() for _ in range(count)]
    for probe in probes:
        probe.bind(("127.0.0.1", 0))
    ports = [probe.getsockname()[1] for probe in probes]
    for probe in probes:
        probe.close()
    return ports


def total_memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("/proc/meminfo has no MemTotal")


class SlurmCluster:
    """One node, ``localhost``, with every CPU (or as many as asked) and 90% of the memory, in partition ``debug``.

    No accounting database: ``sacct`` knows nothing, so clients must ask ``squeue``; finished
    jobs are written to ``jobcomp`` (``jobcomp/filetxt``) instead.
    """

    def __init__(self, state_dir: Path, cpus: int | None = None):
        """``cpus``: how many CPUs the node declares (default: this machine's, as `nproc` counts them).

        More than the machine has is allowed (slurmd's ``config_overrides``), so that a test can
        tell the CPUs a job asked for from the few a test machine has.
        """
        self.dir = Path(state_dir)
        self.cpus = cpus or len(os.sched_getaffinity(0))
        self.memory_mb = int(total_memory_mb() * 0.9)
        self.jobcomp = self.dir / "jobcomp.txt"
        self.munge_socket = MUNGE_DIR / f"test-{os.getpid()}.socket"
        self.processes: dict[str, subprocess.Popen] = {}
        self._slurm_conf_before = os.environ.get("SLURM_CONF")

    def slurm_conf(self) -> str:
        d = self.dir
        ctld_port, slurmd_port = free_ports(2)
        return f"""{MARKER}: a one-node test cluster
ClusterName=test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
StateSaveLocation={d}/slurmctld
SlurmdSpoolDir={d}/slurmd
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={self.jobcomp}
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MinJobAge={MIN_JOB_AGE}
SlurmdParameters=config_overrides
# a job past its time limit gets SIGTERM, then SIGKILL after KillWait seconds (SLURM's default: 30)
KillWait=5
ReturnToService=2
MailProg=/bin/true
NodeName=localhost NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.memory_mb} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""

    def start(self) -> "SlurmCluster":
        for sub in ("slurmctld", "slurmd"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        conf = self.dir / "slurm.conf"
        conf.write_text(self.slurm_conf())
        os.environ["SLURM_CONF"] = str(conf)  # for sinfo below, until the controller answers

        MUNGE_DIR.mkdir(exist_ok=True)
        shutil.chown(MUNGE_DIR, "munge", "munge")
        if not MUNGE_KEY.exists():
            subprocess.run(["mungekey", "--create", f"--keyfile={MUNGE_KEY}"], check=True)
            shutil.chown(MUNGE_KEY, "munge", "munge")
        stem = self.munge_socket.with_suffix("")
        self._spawn(
            "munged",
            ["munged", "--foreground", "--force", f"--socket={self.munge_socket}", f"--pid-file={stem}.pid",
             f"--seed-file={stem}.seed", f"--log-file={stem}.log"],
            user="munge",
        )  # fmt: skip
        self._wait_for(lambda: self.munge_socket.exists(), "munged to open its socket")
        self._spawn("slurmctld", ["slurmctld", "-D", "-f", str(conf)])
        self._spawn("slurmd", ["slurmd", "-D", "-N", "localhost", "-f", str(conf)])
        self._wait_for(self._node_idle, "the node to be idle in sinfo")
        # published whole (a rename), and only now that the controller answers
        SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
        publishing = SYSTEM_CONF.with_name(f".{SYSTEM_CONF.name}.{os.getpid()}")
        shutil.copyfile(conf, publishing)
        os.replace(publishing, SYSTEM_CONF)
        os.environ["SLURM_CONF"] = str(SYSTEM_CONF)
        return self

    def stop(self):
        """Forget the configuration, then stop every daemon started here, by its pid."""
        ours = self.dir / "slurm.conf"
        if ours.exists() and SYSTEM_CONF.exists() and SYSTEM_CONF.read_text() == ours.read_text():
            SYSTEM_CONF.unlink()
        if self._slurm_conf_before is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = self._slurm_conf_before
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for leftover in MUNGE_DIR.glob(f"{self.munge_socket.stem}.*"):
            leftover.unlink()

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()

    def finished_jobs(self) -> dict[str, dict[str, str]]:
        """Every finished job, by job id: the ``Key=value`` fields of its jobcomp record."""
        jobs = {}
        if self.jobcomp.exists():
            for line in self.jobcomp.read_text().splitlines():
                fields = dict(field.split("=", 1) for field in line.split() if "=" in field)
                jobs[fields["JobId"]] = fields
        return jobs

    def log(self, daemon: str) -> str:
        path = self.dir / f"{daemon}.log"
        return path.read_text() if path.exists() else ""

    def _spawn(self, name: str, command: list[str], user: str | None = None):
        output = open(self.dir / f"{name}.out", "wb")  # the daemon writes to its own copy
        self.processes[name] = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, user=user, start_new_session=True
        )
        output.close()

    def _node_idle(self) -> bool:
        state = subprocess.run(
            ["sinfo", "--noheader", "--nodes=localhost", "--format=%T"], capture_output=True, text=True
        )
        return state.returncode == 0 and state.stdout.strip() == "idle"

    def _wait_for(self, ready, what: str, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while not ready():
            for name, process in self.processes.items():
                if process.poll() is not None:
                    out = (self.dir / f"{name}.out").read_text(errors="replace")
                    raise RuntimeError(f"{name} exited with {process.returncode} waiting for {what}:\n{out}")
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {d}.log\n{self.log(d)[-2000:]}" for d in ("slurmctld", "slurmd"))
                raise RuntimeError(f"timed out after {timeout} s waiting for {what}\n{logs}")
            time.sleep(0.2)
