"""The ``smsbounce`` command. Subcommands load on use, so ``serve`` imports only the buffer."""

from __future__ import annotations

import importlib

import click

SUBCOMMANDS = {
    "serve": "smsbounce.buffer.__main__:serve",
    "migrate": "smsbounce.buffer.admin:migrate",
    "purge": "smsbounce.buffer.admin:purge",
    "verify": "smsbounce.simulators.verify.__main__:main",
    "cpi-proxy": "smsbounce.cpi_proxy.__main__:main",
    "di-sim": "smsbounce.simulators.di.__main__:main",
    "providers": "smsbounce.buffer.providers.cli:providers",
    "quarantine": "smsbounce.buffer.quarantine_cli:quarantine",
    "replay": "smsbounce.buffer.quarantine_cli:replay",
    "marketing": "smsbounce.simulators.marketing.__main__:main",
    "demo": "smsbounce.simulators.demo:main",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx, name):
        if name not in SUBCOMMANDS:
            return None
        module, attribute = SUBCOMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx, formatter):
        # click cuts a command's one-liner at the column's width, mid-sentence ("..."): show
        # each first sentence whole, wrapped if it must be.
        rows = [(name, self.get_command(ctx, name)) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl([(name, cmd.get_short_help_str(limit=10_000)) for name, cmd in rows])


@click.group(cls=_LazyGroup)
@click.version_option(package_name="smsbounce")
def main():
    """smsbounce: SMS delivery reports from any provider to SAP Marketing Cloud."""
