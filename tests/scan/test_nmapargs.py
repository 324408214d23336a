"""``--nmap-args`` by allow-list: every attack of issue 18 as argument validation, and real Nmap
showing what the refused arguments would have done (no target: Nmap sends nothing)."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from brulee.cli.main import main
from brulee.errors import NmapArgsError
from brulee.scan.nmapargs import find_script_db, load_script_db, takes_value, vet_user_args
from tests.conftest import needs_nmap


@pytest.mark.parametrize(
    "text",
    [
        "-sU -p 53,161 -T4",
        "-6 -Pn -n",
        "--script vulners --script-args mincvss=5.0",
        "--min-rate=500 --max-retries 1",
        "-p 22 --version-intensity 9 --open",
        "-sS -O --top-ports 100",
        "-p22 -T4 --top-ports=10 -p-",
        "-PS22,80 -PE -PS -sn",
        "-n --max-rtt-timeout 0 --scan-delay 500ms",
        "-sC -A --version-all --osscan-guess -Tpolite",
        "--script 'default and not intrusive',http-* --script-args 'a={b=1,c=\"x y\"}'",
        "--traceroute --reason -v",
    ],
)
def test_allowed_args_pass_through_unchanged(text: str) -> None:
    vetted = vet_user_args(text)
    assert vetted.words == tuple(shlex.split(text))
    assert vetted.unsafe == ()


@pytest.mark.parametrize(
    ("text", "why"),
    [
        # The deprecated attached forms that wrote files (issue 18, item 1).
        ("-p 1 -o/tmp/victim.txt", "-o<file> as normal output"),
        ("-m/tmp/victim.txt", "-m<file> as grepable output"),
        ("-oMakefile", "-o<file> as normal output"),
        ("-no/tmp/victim.txt", "write each option on its own"),  # a cluster: -n -o/tmp/...
        ("-script /tmp/evil.nse", "long options with two dashes"),
        ("--scr vulners", "not an option brulee passes"),  # getopt would expand it
        ("-oX /tmp/x.xml", "brulee controls Nmap's output files"),
        ("-oN out.txt", "output files"),
        ("--append-output", "output files"),
        ("-iL targets.txt", "target files to brulee"),
        ("-iR 100", "random Internet targets"),
        ("--resume old.xml", "resuming"),
        ("--exclude 10.0.0.1", "brulee's --exclude"),
        ("--host-timeout 5m", "brulee's --host-timeout"),
        ("--help", "not a scan"),
        ("--ttl 3", "not an option brulee passes"),
        ("10.9.9.9", "Nmap would scan it as a target"),
        ("-p 22 evil.example", "Nmap would scan it as a target"),
        ("-- 10.9.9.9", "Nmap would scan it as a target"),
        ("'unbalanced", "cannot parse"),
        # Values are checked, attached or not.
        ("-T9", "-T expects 0-5"),
        ("--top-ports=0", "from 1 to 65535"),
        ("--max-rate nan", "a number from 0"),
        ("--version-intensity 10", "from 0 to 9"),
        ("-p 22/tcp", "expects ports"),
        ("--open=yes", "takes no value"),
        ("--script", "needs a value"),
        ("-p " + "1," * 3000, "over 4096 characters"),
    ],
)
def test_refused_args_name_the_word_and_why(text: str, why: str) -> None:
    with pytest.raises(NmapArgsError, match=why) as caught:
        vet_user_args(text, allow_unsafe=True)  # refused even with the flag
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("--script /tmp/evil.nse", "not a script or category of Nmap's database"),
        ("--script evil", "not a script or category"),  # Nmap would look for ./evil.nse
        ("--versiondb /tmp/probes", "names a file"),
        ("--servicedb=/tmp/services", "names a file"),
        ("--datadir /tmp/nmap", "names a file"),
        ("--script-args-file /tmp/args", "names a file"),
        ("--script targets-traceroute", "add targets or broadcast"),
        ("--script-args newtargets", "newtargets"),
        ("--script-args=newtargets=1", "newtargets"),
        ("--script 'not intrusive'", "add targets or broadcast"),
        ("--script all", "add targets or broadcast"),
        ("--script broadcast", "add targets or broadcast"),
        ("--script-args userdb=users.txt", "'userdb' names a file"),
        ("--script-args 'a={b=c,d=/etc/passwd}'", "looks like a path"),
        ("-sI 10.0.0.9", "zombie"),
        ("-b ftp.example.org", "bounce"),
        ("-D 10.0.0.5,ME", "decoys"),
        ("-DRND:10", "decoys"),
        ("-S 10.0.0.7", "spoofed source"),
        ("--dns-servers 8.8.8.8", "other DNS servers"),
        ("--proxies socks4://192.0.2.1:1080", "outside the scope"),
        ("--spoof-mac 0", "another machine"),
    ],
)
def test_unsafe_args_need_the_flag(text: str, why: str) -> None:
    with pytest.raises(NmapArgsError, match=f"needs --allow-unsafe-nmap-args: .*{why}"):
        vet_user_args(text)
    vetted = vet_user_args(text, allow_unsafe=True)
    assert vetted.words and len(vetted.unsafe) == 1


def test_the_traceroute_newtargets_attack_needs_the_flag_twice_over() -> None:
    text = "--traceroute --script targets-traceroute --script-args newtargets"
    with pytest.raises(NmapArgsError, match="targets-traceroute"):
        vet_user_args(text)
    assert len(vet_user_args(text, allow_unsafe=True).unsafe) == 2


def test_script_database_is_nmaps_own() -> None:
    path = find_script_db()
    if path is None:
        with pytest.raises(NmapArgsError, match="script database"):
            vet_user_args("--script vulners")
        return
    db = load_script_db(path)
    assert "vulners" in db.names and "broadcast" in db.categories["broadcast-ping"]
    default = [n for n in db.names if "default" in db.categories[n]]
    assert default and not any("broadcast" in db.categories[n] for n in default)  # -sC, -A


def test_option_values_are_not_mistaken_for_targets() -> None:
    assert vet_user_args("--script-args user=admin -e eth0").words == (
        "--script-args", "user=admin", "-e", "eth0",
    )  # fmt: skip
    assert takes_value("-p") and takes_value("--script") and takes_value("-oX")
    assert not takes_value("-PS") and not takes_value("-n") and not takes_value("-p22")


@needs_nmap
def test_real_nmap_writes_and_runs_what_brulee_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nmap without a target scans nothing but still writes ``-o<file>`` and runs a prerule
    NSE file: the attacks are real. brulee refuses the same words before starting Nmap."""
    script = tmp_path / "evil.nse"
    script.write_text(
        'description = "x"\ncategories = {"safe"}\nprerule = function() return true end\n'
        'action = function() local f = io.open(os.getenv("MARK"), "w") f:write("ran") '
        "f:close() end\n",
        "utf-8",
    )

    def attack(tag: str) -> tuple[str, Path, Path]:
        victim, mark = tmp_path / f"victim-{tag}.txt", tmp_path / f"mark-{tag}"
        return f"-p 1 -o{victim} --script {script}", victim, mark

    words, victim, mark = attack("nmap")
    subprocess.run(["nmap", *words.split()], env={"MARK": str(mark), "PATH": "/usr/bin:/bin"},
                   capture_output=True, timeout=60, check=True)  # fmt: skip
    assert victim.read_text("utf-8").startswith("# Nmap")
    assert mark.read_text("utf-8") == "ran"

    words, victim, mark = attack("brulee")
    victim.write_text("precious\n", "utf-8")
    out = tmp_path / "out"
    argv = ["scan", "10.250.0.1", "--nmap-args", words, "-o", str(out), "--no-history"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"-o{victim} is refused: Nmap reads -o<file> as normal output" in err
    assert victim.read_text("utf-8") == "precious\n"
    assert not mark.exists() and not out.exists()
    # With -o refused, the script alone still needs the flag.
    assert main(["scan", "10.250.0.1", "--nmap-args", f"--script {script}", "-o", str(out)]) == 2
    assert "needs --allow-unsafe-nmap-args" in capsys.readouterr().err
    assert not mark.exists() and not out.exists()


def test_the_flag_lets_unsafe_args_through_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Vetting passes and each unsafe option is logged; the run then stops at the missing Nmap
    (a real PATH lookup that finds none), so nothing is scanned."""
    monkeypatch.setenv("PATH", str(tmp_path))
    argv = ["scan", "10.250.0.1", "--nmap-args", "-D 10.250.0.9 --script-args newtargets",
            "--allow-unsafe-nmap-args", "-o", str(tmp_path / "o"), "--no-history"]  # fmt: skip
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "--allow-unsafe-nmap-args: passing -D 10.250.0.9 (decoys" in err
    assert "passing --script-args newtargets (newtargets lets scripts add hosts" in err
    assert "apt-get install nmap" in err
