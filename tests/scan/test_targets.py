"""Targets: parsing, refusal of hostile specs, exclusions, scope limit, splitting."""

from __future__ import annotations

import resource
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from brulee.errors import TargetError
from brulee.scan.targets import (
    MAX_TARGET_LIST_BYTES,
    Interval,
    Resolution,
    build_scope,
    parse_list,
    parse_spec,
    read_target_file,
    resolve,
)


def lines(specs: list[str], excluded: Sequence[str] = ()) -> list[str]:
    return list(build_scope(parse_list(specs, "t"), parse_list(excluded, "x")).lines())


@pytest.mark.parametrize(
    ("spec", "size"),
    [
        ("10.0.0.1", 1),
        ("10.0.0.0/24", 256),
        ("10.0.0.1-20", 20),
        ("10.0.1-2.1-10", 20),
        ("fd00::1", 1),
        ("fd00::/120", 256),
        ("[fd00::5]", 1),
        ("fe80::1%eth0", 1),
        ("10.0-255.0-255.0-255", 1 << 24),
    ],
)
def test_valid_specs_and_their_size(spec: str, size: int) -> None:
    assert build_scope([parse_spec(spec)], allow_large=True).size == size


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("-oX", "starts with '-'"),
        ("--script=evil", "starts with '-'"),
        ("a b", "whitespace"),
        ("host;id", "metacharacters"),
        ("$(id)", "metacharacters"),
        ("`id`", "metacharacters"),
        ("x|y", "metacharacters"),
        ("10.0.0.*", "metacharacters"),
        ("10.0.0.1,2", "metacharacters"),
        ("10.0.0.256", "invalid address"),
        ("10.0.0.9-3", "invalid address"),
        ("1.2.3", "invalid address"),
        ("example.com/24", "invalid address"),
        ("-", "starts with '-'"),
        ("bad_host-.example", "invalid hostname"),
        ("::ffff:127.0.0.1", "IPv4-mapped"),  # 127.0.0.1, past --exclude 127.0.0.0/8
        ("[::ffff:7f00:1]", "IPv4-mapped"),
        ("::/64", "IPv4-mapped"),  # a network holding the mapped block
    ],
)
def test_refused_specs_say_why_and_where(spec: str, why: str) -> None:
    with pytest.raises(TargetError, match=why) as info:
        parse_spec(spec, "targets.txt:7")
    assert str(info.value).startswith("targets.txt:7: ")


def test_target_file_comments_blanks_and_missing_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "targets.txt"
    path.write_text("# inventory\n10.0.0.1  # web\n\n   \n10.0.0.2-3\nhost.example.com", "utf-8")
    specs = read_target_file(path)
    assert [s.text for s in specs] == ["10.0.0.1", "10.0.0.2-3", "host.example.com"]


def test_target_file_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("10.0.0.1\n10.0.0.2 ; rm -rf /\n", "utf-8")
    with pytest.raises(TargetError, match=rf"{path}:2: refused target"):
        read_target_file(path)


def test_unreadable_target_file_is_a_target_error(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="cannot read target file"):
        read_target_file(tmp_path / "missing.txt")


def test_an_endless_or_huge_target_file_is_refused_unread(tmp_path: Path) -> None:
    # Before: -iL /dev/zero held 2.4 GB after 5 s and kept growing.
    with pytest.raises(
        TargetError, match=r"^target file /dev/zero is larger than 16 MiB, not read"
    ):
        read_target_file(Path("/dev/zero"))
    huge = tmp_path / "huge.txt"
    huge.write_bytes(b"10.0.0.1\n" * ((MAX_TARGET_LIST_BYTES >> 3) + 1))
    with pytest.raises(TargetError, match="larger than 16 MiB"):
        read_target_file(huge)
    fits = tmp_path / "fits.txt"
    fits.write_bytes(b"10.0.0.1\n" * 1000)
    assert len(read_target_file(fits)) == 1000


def test_exclusions_cut_holes_and_merge_neighbours() -> None:
    assert lines(["10.0.0.0/29", "10.0.0.8"], ["10.0.0.2,10.0.0.4-5"]) == [
        "10.0.0.0/31", "10.0.0.3", "10.0.0.6/31", "10.0.0.8",
    ]  # fmt: skip


def test_hostnames_stand_for_their_addresses_and_exclusions_apply_to_them() -> None:
    resolution = Resolution(
        (("a.example", ("10.0.0.1", "10.0.0.2")), ("b.example", ("10.0.0.3",))), ("c.invalid",)
    )
    specs = parse_list(["a.example", "b.example", "c.invalid"], "t")
    scope = build_scope(specs, resolution=resolution)
    assert list(scope.lines()) == ["10.0.0.1", "10.0.0.2/31"]
    by_name = build_scope(specs, parse_list(["b.example"], "x"), resolution=resolution)
    assert list(by_name.lines()) == ["10.0.0.1", "10.0.0.2"]
    by_address = build_scope(specs, parse_list(["10.0.0.2"], "x"), resolution=resolution)
    assert list(by_address.lines()) == ["10.0.0.1", "10.0.0.3"]
    assert resolution.names() == {"10.0.0.1": "a.example", "10.0.0.2": "a.example",
                                  "10.0.0.3": "b.example"}  # fmt: skip


def test_everything_excluded_is_an_error() -> None:
    with pytest.raises(TargetError, match="every target is excluded"):
        build_scope(parse_list(["10.0.0.1"], "t"), parse_list(["10.0.0.0/24"], "x"))


def test_no_targets_is_an_error() -> None:
    with pytest.raises(TargetError, match="no targets"):
        build_scope([])


def test_scope_over_the_limit_needs_allow_large() -> None:
    specs = parse_list(["10.0.0.0/15"], "t")
    with pytest.raises(TargetError, match="131,072 addresses, over the limit of 65,536"):
        build_scope(specs)
    assert build_scope(specs, allow_large=True).size == 131072
    assert build_scope(parse_list(["10.0.0.0/16"], "t")).size == 65536


def test_a_huge_ipv6_scope_is_never_expanded() -> None:
    scope = build_scope(parse_list(["fd00::/64"], "t"), allow_large=True)
    assert scope.size == 2**64
    assert list(scope.lines()) == ["fd00::/64"]


def test_split_is_balanced_deterministic_and_complete() -> None:
    scope = build_scope(parse_list(["10.0.0.0/28", "10.0.1.0/30", "fe80::1%eth0"], "t"))
    parts = scope.split(3)
    assert [p.size for p in parts] == [7, 7, 7]
    assert parts == scope.split(3)
    covered = [iv for p in parts for iv in p.intervals]
    assert sum(iv.size for iv in covered) == 20
    assert parts[-1].scoped == ("fe80::1%eth0",)


def test_split_never_makes_empty_parts() -> None:
    scope = build_scope(parse_list(["10.0.0.1-2"], "t"))
    assert [p.size for p in scope.split(8)] == [1, 1]


def test_family_separates_ip_versions() -> None:
    scope = build_scope(parse_list(["10.0.0.1", "fd00::1", "fe80::1%eth0"], "t"))
    assert list(scope.family(4).lines()) == ["10.0.0.1"]
    assert list(scope.family(6).lines()) == ["fd00::1", "fe80::1%eth0"]


def test_interval_networks_are_minimal() -> None:
    assert list(Interval(4, 0x0A000001, 0x0A00000A).networks()) == [
        "10.0.0.1", "10.0.0.2/31", "10.0.0.4/30", "10.0.0.8/31", "10.0.0.10",
    ]  # fmt: skip


def test_shards_cover_the_scope_exactly_once_and_can_be_empty() -> None:
    from brulee.core.scan import Shard

    scope = build_scope(parse_list(["10.0.0.0/28", "fe80::1%eth0"], "t"))
    shards = [scope.shard(i, 4) for i in range(1, 5)]
    assert [s.size for s in shards] == [4, 4, 4, 5]
    assert shards == [scope.shard(i, 4) for i in range(1, 5)]  # deterministic
    assert [line for s in shards for line in s.lines()] == [
        "10.0.0.0/30", "10.0.0.4/30", "10.0.0.8/30", "10.0.0.12/30", "fe80::1%eth0",
    ]  # fmt: skip
    tiny = build_scope(parse_list(["10.0.0.1"], "t"))
    assert [tiny.shard(i, 3).size for i in (1, 2, 3)] == [0, 0, 1]
    assert str(Shard.parse("3/16")) == "3/16"
    for bad in ("0/4", "5/4", "1", "a/b", "1/0"):
        with pytest.raises(TargetError, match="expected I/N"):
            Shard.parse(bad)


def test_auto_shard_comes_from_the_indexed_job() -> None:
    from brulee.core.scan import Shard

    assert Shard.parse("auto/8", {"JOB_COMPLETION_INDEX": "0"}) == Shard(1, 8)
    assert Shard.parse("auto/8", {"JOB_COMPLETION_INDEX": "7"}) == Shard(8, 8)
    with pytest.raises(TargetError, match="expected I/N"):
        Shard.parse("auto/8", {"JOB_COMPLETION_INDEX": "8"})
    with pytest.raises(TargetError, match="JOB_COMPLETION_INDEX is not set"):
        Shard.parse("auto/8", {})


@pytest.mark.parametrize(
    ("spec", "reading"),
    [
        ("0x7f.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0X7F.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("010.0.0.1", "8.0.0.1"),
        ("1.2.3", "1.2.0.3"),
    ],
)
def test_spellings_resolvers_read_as_another_address_are_refused(spec: str, reading: str) -> None:
    # A resolver (and Nmap) reads these as an address; an exclusion of that address would not
    # match the text, so brulee refuses them and names the address they stand for.
    with pytest.raises(TargetError, match=f"invalid address '{spec}'.* read it as {reading};"):
        parse_spec(spec, "t")


def test_exclusions_stop_localhost_by_its_address() -> None:
    specs = parse_list(["localhost", "10.0.0.1"], "t")
    resolution = resolve(specs)
    assert resolution.addresses == (("localhost", ("127.0.0.1",)),)
    scope = build_scope(specs, parse_list(["127.0.0.0/8"], "x"), resolution=resolution)
    assert list(scope.lines()) == ["10.0.0.1"]
    with pytest.raises(TargetError, match="every target is excluded"):
        build_scope(specs[:1], parse_list(["127.0.0.0/8"], "x"), resolution=resolution)


def test_names_that_do_not_resolve_are_left_out_and_named() -> None:
    specs = parse_list(["nonexistent.invalid", "10.0.0.1", "localhost"], "t")
    resolution = resolve(specs)
    assert resolution.unresolved == ("nonexistent.invalid",)
    assert list(build_scope(specs, resolution=resolution).lines()) == ["10.0.0.1", "127.0.0.1"]
    only = parse_list(["nonexistent.invalid", "other.invalid"], "t")
    with pytest.raises(TargetError, match=r"nonexistent\.invalid, other\.invalid did not resolve"):
        build_scope(only, resolution=resolve(only))


def test_octet_ranges_are_sized_before_they_are_expanded() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(TargetError, match=r"holds 16,777,216 addresses in 16,777,216 separate"):
        parse_spec("0-255.0-255.0-255.1", "t")
    with pytest.raises(TargetError, match="over the limit of 65,536"):
        build_scope(parse_list(["10.0-255.0-255.0-255"], "t"))
    assert time.monotonic() - started < 1
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB
    # Trailing full octets join into one block per combination of the leading ones.
    assert parse_spec("10.0.1-2.0-255").intervals == (Interval(4, 0x0A000100, 0x0A0002FF),)
    assert len(parse_spec("10.1-4.0-255.7").intervals) == 1024
    assert list(build_scope([parse_spec("10.0.0-255.1-2")]).lines())[:2] == [
        "10.0.0.1", "10.0.0.2",
    ]  # fmt: skip


def test_ipv6_zone_ids_are_kept_and_excluded_by_address() -> None:
    assert list(build_scope(parse_list(["[fe80::1%eth0]"], "t")).lines()) == ["fe80::1%eth0"]
    specs = parse_list(["fe80::1%eth0", "fd00::1"], "t")
    assert list(build_scope(specs, parse_list(["fe80::/10"], "x")).lines()) == ["fd00::1"]
    with pytest.raises(TargetError, match="invalid scoped IPv6 address"):
        parse_spec("10.0.0.1%eth0", "t")
