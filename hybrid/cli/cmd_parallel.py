"""``hybrid run-jobs``: Kaldi's run.pl / slurm.pl command line (hybrid/parallel)."""

from __future__ import annotations

import sys

import click


@click.command(
    "run-jobs",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False,
                      "help_option_names": ["-h", "--help"]},
)
@click.option("--backend", type=click.Choice(["local", "slurm"]), default="local", show_default=True,
              help="local: processes here (run.pl); slurm: one sbatch array job (slurm.pl). "
                   "Must come first.")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run_jobs_cmd(backend: str, args: tuple[str, ...]) -> None:
    """Run COMMAND once per job, logging each to LOG (Kaldi's run.pl / slurm.pl).

    \b
    hybrid run-jobs [--backend slurm] [options] [JOB=1:N] LOG COMMAND ARGS...
    e.g. hybrid run-jobs --max-jobs-run 2 JOB=1:4 exp/log/acc.JOB.log hybrid foo JOB
    Options as run.pl/slurm.pl: --max-jobs-run N, --pick failed, --mem 4G, --num-threads N,
    --gpu N, --time T, --partition P, --config conf/slurm.conf.
    """
    from hybrid.parallel.cmdline import main

    sys.exit(main(list(args), backend=backend,
                  prog="hybrid run-jobs" if backend == "local" else "hybrid run-jobs (slurm)"))


COMMANDS = [run_jobs_cmd]
