"""Run Nmap: argv lists (never a shell), parallel workers, progress.

The user's ``--nmap-args`` reach Nmap once vetted by nmapargs.py (an allow-list). brulee's
timing template goes before them (see tuning.py).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import shlex
import shutil
import subprocess
import threading
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from brulee.core.scan import Host
from brulee.errors import NmapError
from brulee.scan.nmapargs import takes_value
from brulee.scan.progress import StatsReader, Status
from brulee.scan.targets import Scope
from brulee.scan.tuning import option_name, timing_args
from brulee.util.files import atomic_path, write_text_atomic

log = logging.getLogger(__name__)

INSTALL_HINT = (
    "nmap was not found on PATH: install it (Debian/Ubuntu: apt-get install nmap; "
    "RHEL/Fedora: dnf install nmap; macOS: brew install nmap), or run `make scan`, "
    "which installs it"
)

_DEFAULT_INTENSITY = "version-intensity=7"
_SHORTHANDS = {
    "sC": "script=default",
    "A": "script=default",
    "version-light": "version-intensity=2",
    "version-all": "version-intensity=9",
}
_DETECTION = frozenset({"script", "script-args", "script-args-file", "version-intensity"})


def detection_options(command: str) -> str:
    """The options of an Nmap command line (or several, joined by ``;``) that change what a scan
    sees, normalised: the scripts and their arguments, and how hard versions are probed. Two
    scans with the same text see alike (ports aside: see their ``<scaninfo>``)."""
    try:
        words = iter(shlex.split(command))
    except ValueError:
        words = iter(command.split())
    found: set[str] = set()
    for word in words:
        name = option_name(word)
        if name in _SHORTHANDS:
            found.add(_SHORTHANDS[name])
        elif name in _DETECTION:
            value = word.split("=", 1)[1] if "=" in word else next(words, "")
            names = value.split(",") if name == "script" else [value]
            found.update(f"{name}={v}" for v in names if v)
        elif "=" not in word and takes_value(word):
            next(words, None)
    return " ".join(sorted(found - {_DEFAULT_INTENSITY}))


def find_nmap() -> str:
    path = shutil.which("nmap")
    if path is None:
        raise NmapError(INSTALL_HINT)
    return path


def is_privileged() -> bool:
    """Whether Nmap can send raw packets: as root, or when granted the capability and told so
    with Nmap's own ``NMAP_PRIVILEGED`` (the container image); else it uses a connect scan."""
    return os.geteuid() == 0 or "NMAP_PRIVILEGED" in os.environ


@dataclass(frozen=True, slots=True)
class Job:
    """One Nmap process: its slice of the scope and where its files go."""

    index: int
    scope: Scope
    ipv6: bool
    xml: Path
    targets_file: Path

    @property
    def total(self) -> int:
        return self.scope.size


@dataclass(frozen=True, slots=True)
class JobResult:
    job: Job
    returncode: int
    stderr: str
    """The start of what Nmap wrote on stderr (its first :data:`STDERR_KEPT` bytes)."""


def plan_jobs(scope: Scope, workers: int, user_args: Sequence[str], directory: Path) -> list[Job]:
    """Split the scope by IP version (Nmap scans one per run), then into ``workers`` slices."""
    forced_v6 = "-6" in user_args
    families = [(6, scope)] if forced_v6 else [(4, scope.family(4)), (6, scope.family(6))]
    families = [(v, s) for v, s in families if s.size]
    jobs: list[Job] = []
    for version, family in families:
        share = max(1, round(workers * family.size / scope.size))
        for part in family.split(share):
            index = len(jobs) + 1
            jobs.append(
                Job(
                    index=index,
                    scope=part,
                    ipv6=version == 6,
                    xml=directory / f"scan-{index:03d}.xml",
                    targets_file=directory / f"targets-{index:03d}.txt",
                )
            )
    return jobs


def build_argv(
    nmap: str, job: Job, user_args: Sequence[str], host_timeout: str | None
) -> list[str]:
    """The full argv: service detection, brulee's timing template unless the user chose one,
    the user's options (after it, so that theirs override it), then brulee's own."""
    argv = [nmap, "-sV", *timing_args(user_args), *user_args]
    if job.ipv6 and "-6" not in user_args:
        argv.append("-6")
    if host_timeout:
        argv += ["--host-timeout", host_timeout]
    argv += ["--stats-every", "1s", "-oX", str(job.xml), "-iL", str(job.targets_file)]
    return argv


NMAP_ENVIRONMENT = ("PATH", "HOME", "NMAPDIR", "NMAP_PRIVILEGED", "NMAP_UNPRIVILEGED", "LANG",
                    "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")  # fmt: skip
"""What Nmap needs of brulee's environment (``NMAP_PRIVILEGED``: the container image's raw-packet
capability); the rest (``BRULEE_NOTIFY``, cloud credentials, API
keys) stays with brulee, out of Nmap's ``/proc/PID/environ`` and its scripts' reach."""


def nmap_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of ``environ`` Nmap is given (:data:`NMAP_ENVIRONMENT`)."""
    return {name: environ[name] for name in NMAP_ENVIRONMENT if name in environ}


STDERR_KEPT = 64 << 10
"""Bytes of Nmap's stderr kept (its first messages); the rest is read and dropped."""


def _drain(stream: IO[bytes] | None, kept: bytearray) -> None:
    for line in stream or ():
        if len(kept) < STDERR_KEPT:
            kept += line[: STDERR_KEPT - len(kept)]


class ScopeFilter:
    """Whether a host of Nmap's results belongs to the scope brulee validated: its address is
    in the scope's intervals or is one of its scoped IPv6 addresses (zone dropped, as Nmap
    writes it). Hosts an option or a script added (``--script-args newtargets``, with
    ``--allow-unsafe-nmap-args``) are not."""

    def __init__(self, scope: Scope) -> None:
        self._intervals = {
            version: sorted((iv.first, iv.last) for iv in scope.intervals if iv.version == version)
            for version in (4, 6)
        }
        self._scoped = {address.split("%", 1)[0].lower() for address in scope.scoped}
        self.dropped = 0
        self._shown: list[str] = []

    def __call__(self, host: Host) -> bool:
        if host.address.lower() in self._scoped:
            return True
        try:
            address = ipaddress.ip_address(host.address)
        except ValueError:
            address = None
        if address is not None:
            intervals = self._intervals[address.version]
            at = bisect_right(intervals, (int(address), 1 << 129)) - 1
            if at >= 0 and intervals[at][0] <= int(address) <= intervals[at][1]:
                return True
        self.dropped += 1
        if len(self._shown) < 5:
            self._shown.append(host.address)
        return False

    def warning(self) -> str:
        """'' when no host was dropped, else what was dropped, for the report and the log."""
        if not self.dropped:
            return ""
        shown = ", ".join(self._shown) + (" ..." if self.dropped > 5 else "")
        return (
            f"{self.dropped} host(s) outside the scope were dropped from Nmap's results "
            f"({shown}): an Nmap option or script added them"
        )


Progress = Callable[[int, Status], None]
"""Called with (job index, that job's latest progress) at each of Nmap's progress reports."""


class Runner:
    """Runs the jobs in parallel and waits for all of them; ``stop()`` ends them early."""

    def __init__(self, nmap: str, user_args: Sequence[str], host_timeout: str | None) -> None:
        self._nmap = nmap
        self._user_args = list(user_args)
        self._host_timeout = host_timeout
        self._procs: dict[int, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._stopped = False

    def run(self, jobs: Sequence[Job], progress: Progress) -> list[JobResult]:
        for job in jobs:
            write_text_atomic(job.targets_file, "\n".join(job.scope.lines()) + "\n")
        with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
            futures = [pool.submit(self._run_one, job, progress) for job in jobs]
            try:
                return [future.result() for future in futures]
            except KeyboardInterrupt:
                self.stop()
                raise

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            for proc in self._procs.values():
                if proc.poll() is None:
                    proc.terminate()

    def _run_one(self, job: Job, progress: Progress) -> JobResult:
        """Run one job; Nmap writes its XML to a private temporary file beside ``job.xml``,
        renamed to it when Nmap has ended (however it ended: a partial scan is still read), so
        that a symlink there is never followed and a killed run leaves no complete-looking XML."""
        with atomic_path(job.xml) as partial:
            result = self._run_nmap(replace(job, xml=partial), progress)
        if job.xml.stat().st_size == 0:  # Nmap stopped before writing (an option it refused)
            job.xml.unlink()
        return replace(result, job=job)

    def _run_nmap(self, job: Job, progress: Progress) -> JobResult:
        argv = build_argv(self._nmap, job, self._user_args, self._host_timeout)
        log.info("nmap job %d: %s", job.index, shlex.join(argv))
        with self._lock:
            if self._stopped:
                return JobResult(job, -1, "not started: the scan was interrupted")
            try:
                proc = subprocess.Popen(
                    argv,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    stdin=subprocess.DEVNULL,
                    env=nmap_environment(os.environ),
                )
            except PermissionError as exc:
                raise NmapError(
                    f"cannot run {self._nmap}: {exc.strerror}; in a container, Nmap needs the "
                    "NET_RAW capability (docker: default; podman: --cap-add NET_RAW; Kubernetes: "
                    "capabilities.add [NET_RAW] and allowPrivilegeEscalation: true)"
                ) from exc
            self._procs[job.index] = proc
        stderr = bytearray()
        drain = threading.Thread(target=_drain, args=(proc.stderr, stderr), daemon=True)
        drain.start()
        reader = StatsReader()
        for line in proc.stdout or ():
            status = reader.feed(line)
            if status is not None:
                progress(job.index, status)
        returncode = proc.wait()
        drain.join()
        if returncode == 0:
            progress(job.index, Status(hosts_done=job.total, finished=True))
        return JobResult(job, returncode, stderr.decode("utf-8", "replace").strip())
