#!/usr/bin/env python3
"""Slow-client (slowloris) checks against a running `echo` example server.

Loopback only: the target host must be 127.0.0.1. Every connection and every
loop is bounded in count and in time; the script stops by itself.

Scenarios (SECURITY.md T11/T29, issue 10 "A slow client cannot hold a
connection"):

  a  request head never finished (nothing sent / a partial head / a head
     trickled one byte a second): closed within the header-read timeout + slack
  b  POST, any 40-hex msg_signature + current timestamp, Content-Length 557,
     stops after 10 body bytes: 408 + closed within the body deadline + slack
  c  the same, one body byte every 5 s: 408 + closed within the body deadline + slack
  d  idle keep-alive connection after a complete request: closed within the
     idle (= header-read) timeout + slack
  e  N concurrent stalled bodies (default 3000; headers with Content-Length
     65000 and --stall-bytes of the body, then nothing), in two waves: every
     one answered 408 and closed within the body deadline + slack; server RSS
     (/proc/PID/status VmRSS) at start, at peak and +1/+3/+5 s after they
     closed; the server still answers afterwards.

RSS pass criteria for e (chosen after measuring, see tests/hostile_net/README.md):
  * peak growth per stalled connection <= body bytes sent + 32 KiB: memory
    follows what arrived, nothing is reserved on the word of Content-Length;
  * no per-wave accumulation: the second wave raises the peak by at most 80%
    of what the first did (a leak adds the same every wave; glibc's reuse of
    freed, fragmented memory adds less and less);
  * back near its start: glibc keeps freed pages (RSS stays at the peak after
    the close, whatever MALLOC_TRIM_THRESHOLD_ says), so when gdb is available
    the script calls malloc_trim(0) in the server and then requires RSS <=
    start + 16 MiB - which shows the memory was freed, not held. Without gdb
    (or without ptrace rights) that check is skipped and says so; the
    untrimmed figure is always printed.

Prints one line per check with its figures and a closing `N passed, M failed`
line; exits 1 if anything failed.

Usage:
    slowloris.py --port PORT [--pid SERVER_PID] [--only a,b,c,d,e]
                 [--stalled 3000] [--stall-bytes 8192] [--waves 2] [--no-gdb]
                 [--slack 2.5] [--slack-e 4]

Needs only the Python 3.11 standard library. When `wechatpy` is importable
(tests/interop/.venv), scenario d also runs after a valid signed request
answered 200; without it, only after a rejected one.
"""

import argparse
import asyncio
import os
import resource
import secrets
import sys
import time

HOST = "127.0.0.1"  # never anything else
PATH = "/wecom/callback"
TOKEN = os.environ.get("WECOM_TOKEN", "QDG6eK")
AES_KEY = os.environ.get("WECOM_ENCODING_AES_KEY", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C")
CORP_ID = os.environ.get("WECOM_CORP_ID", "wx5823bf96d3bd56c7")

# What the echo example is configured with (examples/support/serve.rs and the
# layer's default body timeout).
HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 5.0

# Upper bound on how long any single observation waits for a close.
OBSERVE_LIMIT = 40.0


# ---------------------------------------------------------------- helpers ---


def query(signature=None, timestamp=None, nonce=None):
    """A query that passes the layer's pre-checks: 40 hex, a current timestamp, a nonce."""
    signature = signature or secrets.token_hex(20)
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or str(secrets.randbelow(10**10))
    return "msg_signature=%s&timestamp=%s&nonce=%s" % (signature, timestamp, nonce)


def post_head(content_length, qs=None, extra=""):
    return (
        "POST %s?%s HTTP/1.1\r\n"
        "Host: %s\r\n"
        "Content-Type: text/xml\r\n"
        "Content-Length: %d\r\n"
        "%s"
        "\r\n" % (PATH, qs or query(), HOST, content_length, extra)
    ).encode()


def filler(n):
    """`n` body bytes that look like the start of an envelope."""
    base = b"<xml><ToUserName><![CDATA[ww]]></ToUserName><Encrypt><![CDATA["
    if n <= len(base):
        return base[:n]
    return base + b"A" * (n - len(base))


def status_of(data):
    """The status code of the first response in `data`, or None."""
    if not data.startswith(b"HTTP/1."):
        return None
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return None


def header_of(data, name):
    head = data.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower().encode():
            return value.strip().decode("latin-1")
    return None


def rss_kib(pid):
    """VmRSS of `pid` in KiB, or None."""
    if not pid:
        return None
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def mib(kib):
    return "n/a" if kib is None else "%.1f MiB" % (kib / 1024)


async def connect():
    return await asyncio.wait_for(asyncio.open_connection(HOST, ARGS.port), 10)


async def read_until_closed(reader, started, limit):
    """Reads until EOF/reset or `limit` seconds after `started` (monotonic).

    Returns (closed_after_s or None if still open, bytes received, how,
    first_byte_after_s)."""
    data = bytearray()
    first = None
    while True:
        left = started + limit - time.monotonic()
        if left <= 0:
            return None, bytes(data), "still open", first
        try:
            chunk = await asyncio.wait_for(reader.read(65536), left)
        except asyncio.TimeoutError:
            return None, bytes(data), "still open", first
        except (ConnectionResetError, BrokenPipeError) as e:
            return time.monotonic() - started, bytes(data), "reset (%s)" % type(e).__name__, first
        if not chunk:
            return time.monotonic() - started, bytes(data), "EOF", first
        if first is None:
            first = time.monotonic() - started
        data += chunk


async def read_one_response(reader, limit):
    """Reads one HTTP/1.1 response with a Content-Length body; returns the raw bytes."""
    data = bytearray()
    deadline = time.monotonic() + limit
    while b"\r\n\r\n" not in data:
        chunk = await asyncio.wait_for(reader.read(65536), max(0.01, deadline - time.monotonic()))
        if not chunk:
            raise ConnectionError("closed before a response head (%d bytes)" % len(data))
        data += chunk
    head, _, rest = bytes(data).partition(b"\r\n\r\n")
    length = int(header_of(head + b"\r\n\r\n", "content-length") or 0)
    while len(rest) < length:
        chunk = await asyncio.wait_for(reader.read(65536), max(0.01, deadline - time.monotonic()))
        if not chunk:
            raise ConnectionError("closed inside a response body")
        rest += chunk
    return head + b"\r\n\r\n" + rest


def close_writer(writer):
    try:
        writer.close()
    except Exception:
        pass


# ----------------------------------------------------------------- checks ---


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print("%s %s: %s" % ("PASS" if ok else "FAIL", name, detail), flush=True)


async def scenario_a(results, variant):
    """A request head that is never finished."""
    reader, writer = await connect()
    started = time.monotonic()
    limit = HEADER_TIMEOUT + ARGS.slack
    head = post_head(557)
    trickle_task = None
    if variant == "nothing":
        pass
    elif variant == "partial":
        writer.write(head[: len(head) // 2])  # request line and some headers
        await writer.drain()
    elif variant == "trickle":
        # One byte a second: each read makes progress, none finishes the head.
        async def trickle():
            for i in range(int(OBSERVE_LIMIT)):
                if i >= len(head) - 4:  # never the final CRLF CRLF
                    return
                try:
                    writer.write(head[i : i + 1])
                    await writer.drain()
                except (ConnectionError, OSError):
                    return
                await asyncio.sleep(1.0)

        trickle_task = asyncio.ensure_future(trickle())
    closed, data, how, _ = await read_until_closed(reader, started, OBSERVE_LIMIT)
    if trickle_task:
        trickle_task.cancel()
    close_writer(writer)
    ok = closed is not None and closed <= limit
    results.check(
        "a/%s head never finished: closed within %.0f s + %.1f s" % (variant, HEADER_TIMEOUT, ARGS.slack),
        ok,
        "closed after %s (%s), response status %s"
        % ("%.2f s" % closed if closed is not None else "> %.0f s" % OBSERVE_LIMIT, how, status_of(data)),
    )


async def stalled_body(results, name, trickle_every=None):
    """POST with Content-Length 557 and 10 body bytes (b), or one byte every
    `trickle_every` seconds (c)."""
    reader, writer = await connect()
    sent = 10 if trickle_every is None else 1
    writer.write(post_head(557) + filler(sent))
    await writer.drain()
    started = time.monotonic()
    limit = BODY_TIMEOUT + ARGS.slack
    trickle_task = None
    if trickle_every is not None:

        async def trickle():
            nonlocal sent
            for _ in range(int(OBSERVE_LIMIT / trickle_every) + 1):
                await asyncio.sleep(trickle_every)
                if sent >= 556:
                    return
                try:
                    writer.write(filler(sent + 1)[sent:])
                    await writer.drain()
                    sent += 1
                except (ConnectionError, OSError):
                    return

        trickle_task = asyncio.ensure_future(trickle())
    closed, data, how, first = await read_until_closed(reader, started, OBSERVE_LIMIT)
    if trickle_task:
        trickle_task.cancel()
    close_writer(writer)
    status = status_of(data)
    connection = header_of(data, "connection") if status else None
    ok = status == 408 and closed is not None and closed <= limit
    results.check(
        "%s: 408 and closed within %.0f s + %.1f s" % (name, BODY_TIMEOUT, ARGS.slack),
        ok,
        "status %s after %s, Connection: %s, closed after %s (%s), %d body bytes sent"
        % (
            status,
            "%.2f s" % first if first is not None else "-",
            connection,
            "%.2f s" % closed if closed is not None else "> %.0f s" % OBSERVE_LIMIT,
            how,
            sent,
        ),
    )


def valid_request():
    """A valid signed, encrypted text message (needs wechatpy), or None."""
    try:
        from wechatpy.enterprise.crypto import WeChatCrypto
    except ImportError:
        return None
    import re

    ts = str(int(time.time()))
    nonce = str(secrets.randbelow(10**10))
    msg_id = str(secrets.randbelow(10**18))
    xml = (
        "<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[slowloris-idle]]></FromUserName>"
        "<CreateTime>%s</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[idle]]></Content>"
        "<MsgId>%s</MsgId><AgentID>1</AgentID></xml>" % (CORP_ID, ts, msg_id)
    )
    envelope = WeChatCrypto(TOKEN, AES_KEY, CORP_ID).encrypt_message(xml, nonce, ts)
    signature = re.search(r"<MsgSignature><!\[CDATA\[([0-9a-f]{40})\]\]>", envelope).group(1)
    encrypt = re.search(r"<Encrypt><!\[CDATA\[([^\]]+)\]\]>", envelope).group(1)
    body = (
        "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt>"
        "<AgentID><![CDATA[1]]></AgentID></xml>" % (CORP_ID, encrypt)
    ).encode()
    return post_head(len(body), query(signature, ts, nonce)) + body, 200


def rejected_request():
    """A complete, well-formed POST with a wrong (random) signature: 403."""
    body = (
        "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt>"
        "<AgentID><![CDATA[1]]></AgentID></xml>" % (CORP_ID, "QUJD" * 32)
    ).encode()
    return post_head(len(body)) + body, 403


async def scenario_d(results, variant):
    """An idle keep-alive connection after a complete request."""
    built = valid_request() if variant == "after-200" else rejected_request()
    if built is None:
        print("SKIP d/%s: wechatpy not importable" % variant, flush=True)
        return
    request, expected = built
    reader, writer = await connect()
    writer.write(request)
    await writer.drain()
    try:
        response = await read_one_response(reader, 10)
    except (ConnectionError, OSError, asyncio.TimeoutError) as e:
        close_writer(writer)
        results.check("d/%s idle keep-alive" % variant, False, "no response: %s" % e)
        return
    status = status_of(response)
    connection = header_of(response, "connection")
    started = time.monotonic()
    closed, data, how, _ = await read_until_closed(reader, started, OBSERVE_LIMIT)
    close_writer(writer)
    limit = HEADER_TIMEOUT + ARGS.slack
    ok = status == expected and closed is not None and closed <= limit and not data
    results.check(
        "d/%s idle keep-alive closed within %.0f s + %.1f s" % (variant, HEADER_TIMEOUT, ARGS.slack),
        ok,
        "request answered %s (expected %d, Connection: %s), then idle connection closed after %s (%s)%s"
        % (
            status,
            expected,
            connection,
            "%.2f s" % closed if closed is not None else "> %.0f s" % OBSERVE_LIMIT,
            how,
            ", unexpected bytes %r" % data[:80] if data else "",
        ),
    )


async def health(results, name):
    """The server still answers a complete request (403 for a random signature)."""
    request, expected = rejected_request()
    try:
        reader, writer = await connect()
        writer.write(request)
        await writer.drain()
        response = await read_one_response(reader, 10)
        close_writer(writer)
        status = status_of(response)
        results.check(name, status == expected, "answered %s (expected %d)" % (status, expected))
    except (ConnectionError, OSError, asyncio.TimeoutError) as e:
        results.check(name, False, "no answer: %s: %s" % (type(e).__name__, e))


async def stalled_wave(results, label):
    """N concurrent stalled bodies: closing times and statuses checked; returns
    the server's RSS (start, peak, [after +1 s, +3 s, +5 s]) in KiB."""
    n = ARGS.stalled
    content_length = 65000
    part = ARGS.stall_bytes
    pid = ARGS.pid
    samples = []
    stop_sampling = asyncio.Event()

    async def sample():
        for _ in range(int(300 / 0.1)):  # at most 300 s
            samples.append(rss_kib(pid))
            try:
                await asyncio.wait_for(stop_sampling.wait(), 0.1)
                return
            except asyncio.TimeoutError:
                pass

    # Let earlier connections go away before the baseline.
    await asyncio.sleep(1.0)
    start_kib = rss_kib(pid)
    sampler = asyncio.ensure_future(sample())

    conns = []  # (reader, writer, sent_at)
    connect_errors = []
    t_open = time.monotonic()

    async def open_one():
        try:
            reader, writer = await connect()
            writer.write(post_head(content_length) + filler(part))
            await writer.drain()
            conns.append((reader, writer, time.monotonic()))
        except (OSError, asyncio.TimeoutError) as e:
            connect_errors.append("%s: %s" % (type(e).__name__, e))

    batch = 250  # below the listen backlog
    for i in range(0, n, batch):
        await asyncio.gather(*(open_one() for _ in range(min(batch, n - i))))
    opened_in = time.monotonic() - t_open

    async def observe(reader, writer, sent_at):
        closed, data, how, _ = await read_until_closed(reader, sent_at, BODY_TIMEOUT + 15)
        close_writer(writer)
        return closed, status_of(data), how

    outcomes = await asyncio.gather(*(observe(r, w, t) for r, w, t in conns))

    after = []
    # RSS at +1 s, +3 s, +5 s and +15 s after the last close (the echo's
    # jemalloc purges freed pages on a ~10 s decay, in a background thread).
    for wait in (1.0, 2.0, 2.0, 10.0):
        await asyncio.sleep(wait)
        after.append(rss_kib(pid))
    stop_sampling.set()
    await sampler
    peak_kib = max([k for k in samples if k is not None], default=None)

    closed_times = sorted(c for c, _, _ in outcomes if c is not None)
    still_open = sum(1 for c, _, _ in outcomes if c is None)
    limit = BODY_TIMEOUT + ARGS.slack_e
    late = sum(1 for c in closed_times if c > limit)
    statuses = {}
    for _, st, how in outcomes:
        key = str(st) if st is not None else "no response (%s)" % how
        statuses[key] = statuses.get(key, 0) + 1

    def pct(q):
        if not closed_times:
            return float("nan")
        return closed_times[min(len(closed_times) - 1, int(q / 100 * len(closed_times)))]

    print(
        "     %s: %d connections opened in %.2f s (%d connect errors%s); Content-Length %d, %d body bytes each"
        % (label, len(conns), opened_in, len(connect_errors), (": " + connect_errors[0]) if connect_errors else "",
           content_length, part),
        flush=True,
    )
    print(
        "     %s: closed after (from each one's last byte): min %.2f s, p50 %.2f s, p99 %.2f s, max %.2f s; "
        "statuses %s"
        % (label, closed_times[0] if closed_times else float("nan"), pct(50), pct(99),
           closed_times[-1] if closed_times else float("nan"),
           ", ".join("%s x%d" % kv for kv in sorted(statuses.items()))),
        flush=True,
    )
    results.check(
        "%s: %d stalled bodies all opened" % (label, n),
        len(conns) == n,
        "%d opened, %d failed to connect" % (len(conns), len(connect_errors)),
    )
    results.check(
        "%s: %d stalled bodies all closed within %.0f s + %.1f s" % (label, n, BODY_TIMEOUT, ARGS.slack_e),
        still_open == 0 and late == 0 and len(conns) == n,
        "%d closed in time, %d late, %d still open after %.0f s"
        % (len(closed_times) - late, late, still_open, BODY_TIMEOUT + 15),
    )
    got_408 = statuses.get("408", 0)
    results.check(
        "%s: stalled bodies answered 408" % label,
        got_408 == len(conns) and len(conns) > 0,
        "%d of %d saw a 408 before the close" % (got_408, len(conns)),
    )
    if start_kib is not None and peak_kib is not None and None not in after:
        grown = peak_kib - start_kib
        print(
            "     %s: server RSS start %s, peak %s (+%.1f MiB, %.1f KiB per stalled connection), "
            "after the close +1 s %s, +3 s %s, +5 s %s, +15 s %s"
            % (label, mib(start_kib), mib(peak_kib), grown / 1024, grown / max(1, n), mib(after[0]),
               mib(after[1]), mib(after[2]), mib(after[3])),
            flush=True,
        )
        # Nothing reserved on the word of Content-Length: the growth per
        # connection stays well under the declared 65000 bytes.
        per_conn_limit_kib = (part + ARGS.conn_overhead) / 1024
        results.check(
            "%s: peak growth per stalled connection <= %d body bytes sent + %d B" % (label, part, ARGS.conn_overhead),
            grown / max(1, n) <= per_conn_limit_kib,
            "%.1f KiB per connection (limit %.1f KiB; Content-Length declared %.1f KiB)"
            % (grown / max(1, n), per_conn_limit_kib, content_length / 1024),
        )
        return start_kib, peak_kib, after
    return None


def gdb_malloc_trim(pid):
    """Asks the server's allocator to hand its free pages back (glibc
    `malloc_trim(0)` called through gdb). Returns (RSS KiB after, None) or
    (None, why not)."""
    import shutil
    import subprocess

    gdb = shutil.which("gdb")
    if not gdb:
        return None, "gdb not installed"
    try:
        out = subprocess.run(
            [gdb, "-p", str(pid), "-batch", "-nx", "-ex", "call (int) malloc_trim(0)"],
            capture_output=True, text=True, timeout=60,
        )
    except subprocess.TimeoutExpired:
        return None, "gdb did not finish within 60 s"
    if "$1 = " not in out.stdout:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        return None, "gdb could not call malloc_trim (%s)" % last
    time.sleep(0.5)
    return rss_kib(pid), None


async def scenario_e(results):
    """Stalled bodies in waves (default two): every connection closed in
    time; RSS at start, peak and after; later waves add less and less (no
    leak); and what stays after the close is free memory the allocator keeps
    (malloc_trim(0) through gdb gives it back)."""
    if not ARGS.pid:
        print("     e: no --pid: RSS not measured", flush=True)
    waves = []
    for i in range(ARGS.waves):
        waves.append(await stalled_wave(results, "e%d" % (i + 1)))
    if None in waves:  # no RSS figures (no --pid, or /proc unreadable)
        print("     e: RSS checks skipped: server RSS not readable", flush=True)
        return
    s1, p1, _ = waves[0]
    a_last = waves[-1][2][-1]
    if len(waves) >= 2:
        # glibc keeps freed pages and fragments, so each wave may push RSS up a
        # little more, by less each time (measured: +73, +42, +19, +12, +8 MiB
        # over five waves, all of it free). A leak adds the same every wave.
        increments = [waves[0][1] - waves[0][0]] + [waves[i][1] - waves[i - 1][1] for i in range(1, len(waves))]
        ratio = ARGS.wave_ratio
        shrinking = all(increments[i] <= ratio * increments[i - 1] + 1024 for i in range(1, len(increments)))
        results.check(
            "e: no per-wave accumulation: each wave raises the peak RSS by <= %.0f%% of what the wave before did"
            % (100 * ratio),
            shrinking,
            "peak RSS %s (increments %s)"
            % (" -> ".join(mib(w[1]) for w in waves), ", ".join("%+.1f MiB" % (k / 1024) for k in increments)),
        )
    results.check(
        "e: RSS back near its start without help, 15 s after the last close: <= start + %d MiB" % ARGS.rss_keep_mib,
        a_last - s1 <= ARGS.rss_keep_mib * 1024,
        "start %s, first wave's peak %s, after the last wave %s (%+.1f MiB); the echo example runs on jemalloc "
        "with its background purge thread (glibc's malloc kept the whole peak)"
        % (mib(s1), mib(p1), mib(a_last), (a_last - s1) / 1024),
    )
    if ARGS.no_gdb:
        print("     e: malloc_trim check skipped (--no-gdb)", flush=True)
        return
    t0 = time.monotonic()
    trimmed, why = gdb_malloc_trim(ARGS.pid)
    if trimmed is None:
        print("     e: malloc_trim check skipped: %s" % why, flush=True)
        return
    limit = ARGS.rss_keep_mib * 1024
    results.check(
        "e: RSS back near its start once the allocator returns free pages (malloc_trim(0) via gdb): "
        "<= start + %d MiB" % ARGS.rss_keep_mib,
        trimmed - s1 <= limit,
        "start %s, after the close %s, after malloc_trim %s (+%.1f MiB; gdb took %.1f s): the memory was freed, "
        "not held" % (mib(s1), mib(a_last), mib(trimmed), (trimmed - s1) / 1024, time.monotonic() - t0),
    )


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return soft
    target = need if hard == resource.RLIM_INFINITY or hard >= need else hard
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(hard, target)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(target, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def main_async(results):
    only = set(ARGS.only.split(","))
    t0 = time.monotonic()
    print(
        "slowloris against http://%s:%d%s (server pid %s); header/idle timeout %.0f s, body deadline %.0f s, "
        "slack %.1f s (e: %.1f s)" % (HOST, ARGS.port, PATH, ARGS.pid or "unknown", HEADER_TIMEOUT, BODY_TIMEOUT,
                                      ARGS.slack, ARGS.slack_e),
        flush=True,
    )
    # a-d are independent single connections: run them side by side.
    tasks = []
    if "a" in only:
        tasks += [scenario_a(results, v) for v in ("nothing", "partial", "trickle")]
    if "b" in only:
        tasks.append(stalled_body(results, "b/stop after 10 of 557 body bytes"))
    if "c" in only:
        tasks.append(stalled_body(results, "c/one body byte every 5 s", trickle_every=5.0))
    if "d" in only:
        tasks += [scenario_d(results, v) for v in ("after-200", "after-403")]
    if tasks:
        await asyncio.wait_for(asyncio.gather(*tasks), OBSERVE_LIMIT + 20)
        await health(results, "server still answers after a-d")
    if "e" in only:
        await asyncio.wait_for(scenario_e(results), 240)
        await health(results, "server still answers after e")
    print("slowloris took %.1f s" % (time.monotonic() - t0), flush=True)


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True, help="the echo server's port on 127.0.0.1")
    p.add_argument("--pid", type=int, default=0, help="the echo server's pid, for VmRSS")
    p.add_argument("--only", default="a,b,c,d,e", help="scenarios to run, e.g. a,b")
    p.add_argument("--stalled", type=int, default=3000, help="connections in scenario e")
    p.add_argument("--stall-bytes", type=int, default=8192, help="body bytes each scenario-e connection sends")
    p.add_argument("--slack", type=float, default=2.5, help="seconds allowed past a timeout (a-d)")
    p.add_argument("--slack-e", type=float, default=4.0, help="seconds allowed past the deadline (e)")
    p.add_argument("--conn-overhead", type=int, default=32768,
                   help="bytes per stalled connection allowed beyond the body bytes sent")
    p.add_argument("--rss-keep-mib", type=int, default=16,
                   help="MiB above its start the server's RSS may keep after e and malloc_trim(0)")
    p.add_argument("--waves", type=int, default=2, choices=(1, 2, 3, 4, 5), help="scenario-e waves")
    p.add_argument("--wave-ratio", type=float, default=0.8,
                   help="max share of the previous wave's peak-RSS increment a wave may add")
    p.add_argument("--no-gdb", action="store_true",
                   help="do not attach gdb to call malloc_trim(0) in the server after e")
    ARGS = p.parse_args()
    if not 0 < ARGS.stalled <= 20000:
        p.error("--stalled must be in 1..=20000")
    if not 0 <= ARGS.stall_bytes < 65000:
        p.error("--stall-bytes must be below the declared 65000")
    got = raise_fd_limit(ARGS.stalled + 256)
    if got < ARGS.stalled + 64:
        print("FAIL setup: open-file limit %d is too low for %d connections" % (got, ARGS.stalled))
        print("0 passed, 1 failed")
        return 1
    results = Results()
    try:
        asyncio.run(main_async(results))
    except Exception as e:  # a crash or an overall timeout is a failure, reported like one
        import traceback

        traceback.print_exc(file=sys.stdout)
        results.check("slowloris run", False, "stopped by %s: %s" % (type(e).__name__, e))
    print("%d passed, %d failed" % (results.passed, results.failed), flush=True)
    return 0 if results.failed == 0 else 1


ARGS = None

if __name__ == "__main__":
    sys.exit(main())
