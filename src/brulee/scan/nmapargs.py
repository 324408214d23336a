"""``--nmap-args`` by allow-list: only options that change how the validated scope is scanned.

Nmap parses its command line with ``getopt_long_only``: deprecated short options take their value
attached (``-o/path`` writes normal output there, ``-oMakefile`` writes ``./Makefile``), options
cluster (``-no/path`` is ``-n -o/path``), long options may be abbreviated or written with one dash
(``-scr /tmp/x.nse``). So a word is accepted only in one of the exact forms below: a known short
flag (``-sS``), a known short option with its value attached or next (``-p22``, ``-p 22``), or a
known long option spelled in full with two dashes (``--top-ports=10``, ``--top-ports 10``); each
value is checked. Everything else is refused with the reason.

Options that reach files, run code or send traffic to hosts outside the scope (scripts given as
paths, files given to any option, decoys, idle and bounce scans, spoofed sources, proxies, custom
DNS servers, target-adding scripts) are accepted only with ``allow_unsafe``: it hands Nmap to
whoever writes the configuration. Options that would break brulee itself (its output and input
files, help) are refused even then.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from brulee.errors import NmapArgsError

MAX_ARGS_LENGTH = 4096
"""Longest ``--nmap-args`` text accepted."""

SCRIPT_DB = Path("share/nmap/scripts/script.db")
"""Nmap's script database, relative to its installation prefix (``/usr``)."""

UNSAFE_FLAG = "--allow-unsafe-nmap-args"


class _Unsafe(Exception):
    """A value that is valid for Nmap but needs ``--allow-unsafe-nmap-args``."""


Check = Callable[[str], None]
"""Checks a value: returns when it is safe, raises ValueError (refused) or _Unsafe (unsafe)."""


@dataclass(frozen=True, slots=True)
class Option:
    """One Nmap option brulee knows: whether it takes a value, and how that value is checked."""

    check: Check | None = None
    """None: a flag, no value."""
    unsafe: str = ""
    """Why the option needs ``--allow-unsafe-nmap-args`` ('' when it is safe)."""
    refused: str = ""
    """Why the option is refused whatever the flags ('' when it is accepted)."""


def _pattern(regex: str, what: str) -> Check:
    compiled = re.compile(regex)

    def check(value: str) -> None:
        if not compiled.fullmatch(value):
            raise ValueError(f"expects {what}")

    return check


def _number(low: float, high: float, integer: bool = True) -> Check:
    kind = "an integer" if integer else "a number"

    def check(value: str) -> None:
        try:
            number = int(value) if integer else float(value)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            raise ValueError(f"expects {kind} from {low:g} to {high:g}")

    return check


def _any(value: str) -> None:
    """An unsafe option's value: Nmap checks it (the option needs the flag anyway)."""


_PORTS = _pattern(r"[A-Za-z0-9,:\-\[\]*?_.]{1,1024}", "ports (22, 1-1000, U:53,T:22, http)")
_TIME = _pattern(r"\d{1,9}(\.\d{1,6})?(ms|s|m|h)?", "a time (500ms, 30s, 5m)")
_COUNT = _number(0, 1_000_000)
_RATE = _number(0, 1e7, integer=False)
_TEMPLATE = _pattern(r"[0-5]|paranoid|sneaky|polite|normal|aggressive|insane", "0-5 or a name")
_INTERFACE = _pattern(r"[A-Za-z0-9_.:@-]{1,15}", "an interface name")

_FILE = "it names a file Nmap reads"
_THIRD_PARTY = "it sends traffic to hosts outside the scope"
_OUTPUT = "brulee controls Nmap's output files (see -o)"
_NOT_A_SCAN = "it prints help or a version, not a scan"


def _check_scripts(value: str) -> None:
    for rule in _split_top(value):
        selected = _ScriptRule(rule, script_db()).select()
        unsafe = sorted(name for name in selected if _adds_targets_or_broadcasts(name))
        if unsafe:
            shown = ", ".join(unsafe[:3]) + (" ..." if len(unsafe) > 3 else "")
            raise _Unsafe(
                f"{rule!r} selects scripts that add targets or broadcast to the network ({shown})"
            )


_FILE_KEY = re.compile(r"(file|files|filename|db|dir|path|paths|config|hostlist|output)$", re.I)


def _check_script_args(value: str) -> None:
    for key, item in _script_arg_atoms(value):
        if key.lower() in ("newtargets", "max-newtargets") or item.lower() == "newtargets":
            raise _Unsafe("newtargets lets scripts add hosts outside the scope")
        if _FILE_KEY.search(key):
            raise _Unsafe(f"{key!r} names a file")
        if re.search(r"[/\\]|\.\.|^~", item):
            raise _Unsafe(f"{item!r} looks like a path")


# fmt: off
_FLAGS = {
    # Scan types (brulee always adds -sV), host discovery, resolution, OS and script shorthands.
    **{f"-s{t}": Option() for t in "STUAWMNFXYZOVCn"},
    **{f"-P{t}": Option() for t in ("n", "E", "P", "M")},
    "-n": Option(), "-R": Option(), "-O": Option(), "-A": Option(), "-F": Option(),
    "-r": Option(), "-6": Option(), "-v": Option(), "-vv": Option(),
}
_SHORT_VALUE = {  # value attached (-p22) or next (-p 22)
    "-p": Option(_PORTS), "-T": Option(_TEMPLATE), "-e": Option(_INTERFACE),
    "-g": Option(_number(0, 65535)),
    **{f"-P{t}": Option(_PORTS) for t in "SAUY"},  # -PS22,80 (value attached only, see below)
    "-sI": Option(_any, unsafe="an idle scan sends its probes through a zombie host"),
    "-b": Option(_any, unsafe="a bounce scan goes through an FTP server outside the scope"),
    "-D": Option(_any, unsafe="decoys make the targets see traffic from other hosts"),
    "-S": Option(_any, unsafe="a spoofed source address sends the replies to another host"),
}
_PROBE_PORTS = frozenset({"-PS", "-PA", "-PU", "-PY"})
_LONG = {
    "--top-ports": Option(_number(1, 65535)), "--port-ratio": Option(_number(0, 1, False)),
    "--exclude-ports": Option(_PORTS), "--allports": Option(), "--open": Option(),
    "--reason": Option(), "--traceroute": Option(), "--system-dns": Option(),
    "--version-intensity": Option(_number(0, 9)), "--version-light": Option(),
    "--version-all": Option(), "--osscan-limit": Option(), "--osscan-guess": Option(),
    "--max-os-tries": Option(_number(1, 50)),
    "--min-rate": Option(_RATE), "--max-rate": Option(_RATE),
    "--min-hostgroup": Option(_COUNT), "--max-hostgroup": Option(_COUNT),
    "--min-parallelism": Option(_COUNT), "--max-parallelism": Option(_COUNT),
    "--max-retries": Option(_number(0, 50)),
    "--min-rtt-timeout": Option(_TIME), "--max-rtt-timeout": Option(_TIME),
    "--initial-rtt-timeout": Option(_TIME), "--scan-delay": Option(_TIME),
    "--max-scan-delay": Option(_TIME), "--script-timeout": Option(_TIME),
    "--defeat-rst-ratelimit": Option(), "--defeat-icmp-ratelimit": Option(),
    "--source-port": Option(_number(0, 65535)), "--data-length": Option(_number(0, 1400)),
    "--script": Option(_check_scripts), "--script-args": Option(_check_script_args),
    "--script-args-file": Option(_any, unsafe=_FILE),
    "--datadir": Option(_any, unsafe=_FILE), "--servicedb": Option(_any, unsafe=_FILE),
    "--versiondb": Option(_any, unsafe=_FILE),
    "--proxies": Option(_any, unsafe=_THIRD_PARTY), "--proxy": Option(_any, unsafe=_THIRD_PARTY),
    "--dns-servers": Option(_any, unsafe="it sends the scope's names to other DNS servers"),
    "--spoof-mac": Option(_any, unsafe="it makes the targets see another machine"),
    # Refused whatever the flags: they would break brulee.
    **{f"-o{k}": Option(_any, refused=_OUTPUT) for k in "XNGASMH"},
    "--append-output": Option(refused=_OUTPUT),
    "--stylesheet": Option(_any, refused=_OUTPUT), "--webxml": Option(refused=_OUTPUT),
    "--no-stylesheet": Option(refused=_OUTPUT),
    "--stats-every": Option(_any, refused="brulee sets it to follow Nmap's progress"),
    "--host-timeout": Option(_any, refused="use brulee's --host-timeout"),
    "-iL": Option(_any, refused="give target files to brulee with -iL so they are validated"),
    "-iR": Option(_any, refused="random Internet targets are never scanned by brulee"),
    "--resume": Option(_any, refused="resuming an earlier Nmap session bypasses brulee"),
    "--exclude": Option(_any, refused="use brulee's --exclude"),
    "--excludefile": Option(_any, refused="use brulee's --exclude-file"),
    "-h": Option(refused=_NOT_A_SCAN), "--help": Option(refused=_NOT_A_SCAN),
    "-V": Option(refused=_NOT_A_SCAN), "--version": Option(refused=_NOT_A_SCAN),
}
# fmt: on

# What Nmap makes of a refused deprecated short option, for the message.
_DEPRECATED = {
    "o": "Nmap reads -o<file> as normal output written to <file>",
    "m": "Nmap reads -m<file> as grepable output written to <file>",
    "i": "Nmap reads -i<file> as a target file",
    "M": "Nmap reads -M<n> as a connection limit",
}


@dataclass(frozen=True, slots=True)
class Vetted:
    """The user's words, and the unsafe options among them (with the flag) and why."""

    words: tuple[str, ...]
    unsafe: tuple[str, ...] = ()


def vet_user_args(text: str, allow_unsafe: bool = False) -> Vetted:
    """Split ``--nmap-args`` like a shell would (without running one) and vet each word:
    NmapArgsError (exit 2) names the first refused word and why."""
    if len(text) > MAX_ARGS_LENGTH:
        raise NmapArgsError(f"--nmap-args is over {MAX_ARGS_LENGTH} characters")
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise NmapArgsError(f"cannot parse --nmap-args {text!r}: {exc}") from exc
    unsafe: list[str] = []
    pending = iter(words)
    for word in pending:
        name, option, value = _lookup(word)
        shown = word if value is None else f"{name} {value}"
        if option.refused:
            raise NmapArgsError(f"--nmap-args: {name} is refused: {option.refused}")
        if option.check is None:
            if value is not None:
                raise NmapArgsError(f"--nmap-args: {word!r} is refused: {name} takes no value")
        else:
            if value is None:
                value = next(pending, None)
                if value is None:
                    raise NmapArgsError(f"--nmap-args: {name} needs a value")
                shown = f"{name} {value}"
            why = option.unsafe or _verdict(name, option.check, value)
            if why:
                if not allow_unsafe:
                    raise NmapArgsError(
                        f"--nmap-args: {shown!r} needs {UNSAFE_FLAG}: {why} (see README, Security)"
                    )
                unsafe.append(f"{shown} ({why})")
    return Vetted(tuple(words), tuple(unsafe))


def _verdict(name: str, check: Check, value: str) -> str:
    """'' when the value is safe; why it is unsafe; NmapArgsError when it is invalid."""
    try:
        check(value)
    except ValueError as exc:
        raise NmapArgsError(f"--nmap-args: {name} {value!r} is refused: {name} {exc}") from exc
    except _Unsafe as exc:
        return str(exc)
    return ""


def _lookup(word: str) -> tuple[str, Option, str | None]:
    """The option a word names, and its value when attached (``-p22``, ``--top-ports=10``)."""
    if not word.startswith("-") or word in ("-", "--"):
        raise NmapArgsError(
            f"--nmap-args: unexpected word {word!r}: Nmap would scan it as a target; "
            "give targets to brulee so they are validated and scoped"
        )
    if word.startswith("--"):
        name, eq, value = word.partition("=")
        option = _LONG.get(name)
        if option is None:
            raise NmapArgsError(f"--nmap-args: {name} is refused: {_unknown(name)}")
        return name, option, value if eq else None
    if word in _FLAGS:
        return word, _FLAGS[word], None
    if word in _LONG:  # -oX, -iL, -h, -V: Nmap's own spelling of long options
        return word, _LONG[word], None
    for size in (3, 2):  # -PS22, -sI zombie, -p22, -T4
        name = word[:size]
        option = _SHORT_VALUE.get(name)
        if option is not None and (len(word) > size or name not in _PROBE_PORTS):
            return name, option, word[size:] or None
        if name in _PROBE_PORTS and len(word) == size:
            return name, Option(), None  # -PS alone: Nmap's default probe port
    if f"-{word.partition('=')[0]}" in _LONG:
        raise NmapArgsError(f"--nmap-args: {word} is refused: write long options with two dashes")
    raise NmapArgsError(f"--nmap-args: {word} is refused: {_unknown(word)}")


def _unknown(word: str) -> str:
    deprecated = _DEPRECATED.get(word[1:2]) if not word.startswith("--") else None
    reason = f"{deprecated}; " if deprecated else ""
    return (
        f"{reason}not an option brulee passes to Nmap (the allowed options are listed in the "
        "README, Security; write each option on its own and long options in full)"
    )


def takes_value(word: str) -> bool:
    """Whether Nmap reads the next word as this option's value (``-p 22``, ``--script x``)."""
    option = _LONG.get(word) or _SHORT_VALUE.get(word)
    return option is not None and option.check is not None and word not in _PROBE_PORTS


# Scripts ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScriptDb:
    """Nmap's script database: each script's name (without .nse) and categories."""

    categories: dict[str, frozenset[str]]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.categories)


_ENTRY = re.compile(r'Entry \{ filename = "([^"]+)\.nse", categories = \{([^}]*)\} \}')


def find_script_db() -> Path | None:
    """Nmap's script.db next to the nmap on PATH (``/usr/bin/nmap`` -> ``/usr/share/...``)."""
    nmap = shutil.which("nmap")
    prefixes = [Path(nmap).resolve().parent.parent] if nmap else []
    for prefix in (*prefixes, Path("/usr"), Path("/usr/local")):
        if (prefix / SCRIPT_DB).is_file():
            return prefix / SCRIPT_DB
    return None


@lru_cache(maxsize=4)
def load_script_db(path: Path) -> ScriptDb:
    text = path.read_text(encoding="utf-8", errors="replace")
    return ScriptDb(
        {match[1]: frozenset(re.findall(r'"([^"]+)"', match[2])) for match in _ENTRY.finditer(text)}
    )


def script_db() -> ScriptDb:
    path = find_script_db()
    if path is None:
        raise _Unsafe("Nmap's script database (script.db) was not found: names cannot be checked")
    try:
        return load_script_db(path)
    except OSError as exc:
        raise _Unsafe(f"cannot read {path}: {exc.strerror}") from exc


def _adds_targets_or_broadcasts(name: str) -> bool:
    categories = script_db().categories.get(name, frozenset())
    return name.startswith("targets-") or "broadcast" in categories


class _ScriptRule:
    """One comma-separated ``--script`` rule, as Nmap reads it: a boolean expression of
    categories, script names and wildcards (``default and not intrusive``, ``http-*``), or a
    path; the scripts it selects from the database, or _Unsafe for a path or an unknown name."""

    _TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")

    def __init__(self, rule: str, db: ScriptDb) -> None:
        self._rule, self._db = rule, db
        self._tokens = [m[1] for m in self._TOKEN.finditer(rule)]
        self._at = 0

    def select(self) -> frozenset[str]:
        if not self._tokens:
            raise ValueError("expects script names or categories")
        selected = self._or()
        if self._at != len(self._tokens):
            raise ValueError(f"cannot read the script rule {self._rule!r}")
        return selected

    def _next(self) -> str:
        if self._at >= len(self._tokens):
            raise ValueError(f"cannot read the script rule {self._rule!r}")
        self._at += 1
        return self._tokens[self._at - 1]

    def _peek(self) -> str:
        return self._tokens[self._at] if self._at < len(self._tokens) else ""

    def _or(self) -> frozenset[str]:
        selected = self._and()
        while self._peek() == "or":
            self._next()
            selected |= self._and()
        return selected

    def _and(self) -> frozenset[str]:
        selected = self._not()
        while self._peek() == "and":
            self._next()
            selected &= self._not()
        return selected

    def _not(self) -> frozenset[str]:
        word = self._next()
        if word == "not":
            return self._db.names - self._not()
        if word == "(":
            selected = self._or()
            if self._next() != ")":
                raise ValueError(f"cannot read the script rule {self._rule!r}")
            return selected
        return self._atom(word)

    def _atom(self, word: str) -> frozenset[str]:
        if word == "all":
            return self._db.names
        name = word.removesuffix(".nse")
        by_category = frozenset(n for n, c in self._db.categories.items() if name in c)
        matched = by_category | frozenset(fnmatch.filter(self._db.names, name))
        if not matched or re.search(r"[/\\]", word):
            raise _Unsafe(
                f"{word!r} is not a script or category of Nmap's database "
                "(a path or another script runs code as brulee's user)"
            )
        return matched


def _split_top(text: str) -> Iterator[str]:
    """Split at commas outside parentheses (``--script "(a or b),c"``)."""
    depth, start = 0, 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            yield text[start:index]
            start = index + 1
    yield text[start:]


_SCRIPT_ARG = re.compile(r'\s*("(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|[^,{}="\']+|[,{}=])')


def _script_arg_atoms(text: str) -> Iterator[tuple[str, str]]:
    """(key, value) for every value of Nmap's ``--script-args`` syntax (``k=v,t={a,b=c}``,
    quoted strings); a bare word is its own key and value."""
    items = [m[1].strip() for m in _SCRIPT_ARG.finditer(text)]
    key = ""
    for index, item in enumerate(items):
        if item in ",{}=":
            continue
        atom = item[1:-1] if item[:1] in "\"'" and len(item) > 1 else item
        if index + 1 < len(items) and items[index + 1] == "=":
            key = atom
            yield key, ""
        else:
            yield (key if index and items[index - 1] == "=" else atom), atom
