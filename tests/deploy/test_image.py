"""The container image for real (root): built offline with podman by deploy/build-image.sh from a
debootstrap-made debian:bookworm-slim, then run: `--version`, its configuration, the user and
nmap's file capability, and scans of lab hosts from inside the container.

The container joins the lab's scanner network namespace with `--network ns:/run/netns/NAME`.
(`ip netns exec NAME podman run --network host` cannot work: `ip netns exec` mounts a fresh /sys
without the cgroup filesystem, and runc then refuses to create the container.)
"""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import brulee
from tests.lab.netlab import Lab

from .tools import DEPLOY, ROOT

pytestmark = [pytest.mark.root]

SCANNER = "localhost/brulee:test"
PDF = "localhost/brulee:test-pdf"
UID = 10001
BUILD_TIMEOUT = 900
RUN = [
    "podman", "run", "--rm", "--pull=never", "--runtime", "runc",
    "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
]  # fmt: skip
# What Kubernetes gives the scanner pods: only NET_RAW, read-only root, a writable /tmp.
LOCKED_DOWN = ["--cap-drop", "ALL", "--cap-add", "NET_RAW", "--read-only", "--tmpfs", "/tmp"]
# In a pod (containerd, CRI-O) a non-root process keeps its added capabilities only in the bounding
# set: there are no ambient ones, so its exec of a program without file capabilities leaves it
# with none. podman makes them ambient too. setpriv drops the ambient and inheritable ones, and
# execs a shell, which therefore holds none: nmap, run by it, can get CAP_NET_RAW only from its
# file capability, as in a pod.
AS_IN_A_POD = ["--entrypoint", "setpriv"]
POD_CAPS = ["--ambient-caps", "-all", "--inh-caps", "-all"]
CAP_NET_ADMIN, CAP_NET_RAW = 12, 13


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (rootful podman, debootstrap)"
    for tool in ("podman", "runc", "debootstrap"):
        if not any(Path(d, tool).is_file() for d in os.get_exec_path()):
            return f"needs {tool} (Debian packages podman buildah debootstrap runc)"
    return None


def announce(request: pytest.FixtureRequest, line: str) -> None:
    """Print a build time in the test log, past pytest's output capture."""
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"deploy: {line}")


def build(request: pytest.FixtureRequest, tag: str, *extra: str) -> None:
    env = {
        **os.environ,
        "PYTHON": sys.executable,  # its pip downloads the wheels (deploy/wheelhouse.sh)
        "PODMAN_BUILD_ARGS": " ".join(["--layers=false", *extra]),
    }
    started = time.monotonic()
    done = subprocess.run(
        [str(DEPLOY / "build-image.sh"), tag],
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    announce(request, f"built {tag} in {time.monotonic() - started:.0f}s")


@pytest.fixture(scope="module")
def base_image(request: pytest.FixtureRequest) -> None:
    """The debootstrap-made debian:bookworm-slim, made once and then kept (cached by its tag)."""
    reason = skip_reason()
    if reason is not None:
        pytest.skip(reason)
    started = time.monotonic()
    done = subprocess.run(
        [str(DEPLOY / "base-image.sh")],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    took = time.monotonic() - started
    announce(request, f"base image ready in {took:.0f}s: {done.stderr.strip().splitlines()[-1]}")


@pytest.fixture(scope="module")
def image(request: pytest.FixtureRequest, base_image: None) -> Iterator[str]:
    build(request, SCANNER)
    yield SCANNER
    subprocess.run(["podman", "rmi", "--force", SCANNER], capture_output=True, check=False)


@pytest.fixture(scope="module")
def pdf_image(request: pytest.FixtureRequest, base_image: None) -> Iterator[str]:
    build(request, PDF, "--target", "pdf")
    yield PDF
    subprocess.run(["podman", "rmi", "--force", PDF], capture_output=True, check=False)


def run(image: str, *args: str, options: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RUN, *options, image, *args], capture_output=True, text=True, timeout=300, check=False
    )


def reports_dir(tmp_path: Path) -> Path:
    """A host directory the container's user can write (mounted at /reports)."""
    out = tmp_path / "reports"
    out.mkdir()
    os.chown(out, UID, UID)
    return out


def in_lab(lab: Lab) -> tuple[str, ...]:
    netns = Path("/run/netns") / lab.scanner_ns
    assert netns.exists(), netns
    return ("--network", f"ns:{netns}")


def services(report: Path) -> dict[str, dict[str, Any]]:
    data = json.loads(report.read_text("utf-8"))
    return {f"{s['product']} {s['version']}": s for s in data["services"]}


# -- the image itself ---------------------------------------------------------------------------


def test_version(image: str) -> None:
    done = run(image, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"brulee {brulee.__version__}"


def test_default_command_is_help(image: str) -> None:
    done = run(image)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: brulee")


def test_configuration(image: str) -> None:
    (inspected,) = json.loads(
        subprocess.run(
            ["podman", "image", "inspect", image], capture_output=True, text=True, check=True
        ).stdout
    )
    config = inspected["Config"]
    assert config["User"] == f"{UID}:{UID}"
    assert config["Entrypoint"] == ["brulee"]
    assert config["Cmd"] == ["--help"]
    assert "/reports" in config["Volumes"]
    assert config["StopSignal"] == "SIGINT"
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["BRULEE_DB"] == "/var/lib/brulee/vulndb.sqlite"
    assert env["NMAP_PRIVILEGED"] == "1"


INSPECT = """
import json, os, shutil, sqlite3, stat
found = []
for top in ("/usr", "/etc", "/opt", "/var"):
    for folder, _, files in os.walk(top):
        for name in files:
            mode = os.lstat(os.path.join(folder, name)).st_mode
            if stat.S_ISREG(mode) and mode & (stat.S_ISUID | stat.S_ISGID):
                found.append(os.path.join(folder, name))
db = os.environ["BRULEE_DB"]
connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
cves = connection.execute("select count(*) from cve").fetchone()[0]
print(json.dumps({
    "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
    "nmap_caps": os.getxattr("/usr/bin/nmap", "security.capability").hex(),
    "setid": found, "setcap": shutil.which("setcap"), "cves": cves,
    "db_writable": os.access(db, os.W_OK), "reports_owner": os.stat("/reports").st_uid,
}))
"""


def test_runs_as_10001_with_nmap_holding_only_net_raw(image: str) -> None:
    done = run(image, "-c", INSPECT, options=("--entrypoint", "python3", *LOCKED_DOWN))
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    assert (facts["uid"], facts["gid"]) == (UID, UID)
    assert facts["groups"] in ([], [UID])
    # struct vfs_cap_data: magic_etc (revision | effective flag), then permitted/inheritable words
    magic, permitted, inheritable, permitted_hi, inheritable_hi = struct.unpack(
        "<5I", bytes.fromhex(facts["nmap_caps"])
    )
    assert magic & 1, "nmap's capability must be effective (+ep)"
    assert permitted | permitted_hi << 32 == 1 << CAP_NET_RAW  # not even CAP_NET_ADMIN
    assert inheritable == inheritable_hi == 0
    assert facts["setid"] == []  # no set-user-ID or set-group-ID program to escalate with
    assert facts["setcap"] is None  # libcap2-bin was removed after use
    assert facts["cves"] > 1000  # the starter database is inside
    assert facts["db_writable"] is False
    assert facts["reports_owner"] == UID


# -- scans of lab hosts from inside the container -----------------------------------------------


def test_scan_through_the_entrypoint_reaches_nmap_unchanged(
    image: str, lab: Lab, tmp_path: Path
) -> None:
    """The flags after the image name go to brulee, and --nmap-args to Nmap, word for word; with
    no -o, the reports land in the /reports volume (brulee's default reports/<UTC time>/)."""
    out = reports_dir(tmp_path)
    nmap_args = "-n -sS -sU -p T:21,22,U:53"
    done = run(
        image,
        "scan", "10.213.77.11", "10.213.77.14", "--nmap-args", nmap_args,
        "-f", "json,html", "--no-progress",
        options=(*in_lab(lab), *LOCKED_DOWN, "-v", f"{out}:/reports"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (folder,) = (path for path in out.iterdir() if path.is_dir())
    assert (out / "history.sqlite").is_file()  # the scan history, in the writable volume
    assert re.fullmatch(r"\d{8}T\d{6}Z", folder.name), folder.name
    report = folder / "report.json"
    assert report.stat().st_uid == UID  # written by the container's user
    found = services(report)
    ssh = found["OpenSSH 7.4p1 Debian 10+deb9u7"]
    assert [(loc["address"], loc["port"]) for loc in ssh["locations"]] == [
        ("10.213.77.11", 22), ("10.213.77.14", 22),
    ]  # fmt: skip
    assert found["vsftpd 2.3.4"]["locations"][0]["port"] == 21
    assert {v["id"] for v in found["vsftpd 2.3.4"]["vulnerabilities"]} >= {"CVE-2011-2523"}
    bind = next(s for s in found.values() if s["product"] == "ISC BIND")
    assert bind["protocol"] == "udp"  # a UDP scan: raw sockets work as UID 10001
    scan = json.loads(report.read_text("utf-8"))["scan"]
    assert f"/usr/bin/nmap -sV -T4 {nmap_args} " in scan["nmap_command"]  # brulee's default
    assert (folder / "report.html").exists()


def test_nmap_gets_net_raw_from_its_file_capability_as_in_a_pod(
    image: str, lab: Lab, tmp_path: Path
) -> None:
    """Bounding set NET_RAW only, no ambient capability: a SYN scan still works, because the
    kernel gives nmap CAP_NET_RAW from its file capability."""
    out = reports_dir(tmp_path)
    done = run(
        image,
        *POD_CAPS, "--", "sh", "-c",
        'grep -E "^Cap(Prm|Eff|Amb|Bnd)" /proc/self/status && exec brulee "$@"', "sh",
        "scan", "10.213.77.11", "--nmap-args", "-n -p 21,22",
        "-o", "/reports/pod", "-f", "json", "--no-progress",
        options=(*in_lab(lab), *LOCKED_DOWN, *AS_IN_A_POD, "-v", f"{out}:/reports"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    caps = dict(line.split(":\t") for line in done.stdout.splitlines() if line.startswith("Cap"))
    assert caps == {
        "CapPrm": f"{0:016x}", "CapEff": f"{0:016x}", "CapAmb": f"{0:016x}",
        "CapBnd": f"{1 << CAP_NET_RAW:016x}",
    }  # fmt: skip
    assert set(services(out / "pod" / "report.json")) == {
        "OpenSSH 7.4p1 Debian 10+deb9u7",
        "vsftpd 2.3.4",
    }
    xml = (out / "pod" / "nmap" / "scan-001.xml").read_text("utf-8")
    assert '<scaninfo type="syn"' in xml  # raw packets, not a connect scan


def test_no_new_privs_would_take_net_raw_away_from_nmap(image: str, lab: Lab) -> None:
    """Why the scanner pods need allowPrivilegeEscalation: true (deploy/kubernetes/base)."""
    done = run(
        image,
        # through a shell, as nmap runs under brulee: a process that holds no capability itself
        *POD_CAPS, "--no-new-privs", "--", "sh", "-c", "exec nmap -n -p 22 10.213.77.11",
        options=(*in_lab(lab), *LOCKED_DOWN, *AS_IN_A_POD),
    )  # fmt: skip
    assert done.returncode != 0
    assert "Failed to open device" in done.stdout + done.stderr


def test_reports_do_not_claim_a_connect_scan(image: str, lab: Lab, tmp_path: Path) -> None:
    out = reports_dir(tmp_path)
    done = run(
        image,
        "scan", "10.213.77.11", "--nmap-args", "-n -p 22", "-o", "/reports/x", "-f", "json",
        "--no-progress",
        options=(*in_lab(lab), *LOCKED_DOWN, "-v", f"{out}:/reports"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    warnings = json.loads((out / "x" / "report.json").read_text("utf-8"))["scan"]["warnings"]
    assert not [w for w in warnings if "connect scan" in w]


# -- the pdf target ----------------------------------------------------------------------------


def test_pdf_target_renders_pdf_reports_on_a_read_only_root(pdf_image: str, tmp_path: Path) -> None:
    out = reports_dir(tmp_path)
    xml = ROOT / "tests" / "assets" / "nmap" / "lab-basic.xml"
    done = run(
        pdf_image,
        "report", "/in/lab-basic.xml", "-o", "/reports/pdf", "-f", "pdf",
        options=(*LOCKED_DOWN, "-v", f"{xml}:/in/lab-basic.xml:ro", "-v", f"{out}:/reports"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    pdf = out / "pdf" / "report.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert pdf.stat().st_uid == UID
