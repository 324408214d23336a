"""Configuration under the flags: ``BRULEE_<OPTION>`` variables and a TOML file.

Every long option of every command is a setting (the questions of ``explain`` and
``suppress add`` excepted: they describe one run, not a habit). Its value comes from, in order:
the command line, the environment (``--max-db-age`` is ``BRULEE_MAX_DB_AGE``), the configuration
file (the key ``max-db-age`` in the command's table, ``[scan]`` or ``["db update"]``, else at the
top level, shared by every command that has the option), the default.

The file is ``--config FILE``, else ``$BRULEE_CONFIG``, else ``$XDG_CONFIG_HOME/brulee/config.toml``
(``~/.config/...``), else ``/etc/brulee/config.toml``: the first that exists, read whole. Unknown
keys and bad values are a UsageError naming the file (or variable) and the key.

The approach: before parsing, each setting's default is set aside and replaced by None, so that
after parsing None means "not on the command line" (no flag parses to None); then each is
resolved from the environment, the file or its default.
"""

from __future__ import annotations

import argparse
import logging
import os
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from brulee.errors import EXIT_OK, UsageError
from brulee.util.files import TooLarge, read_bounded
from brulee.util.redact import ScrubSecrets, hide_password, redact_url, scrub, url_secrets

log = logging.getLogger(__name__)
CONFIG_ENV = "BRULEE_CONFIG"
MAX_CONFIG_BYTES = 256 * 1024
SYSTEM_CONFIG = Path("/etc/brulee/config.toml")

# Options that describe one run's question, not a setting: flags only.
_NOT_SETTINGS = {
    "explain": {"cpe", "product", "version", "extrainfo", "cve", "json"},
    "suppress add": {"reason", "author", "product", "version", "host", "port", "protocol", "cidr",
                     "expires"},
}  # fmt: skip
# Options whose values differ from the option of the same name elsewhere: their own variable, and
# no shared top-level key.
_OWN_ENV = {("diff", "format"): "BRULEE_DIFF_FORMAT"}
# Options that may carry a credential: shown redacted, and scrubbed from every message.
_WEBHOOKS = {"notify"}
_PASSWORD_URLS = {"history", "mirror", "endpoint-url"}
# Variables the lower layers read as their default (a missing $BRULEE_DB is built, unlike a missing
# --db): the option stays None for them to do so.
_READ_BELOW = {"BRULEE_DB", "BRULEE_HISTORY"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True, slots=True)
class Option:
    """One setting of one command."""

    command: str
    """The command's words: ``scan``, ``db update``."""
    name: str
    """The long option without its dashes: the file's key."""
    action: argparse.Action
    default: Any
    env: str
    shared: bool
    """Read from a top-level key of the file too."""

    @property
    def is_list(self) -> bool:
        return isinstance(self.action, argparse._AppendAction)

    @property
    def is_flag(self) -> bool:
        return self.action.nargs == 0


@dataclass(frozen=True, slots=True)
class Setting:
    """An option's effective value and where it came from."""

    option: Option
    value: Any
    source: str
    """``command line``, ``BRULEE_X``, ``FILE [table]`` or ``default``."""


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """The configuration file read (``path`` None when there is none): its tables by command
    (``""`` for the top level)."""

    path: Path | None = None
    tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[Any] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def every_parser(
    parser: argparse.ArgumentParser, words: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Brulee's parser (``""``), each group (``db``) and each command that runs."""
    yield " ".join(words), parser
    sub = _subcommands(parser)
    for name, child in sub.choices.items() if sub is not None else ():
        yield from every_parser(child, (*words, name))


def leaf_parsers(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    """Each command that runs (``scan``, ``db update``...), with its parser."""
    return [(words, p) for words, p in every_parser(parser) if _subcommands(p) is None]


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """``--config`` at the top and on every command; ``-q/--quiet`` on every command."""
    parser.add_argument("--config", metavar="FILE",
                        help=f"TOML configuration file (default: ${CONFIG_ENV}, else "
                        "~/.config/brulee/config.toml, else /etc/brulee/config.toml)")  # fmt: skip
    for _, leaf in leaf_parsers(parser):
        leaf.add_argument("-q", "--quiet", action="store_true",
                          help="print nothing but errors (answers on stdout stay)")  # fmt: skip
        leaf.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                          help="TOML configuration file (see `brulee config show`)")  # fmt: skip


def _option_name(action: argparse.Action) -> str:
    longs = [s for s in action.option_strings if s.startswith("--")]
    return longs[0][2:] if longs else action.dest.replace("_", "-")


def env_name(name: str) -> str:
    return "BRULEE_" + name.upper().replace("-", "_")


class Catalogue:
    """Every setting of every command of ``parser``. Building it sets each setting's default
    aside (see the module's doc): build it once, just before parsing."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser
        self.commands: dict[str, list[Option]] = {}
        for command, leaf in leaf_parsers(parser):
            options = []
            for action in leaf._actions:
                name = _option_name(action)
                skip = isinstance(action, argparse._HelpAction) or action.dest == "config"
                if skip or not action.option_strings or name in _NOT_SETTINGS.get(command, ()):
                    continue
                own = _OWN_ENV.get((command, name))
                options.append(
                    Option(command, name, action, action.default, own or env_name(name), not own)
                )
                action.default = None
            self.commands[command] = options

    def command_of(self, args: argparse.Namespace) -> str:
        """The words of the command ``args`` runs."""
        words: list[str] = []
        parser = self.parser
        while (sub := _subcommands(parser)) is not None:
            word = getattr(args, sub.dest)
            words.append(word)
            parser = sub.choices[word]
        return " ".join(words)

    def shared_names(self) -> set[str]:
        return {o.name for options in self.commands.values() for o in options if o.shared}


# -- the file -------------------------------------------------------------------------------------


def config_path(flag: str | None, environ: Mapping[str, str], home: Path) -> Path | None:
    """The configuration file to read: the one named (it must exist), else the first found."""
    named = flag or environ.get(CONFIG_ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            origin = "--config" if flag else CONFIG_ENV
            raise UsageError(f"{origin} {path}: no such file")
        return path
    config_home = environ.get("XDG_CONFIG_HOME", "")
    base = Path(config_home) if Path(config_home).is_absolute() else home / ".config"
    for path in (base / "brulee" / "config.toml", SYSTEM_CONFIG):
        try:
            if path.is_file():
                return path
        except OSError:  # a home this user may not read (setpriv, sudo -u): no file of its own
            continue
    return None


def read_config(path: Path | None, catalogue: Catalogue) -> ConfigFile:
    """The file's tables, every key checked against the options it may set."""
    if path is None:
        return ConfigFile()
    try:
        data = read_bounded(path, MAX_CONFIG_BYTES)
    except TooLarge as exc:
        raise UsageError(f"{path}: {exc}; is it the right file?") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from exc
    shared = catalogue.shared_names()
    tables: dict[str, dict[str, Any]] = {"": {}}
    for key, value in document.items():
        if key in catalogue.commands and isinstance(value, dict):
            known = {o.name for o in catalogue.commands[key]}
            for name in value:
                if name not in known:
                    raise UsageError(f"{path}: [{_table(key)}] {name}: no such option of "
                                     f"`brulee {key}` (see `brulee {key} --help`)")  # fmt: skip
            tables[key] = value
        elif isinstance(value, dict):
            raise UsageError(f"{path}: [{_table(key)}]: no such command (commands: "
                             f"{', '.join(_table(c) for c in catalogue.commands)})")  # fmt: skip
        elif key not in shared:
            raise UsageError(f"{path}: {key}: no such option (see `brulee config show`)")
        else:
            tables[""][key] = value
    config = ConfigFile(path, tables)
    credentials = False
    for options in catalogue.commands.values():  # every value checked, not only the run's
        for option in options:
            setting = _from_file(option, config)
            credentials = credentials or bool(setting and _secrets(setting))
    if credentials and path.stat().st_mode & 0o077:
        log.warning("%s holds credentials and other users may read it: chmod 600 %s", path, path)
    return config


def _table(command: str) -> str:
    return f'"{command}"' if " " in command else command


def _from_file(option: Option, config: ConfigFile) -> Setting | None:
    for table in (option.command, ""):
        if table == "" and not option.shared:
            continue
        values = config.tables.get(table, {})
        if option.name in values:
            where = f"{config.path} [{_table(table)}]" if table else f"{config.path}"
            origin = f"{where} {option.name}"
            value = _typed_toml(option, values[option.name], origin, config.path)
            return Setting(option, value, where)
    return None


def _typed_toml(option: Option, value: Any, origin: str, path: Path | None) -> Any:
    if option.is_flag:
        if not isinstance(value, bool):
            raise UsageError(f"{origin}: expected true or false, not {value!r}")
        return option.action.const if value else option.default
    if option.is_list:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise UsageError(f"{origin}: expected a string or a list of strings")
        return [_typed(option, item, origin, path) for item in items]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise UsageError(f"{origin}: expected a string{' or a number' * _numeric(option)}")
    return _typed(option, str(value), origin, path)


def _numeric(option: Option) -> bool:
    return option.action.type not in (None, str, Path)


def _typed(option: Option, text: str, origin: str, base: Path | None) -> Any:
    """``text`` converted as the option's flag would be, paths relative to the file's folder."""
    kind = option.action.type
    try:
        if kind is Path:
            path = Path(text).expanduser()
            value: Any = base.parent / path if base and not path.is_absolute() else path
        else:
            value = kind(text) if callable(kind) else text
    except (argparse.ArgumentTypeError, ValueError, TypeError) as exc:
        raise UsageError(f"{origin}: {exc}") from exc
    if option.action.choices is not None and value not in option.action.choices:
        choices = ", ".join(map(str, option.action.choices))
        raise UsageError(f"{origin}: {text!r} is not one of {choices}")
    return value


# -- resolving ------------------------------------------------------------------------------------


def _from_env(option: Option, environ: Mapping[str, str]) -> Setting | None:
    text = environ.get(option.env)
    if text is None:
        return None
    if option.is_flag:
        word = text.strip().lower()
        if word not in _TRUE | _FALSE:
            raise UsageError(f"{option.env}: expected 1 or 0 (true or false), not {text!r}")
        return Setting(option, option.action.const if word in _TRUE else option.default, option.env)
    if option.is_list:  # whitespace-separated: URLs and comma lists hold none
        value: Any = [_typed(option, item, option.env, None) for item in text.split()]
    else:
        value = _typed(option, text, option.env, None)
    return Setting(option, value, option.env)


def _default(option: Option) -> Setting:
    value = option.default
    if isinstance(value, str) and callable(option.action.type):  # as argparse does
        value = option.action.type(value)
    return Setting(option, value, "default")


def resolve(option: Option, given: Any, environ: Mapping[str, str], config: ConfigFile) -> Setting:
    """The option's value: ``given`` on the command line, else from the environment, else from
    the file, else its default."""
    if given is not None:
        return Setting(option, given, "command line")
    return _from_env(option, environ) or _from_file(option, config) or _default(option)


@dataclass(frozen=True, slots=True)
class Parsed:
    """The parsed command line, every setting resolved."""

    args: argparse.Namespace
    command: str
    settings: tuple[Setting, ...]
    catalogue: Catalogue
    config: ConfigFile

    def secrets(self) -> set[str]:
        """Every credential the settings hold (values from the command line too)."""
        return {s for setting in self.settings for s in _secrets(setting)}


def parse(
    parser: argparse.ArgumentParser,
    argv: Sequence[str],
    environ: Mapping[str, str] = os.environ,
    home: Path | None = None,
) -> Parsed:
    """Parse ``argv`` and resolve every setting of its command (flags > environment > file >
    defaults); UsageError for an unknown key or a bad value."""
    catalogue = Catalogue(parser)
    args = parser.parse_args(argv)
    config = read_config(config_path(args.config, environ, home or Path.home()), catalogue)
    command = catalogue.command_of(args)
    settings = []
    for option in catalogue.commands[command]:
        setting = resolve(option, getattr(args, option.action.dest), environ, config)
        if setting.source not in _READ_BELOW:
            setattr(args, option.action.dest, setting.value)
        settings.append(setting)
    return Parsed(args, command, tuple(settings), catalogue, config)


# -- secrets --------------------------------------------------------------------------------------


def _values(setting: Setting) -> list[str]:
    value = setting.value
    items = value if isinstance(value, list) else [value]
    return [str(item) for item in items if item is not None]


def _secrets(setting: Setting) -> set[str]:
    name = setting.option.name
    if name not in _WEBHOOKS | _PASSWORD_URLS:
        return set()
    return {s for url in _values(setting) for s in url_secrets(url, whole=name in _WEBHOOKS)}


class SecretConsole(Console):
    """A console that scrubs ``secrets`` from every text it prints."""

    secrets: frozenset[str] = frozenset()

    def print(self, *objects: Any, **kwargs: Any) -> None:
        super().print(
            *(scrub(o, self.secrets) if isinstance(o, str) else o for o in objects), **kwargs
        )


def hide_secrets(secrets: frozenset[str]) -> None:
    """Scrub ``secrets`` from every log record, whichever logger emits it."""
    if not secrets:
        return
    scrubber = ScrubSecrets(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(scrubber)


# -- brulee config show ---------------------------------------------------------------------------


def add_config_parser(commands: Any) -> None:
    """Add ``brulee config show`` to the CLI's sub-commands."""
    config = commands.add_parser("config", help="the settings from the environment and file")
    actions = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND",
                                    help="show: the effective settings")  # fmt: skip
    show = actions.add_parser(
        "show", help="each command's effective settings and where each came from (secrets redacted)"
    )
    show.add_argument("words", nargs="*", metavar="COMMAND",
                      help="only this command's settings: scan, report, db update...")  # fmt: skip


def shown(setting: Setting) -> str:
    """The value as a TOML value, credentials redacted."""
    name = setting.option.name
    value = setting.value
    if name in _WEBHOOKS | _PASSWORD_URLS and value:
        hide = redact_url if name in _WEBHOOKS else hide_password
        items = [hide(v) for v in _values(setting)]
        value = items if isinstance(setting.value, list) else items[0]
    return _toml(value)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, tuple):
        return _toml(",".join(map(str, value)))
    if isinstance(value, timedelta):
        hours = int(value.total_seconds()) // 3600
        return _toml(f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h")
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text) + '"'


def show_lines(parsed: Parsed, environ: Mapping[str, str] = os.environ) -> list[str]:
    """``brulee config show``: each command's settings as TOML, each with its source."""
    wanted = " ".join(parsed.args.words)
    commands = parsed.catalogue.commands
    if wanted and wanted not in commands:
        raise UsageError(f"config show {wanted}: no such command ({', '.join(commands)})")
    where = parsed.config.path or "none (no --config, $BRULEE_CONFIG or config.toml found)"
    lines = [f"# configuration file: {where}"]
    for command in [wanted] if wanted else [c for c in commands if c != parsed.command]:
        if not commands[command]:
            continue
        lines += ["", f"[{_table(command)}]"]
        for option in commands[command]:
            setting = resolve(option, None, environ, parsed.config)
            if setting.value is None:
                lines.append(f"# {option.name}: not set ({option.env})")
            else:
                also = f"; {option.env}" if setting.source == "default" else ""
                lines.append(f"{option.name} = {shown(setting)}  # {setting.source}{also}")
    return lines


def run_config(parsed: Parsed) -> int:
    print("\n".join(show_lines(parsed)))  # the answer itself: stdout
    return EXIT_OK
