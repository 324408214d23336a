"""Downloads against a real HTTP server on loopback (the feed server, with its faults): resuming
with Range, servers that ignore it or refuse it, statuses retried or final, giving up; file://
URLs; the rate limiter. Waits go to an injected clock, so nothing here really sleeps."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from brulee import __version__
from brulee.vulndb.download import (
    FETCH_LIMIT,
    DownloadError,
    NotFound,
    RateLimiter,
    Transport,
    download,
    fetch,
)
from tests.vulndb.feedserver import Fault, FeedServer, serve
from tests.vulndb.test_update import FakeTime
from tests.vulndb.test_update import _transport as transport_on

DATA = bytes(range(256)) * 1000  # 256,000 bytes: several reads of 64 KiB
SMALL = b'{"cves": 3}\n'
CUT = 100_000


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """What the server serves: ``/data.bin`` and ``/small.json``."""
    directory = tmp_path / "upstream"
    directory.mkdir()
    (directory / "data.bin").write_bytes(DATA)
    (directory / "small.json").write_bytes(SMALL)
    return directory


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def transport(fake_time: FakeTime) -> Transport:
    """Four tries, waits of 1 s then doubling, on the fake clock."""
    return transport_on(fake_time)


@pytest.fixture
def server(root: Path) -> Iterator[FeedServer]:
    yield from serve(root)


def statuses(server: FeedServer) -> list[int]:
    return [seen.status for seen in server.seen]


def test_fetch_a_small_file(server: FeedServer, transport: Transport) -> None:
    body = fetch(server.url + "small.json", transport, headers={"X-Test": "yes"})
    assert body == SMALL
    (seen,) = server.seen
    assert seen.headers["user-agent"] == f"brulee/{__version__}"
    assert seen.headers["x-test"] == "yes"


def test_download_a_file_with_progress(
    server: FeedServer, transport: Transport, fake_time: FakeTime, tmp_path: Path
) -> None:
    part = tmp_path / "data.bin.part"
    progress: list[tuple[str, int, int | None]] = []
    size = download(server.url + "data.bin", part, transport, label="feed",
                    progress=lambda *a: progress.append(a))  # fmt: skip
    assert size == len(DATA)
    assert part.read_bytes() == DATA
    assert progress[-1] == ("feed", len(DATA), len(DATA))
    assert [done for _, done, _ in progress] == sorted({done for _, done, _ in progress})
    assert server.seen[0].headers["accept-encoding"] == "identity"
    assert "range" not in server.seen[0].headers
    assert fake_time.sleeps == []


def test_a_cut_transfer_resumes_with_range(
    server: FeedServer, transport: Transport, fake_time: FakeTime, tmp_path: Path
) -> None:
    server.fault("/data.bin", Fault(drop_after=CUT))
    part = tmp_path / "data.bin.part"
    assert download(server.url + "data.bin", part, transport, label="feed") == len(DATA)
    assert part.read_bytes() == DATA
    assert statuses(server) == [200, 206]
    resumed = server.seen[1].headers
    assert resumed["range"] == f"bytes={CUT}-"
    assert resumed["if-range"].startswith('"')  # the ETag of the first answer
    assert fake_time.sleeps == [1.0]


def test_a_file_that_changed_meanwhile_comes_whole(
    server: FeedServer, transport: Transport, tmp_path: Path
) -> None:
    """If-Range carries the first answer's ETag: the server sends the new file whole."""
    old = bytes(reversed(DATA))
    server.fault("/data.bin", Fault(body=old, drop_after=CUT))
    part = tmp_path / "data.bin.part"
    assert download(server.url + "data.bin", part, transport, label="feed") == len(DATA)
    assert part.read_bytes() == DATA
    assert statuses(server) == [200, 200]
    assert server.seen[1].headers["range"] == f"bytes={CUT}-"


def test_a_partial_file_already_there_is_resumed(
    server: FeedServer, transport: Transport, tmp_path: Path
) -> None:
    part = tmp_path / "data.bin.part"
    part.write_bytes(DATA[:CUT])
    assert download(server.url + "data.bin", part, transport, label="feed") == len(DATA)
    assert part.read_bytes() == DATA
    assert statuses(server) == [206]
    assert server.seen[0].headers["range"] == f"bytes={CUT}-"
    assert "if-range" not in server.seen[0].headers  # nothing known to validate it with


def test_a_server_that_ignores_range_sends_the_whole_file(
    root: Path, transport: Transport, tmp_path: Path
) -> None:
    part = tmp_path / "data.bin.part"
    part.write_bytes(b"stale bytes of some other version")
    with FeedServer(root, ranges=False) as server:
        assert download(server.url + "data.bin", part, transport, label="feed") == len(DATA)
    assert part.read_bytes() == DATA  # replaced, not appended to
    assert statuses(server) == [200]
    assert server.seen[0].headers["range"] == "bytes=33-"


def test_range_not_satisfiable_starts_again(
    server: FeedServer, transport: Transport, fake_time: FakeTime, tmp_path: Path
) -> None:
    part = tmp_path / "data.bin.part"
    part.write_bytes(DATA + b"more than the server has")
    assert download(server.url + "data.bin", part, transport, label="feed") == len(DATA)
    assert part.read_bytes() == DATA
    assert statuses(server) == [416, 200]
    assert "range" not in server.seen[1].headers
    assert fake_time.sleeps == []  # starting again needs no wait


@pytest.mark.parametrize("status", [404, 410])
def test_missing_files_are_not_found_at_once(
    server: FeedServer, transport: Transport, tmp_path: Path, status: int
) -> None:
    server.fault("/small.json", Fault(status=status))
    with pytest.raises(NotFound, match=f"small.json: HTTP {status} "):
        fetch(server.url + "small.json", transport)
    part = tmp_path / "gone.part"
    with pytest.raises(NotFound, match="gone: HTTP 404 Not Found"):
        download(server.url + "gone", part, transport, label="gone")
    assert statuses(server) == [status, 404]  # neither retried
    assert not part.exists()


def test_retry_after_is_honoured_then_success(
    server: FeedServer, transport: Transport, fake_time: FakeTime, tmp_path: Path
) -> None:
    server.fault("/data.bin", Fault(status=503, retry_after="7"), Fault(status=429))
    part = tmp_path / "data.bin.part"
    assert download(server.url + "data.bin", part, transport, label="feed") == len(DATA)
    assert part.read_bytes() == DATA
    assert statuses(server) == [503, 429, 200]
    assert fake_time.sleeps == [7.0, 2.0]  # the server's wait, then the backoff of try 2


def test_retry_after_is_capped(server: FeedServer, fake_time: FakeTime) -> None:
    transport = transport_on(fake_time, max_wait=30.0)
    server.fault("/small.json", Fault(status=503, retry_after="3600"))
    assert fetch(server.url + "small.json", transport) == SMALL
    assert fake_time.sleeps == [30.0]


def test_giving_up_after_the_attempts(server: FeedServer, fake_time: FakeTime) -> None:
    transport = transport_on(fake_time, attempts=3)
    server.fault("/small.json", *(Fault(status=503) for _ in range(3)))
    url = server.url + "small.json"
    expected = f"cannot download {url}: HTTP 503 Service Unavailable (gave up after 3 attempts)"
    with pytest.raises(DownloadError, match=f"^{re.escape(expected)}$") as caught:
        fetch(url, transport)
    assert not isinstance(caught.value, NotFound)
    assert statuses(server) == [503, 503, 503]
    assert fake_time.sleeps == [1.0, 2.0]


def test_a_download_that_keeps_failing_leaves_its_part_for_a_resume(
    server: FeedServer, fake_time: FakeTime, tmp_path: Path
) -> None:
    transport = transport_on(fake_time, attempts=2)
    server.fault("/data.bin", Fault(drop_after=CUT), Fault(drop_after=CUT))
    part = tmp_path / "data.bin.part"
    with pytest.raises(DownloadError, match=r"\(gave up after 2 attempts\)$"):
        download(server.url + "data.bin", part, transport, label="feed")
    assert part.read_bytes() == DATA[: 2 * CUT]
    assert download(server.url + "data.bin", part, transport, label="feed") == len(DATA)
    assert part.read_bytes() == DATA
    assert server.seen[-1].headers["range"] == f"bytes={2 * CUT}-"


def test_a_cut_fetch_is_tried_again(
    server: FeedServer, transport: Transport, fake_time: FakeTime
) -> None:
    server.fault("/data.bin", Fault(drop_after=CUT))
    assert fetch(server.url + "data.bin", transport) == DATA
    assert statuses(server) == [200, 200]
    assert "range" not in server.seen[1].headers
    assert fake_time.sleeps == [1.0]


def test_forbidden_is_final_unless_asked_to_retry_it(
    server: FeedServer, transport: Transport, fake_time: FakeTime
) -> None:
    url = server.url + "small.json"
    server.fault("/small.json", Fault(status=403))
    with pytest.raises(DownloadError, match=r"HTTP 403 Forbidden$"):
        fetch(url, transport)
    assert fake_time.sleeps == []
    server.fault("/small.json", Fault(status=403, retry_after="5"))
    assert fetch(url, transport, retry_forbidden=True) == SMALL
    assert statuses(server) == [403, 403, 200]
    assert fake_time.sleeps == [5.0]


def test_other_client_errors_are_final(server: FeedServer, transport: Transport) -> None:
    server.fault("/small.json", Fault(status=400))
    with pytest.raises(DownloadError, match=r"HTTP 400 Bad Request$"):
        fetch(server.url + "small.json", transport)
    assert statuses(server) == [400]


def test_a_server_that_is_not_there_is_retried_then_given_up(fake_time: FakeTime) -> None:
    with FeedServer(Path()) as gone:
        url = gone.url + "small.json"
    transport = transport_on(fake_time, attempts=2)
    with pytest.raises(DownloadError, match=r"refused.*\(gave up after 2 attempts\)$"):
        fetch(url, transport)
    assert fake_time.sleeps == [1.0]


def test_other_schemes_are_refused(transport: Transport) -> None:
    with pytest.raises(DownloadError, match="only http://, https:// and file:// URLs work"):
        fetch("ftp://ftp.example.test/feed.json", transport)


def test_file_urls_are_read_and_copied(transport: Transport, root: Path, tmp_path: Path) -> None:
    source = root / "data.bin"
    assert fetch(source.as_uri(), transport) == DATA
    assert fetch(f"file://localhost{source}", transport) == DATA
    part = tmp_path / "copy.part"
    part.write_bytes(b"an older partial copy")
    progress: list[tuple[str, int, int | None]] = []
    size = download(source.as_uri(), part, transport, label="local",
                    progress=lambda *a: progress.append(a))  # fmt: skip
    assert size == len(DATA)
    assert part.read_bytes() == DATA
    assert progress[-1] == ("local", len(DATA), len(DATA))


def test_a_missing_local_file_is_not_found(transport: Transport, tmp_path: Path) -> None:
    url = (tmp_path / "absent.json").as_uri()
    with pytest.raises(NotFound, match=f"^{re.escape(url)}: no such file$"):
        fetch(url, transport)
    part = tmp_path / "absent.part"
    part.write_bytes(b"left from before")
    with pytest.raises(NotFound, match="no such file"):
        download(url, part, transport, label="absent")
    assert not part.exists()


def test_a_file_url_must_name_a_local_path(transport: Transport, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="a file:// URL must name a local path"):
        fetch("file://fileserver.example.test/feeds/nvd.json", transport)
    with pytest.raises(DownloadError, match="cannot read file://"):
        fetch(tmp_path.as_uri(), transport)  # a directory


def test_rate_limiter_keeps_a_sliding_window(fake_time: FakeTime, transport: Transport) -> None:
    limiter = RateLimiter(2, 10.0, transport)
    limiter.wait()
    limiter.wait()
    assert fake_time.sleeps == []
    limiter.wait()  # the third within 10 s waits for the first to leave the window
    assert fake_time.sleeps == [10.0]
    limiter.wait()  # the second left the window while the third waited
    assert fake_time.sleeps == [10.0]
    fake_time.now += 4.0
    limiter.wait()  # the third and fourth went at 1010: 6 s more
    assert fake_time.sleeps == [10.0, 6.0]
    fake_time.now += 60.0
    limiter.wait()
    limiter.wait()
    assert fake_time.sleeps == [10.0, 6.0]


def test_the_rate_limiter_counts_every_try(
    server: FeedServer, transport: Transport, fake_time: FakeTime
) -> None:
    limiter = RateLimiter(1, 30.0, transport)
    server.fault("/small.json", Fault(status=503, retry_after="0"))
    assert fetch(server.url + "small.json", transport, limiter=limiter) == SMALL
    assert fake_time.sleeps == [30.0]  # Retry-After 0, but the second request waits its turn
    assert statuses(server) == [503, 200]


def test_fetch_refuses_a_body_larger_than_its_limit(tmp_path: Path, transport: Transport) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as sparse:
        sparse.truncate(FETCH_LIMIT + 1)
    with pytest.raises(DownloadError, match=f"larger than {FETCH_LIMIT:,} bytes; refused"):
        fetch(huge.as_uri(), transport)
