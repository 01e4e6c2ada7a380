"""Every command's --help stands on its own: each option says what it does (and which variable
sets it), no range prints a 19-digit bound, and no command's one-liner in its parent's list is
cut mid-sentence. Walks the whole tree, the lazily loaded subcommands included."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from smsbounce.buffer.cli import SUBCOMMANDS
from smsbounce.buffer.cli import main as smsbounce


def _tree(command: click.Command, path: tuple[str, ...] = ()):
    yield path, command
    if isinstance(command, click.Group):
        context = click.Context(command)
        for name in command.list_commands(context):
            yield from _tree(command.get_command(context, name), (*path, name))


COMMANDS = dict(_tree(smsbounce))
GROUPS = [path for path, command in COMMANDS.items() if isinstance(command, click.Group)]


def _name(path) -> str:
    return " ".join(("smsbounce", *path))


def test_the_walk_reaches_every_subcommand():
    assert {path[0] for path in COMMANDS if path} == set(SUBCOMMANDS)


@pytest.mark.parametrize("path", list(COMMANDS), ids=_name)
def test_every_option_says_what_it_does(path):
    command = COMMANDS[path]
    context = click.Context(command, info_name=_name(path))
    gaps = []
    for option in (p for p in command.get_params(context) if isinstance(p, click.Option)):
        shown = (option.get_help_record(context) or ("", ""))[1]
        if not option.help:
            gaps.append(f"{option.opts[0]} has no help")
        variables = [option.envvar] if isinstance(option.envvar, str) else option.envvar or []
        for variable in variables:
            if variable not in shown:
                gaps.append(f"{option.opts[0]} does not name {variable}")
        if re.search(r"\d{10,}", shown):
            gaps.append(f"{option.opts[0]} shows a bound nobody can read: {shown!r}")
    assert gaps == []


@pytest.mark.parametrize("path", GROUPS, ids=_name)
def test_no_one_liner_in_a_command_list_is_cut(path):
    result = CliRunner().invoke(smsbounce, [*path, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    listing = result.output.split("\nCommands:\n", 1)[1]
    cut = [line.strip() for line in listing.splitlines() if line.rstrip().endswith("...")]
    assert cut == []
