"""The ``hybrid`` command line: a thin door into the library.

Every module ``hybrid/cli/cmd_*.py`` defines click commands at module level (with
heavy imports inside the command functions) and lists them in ``COMMANDS``. They are
discovered here, so adding a command never means editing this file.
"""

from __future__ import annotations

import importlib
import pkgutil

import click


def _discover() -> dict[str, click.Command]:
    commands: dict[str, click.Command] = {}
    pkg = importlib.import_module("hybrid.cli")
    for info in pkgutil.iter_modules(pkg.__path__):
        if not info.name.startswith("cmd_"):
            continue
        mod = importlib.import_module(f"hybrid.cli.{info.name}")
        for cmd in getattr(mod, "COMMANDS", []):
            if cmd.name in commands:
                raise RuntimeError(f"duplicate hybrid subcommand {cmd.name!r} in {info.name}")
            commands[cmd.name] = cmd
    return commands


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="hybrid")
def main() -> None:
    """hybrid: Kaldi-style hybrid HMM speech recognition in Python.

    Each subcommand mirrors a Kaldi binary or script; `hybrid CMD --help` shows its options.
    """


for _name, _cmd in sorted(_discover().items()):
    main.add_command(_cmd, _name)
