"""The ``smsbounce`` command. Subcommands load on use, so ``serve`` imports only the buffer."""

from __future__ import annotations

import importlib

import click

SUBCOMMANDS = {
    "serve": "buffer.__main__:serve",
    "migrate": "buffer.admin:migrate",
    "purge": "buffer.admin:purge",
    "verify": "simulators.verify.__main__:main",
    "cpi-proxy": "cpi_proxy.__main__:main",
    "di-sim": "simulators.provider.__main__:main",
    "providers": "buffer.providers.cli:providers",
    "marketing": "simulators.marketing.__main__:main",
    "demo": "simulators.demo:main",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx, name):
        if name not in SUBCOMMANDS:
            return None
        module, attribute = SUBCOMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=_LazyGroup)
@click.version_option(package_name="smsbounce")
def main():
    """smsbounce: SMS delivery reports from any provider to SAP Marketing Cloud."""
