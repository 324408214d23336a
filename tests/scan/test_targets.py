"""Targets: parsing, refusal of hostile specs, exclusions, scope limit, splitting."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from brulee.errors import TargetError
from brulee.scan.targets import Interval, build_scope, parse_list, parse_spec, read_target_file


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
        ("db.example.com", 1),
        ("fe80::1%eth0", 1),
    ],
)
def test_valid_specs_and_their_size(spec: str, size: int) -> None:
    assert build_scope([parse_spec(spec)]).size == size


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


def test_exclusions_cut_holes_and_merge_neighbours() -> None:
    assert lines(["10.0.0.0/29", "10.0.0.8"], ["10.0.0.2,10.0.0.4-5"]) == [
        "10.0.0.0/31", "10.0.0.3", "10.0.0.6/31", "10.0.0.8",
    ]  # fmt: skip


def test_hostname_exclusions_are_kept_for_nmap() -> None:
    scope = build_scope(parse_list(["a.example", "b.example"], "t"), parse_list(["b.example"], "x"))
    assert scope.hostnames == ("a.example",)
    assert scope.excluded_hostnames == ("b.example",)


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
    scope = build_scope(parse_list(["10.0.0.0/28", "10.0.1.0/30", "h.example"], "t"))
    parts = scope.split(3)
    assert [p.size for p in parts] == [7, 7, 7]
    assert parts == scope.split(3)
    covered = [iv for p in parts for iv in p.intervals]
    assert sum(iv.size for iv in covered) == 20
    assert parts[-1].hostnames == ("h.example",)


def test_split_never_makes_empty_parts() -> None:
    scope = build_scope(parse_list(["10.0.0.1-2"], "t"))
    assert [p.size for p in scope.split(8)] == [1, 1]


def test_family_separates_ip_versions() -> None:
    scope = build_scope(parse_list(["10.0.0.1", "fd00::1", "h.example"], "t"))
    assert scope.family(4).size == 2
    assert list(scope.family(6).lines()) == ["fd00::1"]


def test_interval_networks_are_minimal() -> None:
    assert list(Interval(4, 0x0A000001, 0x0A00000A).networks()) == [
        "10.0.0.1", "10.0.0.2/31", "10.0.0.4/30", "10.0.0.8/31", "10.0.0.10",
    ]  # fmt: skip


def test_shards_cover_the_scope_exactly_once_and_can_be_empty() -> None:
    from brulee.core.scan import Shard

    scope = build_scope(parse_list(["10.0.0.0/28", "h.example"], "t"))
    shards = [scope.shard(i, 4) for i in range(1, 5)]
    assert [s.size for s in shards] == [4, 4, 4, 5]
    assert shards == [scope.shard(i, 4) for i in range(1, 5)]  # deterministic
    assert [line for s in shards for line in s.lines()] == [
        "10.0.0.0/30", "10.0.0.4/30", "10.0.0.8/30", "10.0.0.12/30", "h.example",
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
