"""Debian version parsing and ordering: dpkg's rules, checked against dpkg itself."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from functools import cmp_to_key

import pytest

from brulee.match.debversion import DebianVersion, DebianVersionError, compare

ASCENDING = [
    # package revisions of Debian security updates
    ("1:7.4p1-10+deb9u4", "1:7.4p1-10+deb9u7"),
    ("1:7.4p1-10", "1:7.4p1-10+deb9u1"),
    ("1.0-1+deb9u9", "1.0-1+deb9u10"),
    ("2.4.38-3+deb10u9", "2.4.38-3+deb10u10"),
    ("2.4.56-1~deb11u1", "2.4.56-1"),
    ("2.4.55-1", "2.4.56-1~deb11u1"),
    ("1:9.11.5.P4+dfsg-5.1+deb10u5", "1:9.11.5.P4+dfsg-5.1+deb10u7"),
    ("1:9.11.5.P4+dfsg-5.1", "1:9.11.5.P4+dfsg-5.1+deb10u1"),
    ("1:9.10.3.dfsg.P4-12.3+deb9u12", "1:9.11.5.P4+dfsg-5.1"),
    ("1:2.2.13-12~deb8u4", "1:2.2.13-12"),
    ("7.74.0-1.3+deb11u3", "7.74.0-1.3+deb11u7"),
    ("10.3.34-0+deb10u1", "10.3.38-0+deb10u1"),
    ("1.0.1t-1+deb8u6", "1.0.1t-1+deb8u8"),
    ("4.2.6.p5+dfsg-7+deb8u2", "4.2.6.p5+dfsg-7+deb8u3"),
    ("9.8.4.dfsg.P1-6+nmu2+deb7u9", "9.8.4.dfsg.P1-6+nmu2+deb7u10"),
    ("1:5.5p1-6+squeeze5", "1:5.5p1-6+squeeze8"),
    ("4.3p2-9etch2", "4.3p2-9etch3"),
    ("3.8.1p1-8.sarge.6", "3.8.1p1-8.sarge.10"),
    ("1.2-3~bpo11+1", "1.2-3"),
    # tilde sorts before everything, even the end
    ("1.0~rc1", "1.0"),
    ("1.0~~", "1.0~"),
    ("1.0~~a", "1.0~"),
    ("1.0~", "1.0"),
    ("1.0~rc1", "1.0~rc2"),
    ("1.0~beta", "1.0~rc"),
    # end < letters < other characters
    ("1.0", "1.0a"),
    ("1.0", "1.0+"),
    ("1.0", "1.0.1"),
    ("1.0a", "1.0+"),
    ("1.0Z", "1.0a"),
    ("1.0+b1", "1.0.1"),
    ("1.0+dfsg", "1.0.1"),
    ("7.4", "7.4p1"),
    ("7.4p1", "7.4p2"),
    ("7.9p1", "7.10p1"),
    # digit runs are numbers
    ("2.4.9", "2.4.29"),
    ("1.9", "1.10"),
    ("0.9", "1"),
    # epochs dominate
    ("2.0", "1:1.0"),
    ("1:9.9", "2:0.1"),
    ("9:99", "10:0"),
    # revisions: absent == 0, dots and letters
    ("1.0", "1.0-1"),
    ("1.0-1", "1.0-1.1"),
    ("1.0-1.1", "1.0-1.1+deb10u1"),
    ("1.0-4ubuntu0.5", "1.0-4ubuntu0.7"),
    ("1.0-4ubuntu0.7", "1.0-4ubuntu2"),
    ("1.0-4ubuntu2.8", "1.0-4ubuntu2.10"),
    ("1.0-0ubuntu0.16.04.5", "1.0-0ubuntu0.18.04.1"),
    # the revision is after the last hyphen: upstream versions may hold hyphens
    ("9.11.5-P4-5.1", "9.11.5-P4-5.2"),
    ("1.2-3-1", "1.2-4-1"),
    ("1.2-3-9", "1.2.0-1"),
]

EQUAL = [
    ("1.0", "1.0"),
    ("1.0", "0:1.0"),
    ("1.0", "1.0-0"),
    ("1.00", "1.0"),
    ("1.01", "1.1"),
    ("1:7.4p1-10+deb9u07", "1:7.4p1-10+deb9u7"),
    ("1.0a", "1.0a0"),
    (" 1.0-1 ", "1.0-1"),
]

PARSED = [
    ("1:7.4p1-10+deb9u7", 1, "7.4p1", "10+deb9u7"),
    ("2.4.56-1~deb11u1", 0, "2.4.56", "1~deb11u1"),
    ("1:9.11.5.P4+dfsg-5.1+deb10u5", 1, "9.11.5.P4+dfsg", "5.1+deb10u5"),
    ("9.11.5-P4-5.1+deb10u5", 0, "9.11.5-P4", "5.1+deb10u5"),
    ("3.8.1p1-8.sarge.6", 0, "3.8.1p1", "8.sarge.6"),
    ("1.0", 0, "1.0", ""),
    ("0:1.0", 0, "1.0", ""),
    ("2:1:2-3", 2, "1:2", "3"),
    ("1.2-3-4", 0, "1.2-3", "4"),
    ("10:0", 10, "0", ""),
]

INVALID = [
    "",
    "   ",
    "1.0-",
    "-1",
    ":1.0",
    "a:1.0",
    "-1:1.0",
    "1:",
    "1:-1",
    "abc",
    "v1.0",
    "~1.0",
    "1.0 1",
    "1.0-1 2",
    "1.0_1",
    "1.0-1_2",
    "1.0-1:2",
    "1.0-1-",
    "1:1.0$",
    "1.0\x00",
    "1.\u0661",
    "99999999999:1.0",
    "<unfixed>",
    "<not-affected>",
]


# A sample of fixed versions from the Debian security tracker's DSA list (2023-04-02 snapshot)
REAL_VERSIONS = [
    "0.140-5+deb7u3",
    "0.4.13-2+etch2",
    "0.6.32-3+lenny3",
    "0.9.6-1woody2",
    "0.9.7e-3sarge1",
    "0.9.7e-3sarge4",
    "0.9.8g-15+lenny6",
    "1.0.1e-2+deb7u1",
    "1.0.1t-1+deb8u6",
    "1.0.1t-1+deb8u8",
    "1.0.rc15-2etch3",
    "1.0.rc15-2etch5",
    "1.1.11-0.woody3",
    "1.1.1d-0+deb10u3",
    "1.10.3-1+deb9u1",
    "1.11.11",
    "1.16.1-2+deb9u1",
    "1.18-5+deb9u3",
    "1.18.0-6.1+deb11u3",
    "1.2.1-2.2+wheezy3",
    "1.2.11-6+deb6u1",
    "1.2.4-5woody7",
    "1.3.1-17lenny1",
    "1.3.1-17lenny4",
    "1.3.1-17lenny8",
    "1.3.4a-5+deb7u1",
    "1.3.5b-4+deb9u4",
    "1.3.6-4+deb10u1",
    "1.3.6-4+deb10u2",
    "1.4.1-2+deb8u1",
    "1.4.5-1+deb7u8",
    "1.6.2-5+deb8u3",
    "1.6.6-1.3woody1",
    "1.6.8p7-1.1sarge1",
    "1.6.8p7-1.4",
    "1.8.10-6+deb8u2",
    "1.8.19p1-2.1+deb9u1",
    "1.8.27-1+deb10u1",
    "1.9.0.15-0lenny1",
    "1.9.5p2-3+deb11u1",
    "10.0.23-0+deb8u1",
    "103.0.5060.134-1~deb11u1",
    "107.0.5304.110-1~deb11u1",
    "108.0.5359.124-1~deb11u1",
    "11.0.12+7-2~deb10u1",
    "11.0.14+9-1~deb10u1",
    "11.0.14+9-1~deb11u1",
    "11.0.15+10-1~deb10u1",
    "11.0.4+11-1~deb10u1",
    "11.0.6+10-1~deb10u1",
    "11.12-0+deb10u1",
    "11.14-0+deb10u1",
    "11.16-0+deb10u1",
    "11.5-1+deb10u1",
    "11.7-0+deb10u1",
    "1:1.0.15-2.3+lenny1",
    "1:1.2.1-1.4",
    "1:10.3.25-0+deb10u1",
    "1:102.6.0-1~deb11u1",
    "1:2.2.13-12~deb8u2",
    "1:2.2.13-12~deb8u3",
    "1:2.2.13-12~deb8u4",
    "1:4.2.2.p4+dfsg-2etch3",
    "1:4.2.2.p4+dfsg-2etch4",
    "1:4.2.6.p5+dfsg-2+deb7u1",
    "1:4.2.6.p5+dfsg-2+deb7u2",
    "1:4.2.6.p5+dfsg-7+deb8u1",
    "1:4.2.6.p5+dfsg-7+deb8u2",
    "1:52.8.0-1~deb8u1",
    "1:52.8.0-1~deb9u1",
    "1:6.0p1-4+deb7u1",
    "1:6.7p1-5+deb8u1",
    "1:6.7p1-5+deb8u2",
    "1:6.7p1-5+deb8u3",
    "1:68.12.0-1~deb10u1",
    "1:68.7.0-1~deb10u1",
    "1:7.4p1-10+deb9u6",
    "1:7.9p1-10+deb10u1",
    "1:78.13.0-1~deb10u1",
    "1:9.2.4-1sarge2",
    "1:9.6.ESV.R3+dfsg-0+lenny1",
    "1:9.7.3.dfsg-1~squeeze10",
    "1:9.8.4.dfsg.P1-6+nmu2+deb7u2",
    "1:9.8.4.dfsg.P1-6+nmu2+deb7u8",
    "1:9.9.5.dfsg-9+deb8u10",
    "1:9.9.5.dfsg-9+deb8u6",
    "1:91.9.0-1~deb10u1",
    "2.0.10-1etch3",
    "2.1.0-7",
    "2.1.0-7+lenny0.2",
    "2.19-18+deb8u3",
    "2.2.5-11.5",
    "2.2.5-11.8",
    "2.3.2-13squeeze3",
    "2.3.5-1.2+squeeze4.1",
    "2.3.5-1.2+squeeze8",
    "2.3.8-2+etch1",
    "2.3.8-2etch1",
    "2.4.10-10+deb8u11",
    "2.4.10-10+deb8u5",
    "2.4.25-3+deb9u1",
    "2.4.25-3+deb9u8",
    "2.4.38-3+deb10u3",
    "2.4.38-3+deb10u5",
    "2.4.6-2woody2",
    "2.4.6-2woody5",
    "2.4.6-2woody6",
    "2.5.5-1.1+lenny1",
    "2.5.9-10sarge1",
    "2.7-18lenny2",
    "2.7-18lenny6",
    "2.7-18lenny7",
    "2.7.1-1+squeeze1",
    "2.8.3-1.1",
    "2.8.3.1-1.1",
    "232-25+deb9u11",
    "232-25+deb9u7",
    "232-25+deb9u8",
    "232-25+deb9u9",
    "241-7~deb10u8",
    "2:1.1.1-21etch1",
    "2:1.1.1-21etch3",
    "2:1.1.1-21etch5",
    "2:1.20.11-1+deb11u3",
    "2:1.20.11-1+deb11u5",
    "2:1.7.7-17",
    "2:3.6.6-6+deb7u4",
    "2:4.1.17+dfsg-2+deb8u2",
    "2:4.2.14+dfsg-0+deb8u7",
    "2:4.2.14+dfsg-0+deb8u9",
    "2:4.5.12+dfsg-2+deb9u1",
    "2:4.5.8+dfsg-2+deb9u2",
    "2:5.2.2.1+dfsg-1+deb10u2",
    "2:6.0.3.7+dfsg-2+deb11u1",
    "2:8.0.0197-4+deb9u3",
    "3.0.11-1+squeeze15",
    "3.16.36-1+deb8u2",
    "3.16.7-ckt11-1+deb8u5",
    "3.16.7-ckt20-1+deb8u4",
    "3.3.2+dfsg-1~squeeze1",
    "3.4.2-1+deb10u1",
    "3.6.1+dfsg-1~deb7u10",
    "4.1+dfsg-1+deb8u2",
    "4.1.1-P1-15+squeeze1",
    "4.1.1-P1-15+squeeze2",
    "4.1.1-P1-15+squeeze3",
    "4.1.4-3+deb7u1",
    "4.11.3+24-g14b62ab3e5-1~deb10u1",
    "4.11.4+24-gddaaccbbab-1~deb10u1",
    "4.11.4+57-g41a822c392-1",
    "4.14.5+86-g1c354767d5-1",
    "4.14.5+94-ge49571868d-1",
    "4.2.2.dfsg.1-5+deb70u8",
    "4.3.1-6+deb8u2",
    "4.4.1-2.3+deb11u1",
    "4.4.1-9+deb8u3",
    "4.6-1+deb10u1",
    "4.6-1+deb10u6",
    "4.7.5+dfsg-2+deb9u5",
    "4.80-7+deb7u2",
    "4.84.2-2+deb8u4",
    "4.89-2+deb9u6",
    "4.9.110-3+deb9u6",
    "4.9.168-1+deb9u4",
    "4.92-8+deb10u1",
    "4.92-8+deb10u2",
    "4.92-8+deb10u3",
    "44-11+deb7u4",
    "45.2.0esr-1~deb8u1",
    "4:2.2.2-14.9",
    "5.0.15+dfsg1-0+deb10u1",
    "5.10.127-2",
    "5.10.136-1",
    "52.7.1esr-1~deb9u1",
    "52.8.1esr-1~deb8u1",
    "60.9.0esr-1~deb9u1",
    "68.2.0esr-1~deb10u1",
    "68.3.0esr-1~deb9u1",
    "6:0.8.13-1",
    "7.15.5-1etch3",
    "7.38.0-4+deb8u7",
    "7.38.0-4+deb8u9",
    "7.4.25-1+deb11u1",
    "7.4.28-1+deb11u1",
    "7.4.30-1+deb11u1",
    "7.4.33-1+deb11u1",
    "7.4.33-1+deb11u3",
    "7.52.1-5+deb9u10",
    "7.52.1-5+deb9u2",
    "7.52.1-5+deb9u8",
    "80.0.3987.149-1~deb10u1",
    "9.0.31-1~deb10u2",
    "9.0.31-1~deb10u3",
    "9.0.31-1~deb10u4",
    "9.0.31-1~deb10u6",
    "9.0.43-2~deb11u2",
    "9.0.43-2~deb11u3",
    "9.4.16-0+deb10u1",
    "90.0.4430.212-1~deb10u1",
    "99.0.4844.74-1~deb11u1",
]


@pytest.mark.parametrize(("low", "high"), ASCENDING)
def test_ascending(low: str, high: str) -> None:
    assert compare(low, high) == -1
    assert compare(high, low) == 1
    assert DebianVersion.parse(low) < DebianVersion.parse(high)
    assert DebianVersion.parse(high) > DebianVersion.parse(low)
    assert DebianVersion.parse(low) <= DebianVersion.parse(high)
    assert DebianVersion.parse(high) >= DebianVersion.parse(low)
    assert DebianVersion.parse(low) != DebianVersion.parse(high)


@pytest.mark.parametrize(("a", "b"), EQUAL)
def test_equal(a: str, b: str) -> None:
    assert compare(a, b) == 0
    assert compare(b, a) == 0
    assert DebianVersion.parse(a) == DebianVersion.parse(b)
    assert hash(DebianVersion.parse(a)) == hash(DebianVersion.parse(b))
    assert DebianVersion.parse(a) <= DebianVersion.parse(b) <= DebianVersion.parse(a)


@pytest.mark.parametrize(("text", "epoch", "upstream", "revision"), PARSED)
def test_parse(text: str, epoch: int, upstream: str, revision: str) -> None:
    version = DebianVersion.parse(text)
    assert (version.epoch, version.upstream, version.revision) == (epoch, upstream, revision)
    assert DebianVersion.parse(str(version)) == version


def test_str_round_trip() -> None:
    assert str(DebianVersion.parse("1:7.4p1-10+deb9u7")) == "1:7.4p1-10+deb9u7"
    assert str(DebianVersion.parse("2.4.56-1~deb11u1")) == "2.4.56-1~deb11u1"
    assert str(DebianVersion.parse("0:1.0")) == "1.0"


@pytest.mark.parametrize("text", INVALID)
def test_invalid(text: str) -> None:
    with pytest.raises(DebianVersionError):
        DebianVersion.parse(text)
    with pytest.raises(ValueError, match="version"):
        compare(text, "1.0")


def test_comparing_with_other_types() -> None:
    assert DebianVersion.parse("1.0") != "1.0"
    with pytest.raises(TypeError):
        _ = DebianVersion.parse("1.0") < "1.0"  # type: ignore[operator]


def test_set_and_dict_follow_dpkg_equality() -> None:
    versions = {DebianVersion.parse(text) for text in ("1.0", "1.00", "0:1.0-0", "1.0-1")}
    assert len(versions) == 2


def test_real_versions_parse() -> None:
    parsed = [DebianVersion.parse(text) for text in REAL_VERSIONS]
    assert all(str(version) == text for version, text in zip(parsed, REAL_VERSIONS, strict=True))


def test_sorting_is_a_total_order() -> None:
    ordered = sorted(REAL_VERSIONS, key=cmp_to_key(compare))
    for low, high in itertools.pairwise(ordered):
        assert compare(low, high) <= 0
    assert sorted(REAL_VERSIONS, key=DebianVersion.parse) == ordered


def _dpkg_pairs() -> list[tuple[str, str]]:
    """Neighbours in dpkg order (the closest calls) plus a fixed spread of other pairs."""
    ordered = sorted(REAL_VERSIONS, key=cmp_to_key(compare))
    count = len(REAL_VERSIONS)
    sampled = [(REAL_VERSIONS[i], REAL_VERSIONS[(i * 37 + 11) % count]) for i in range(count)]
    extra = [pair for pair in ASCENDING + EQUAL if pair[0].strip() == pair[0]]
    return list(itertools.pairwise(ordered)) + sampled + extra


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg is not installed")
def test_agrees_with_dpkg() -> None:
    dpkg = shutil.which("dpkg")
    assert dpkg is not None
    disagreements = []
    for a, b in _dpkg_pairs():
        operator = {-1: "lt", 0: "eq", 1: "gt"}[compare(a, b)]
        result = subprocess.run([dpkg, "--compare-versions", a, operator, b], check=False)
        if result.returncode != 0:
            disagreements.append((a, operator, b))
    assert disagreements == []
