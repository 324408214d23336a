"""Every option has help text; every command's --help ends with real examples and the exit codes."""

from __future__ import annotations

import shlex

import pytest

from brulee.cli.config import every_parser
from brulee.cli.helptext import EXAMPLES
from brulee.cli.main import build_parser, normalise_argv


def test_every_option_and_argument_has_help() -> None:
    missing = [
        f"brulee {words}: {action.option_strings or action.dest}"
        for words, parser in every_parser(build_parser())
        for action in parser._actions
        if not action.help
    ]
    assert missing == []


def test_every_help_ends_with_examples_and_exit_codes() -> None:
    for words, parser in every_parser(build_parser()):
        text = parser.format_help()
        assert "\nexamples:\n  brulee" in text or "\nexamples:\n  BRULEE_" in text, words
        assert text.rstrip().endswith("3  runtime failure: Nmap, TeX, database, history store, "
                                      "writing or uploading"), words  # fmt: skip


@pytest.mark.parametrize("example", [e for examples in EXAMPLES.values() for e in examples])
def test_every_example_parses(example: str) -> None:
    words = shlex.split(example)
    while "=" in words[0]:  # VARIABLE=value before the command
        words.pop(0)
    assert words[0] == "brulee"
    args = build_parser().parse_args(normalise_argv(words[1:]))
    assert args.command in words
