#!/usr/bin/env python3
"""Bounded load test of a running `echo` example server (loopback only).

Many keep-alive connections send, side by side:

  valid      a distinct signed, encrypted text message (wechatpy builds it);
             the answer must be 200 with a reply envelope whose signature
             verifies, which decrypts with the right receive id, and whose
             Content is `echo:text:<that request's Content>` addressed to that
             request's sender (no cross-talk between replies);
  duplicate  one signed request sent 2-4 times, byte for byte, from different
             connections, some copies at once and some up to ~1 s later;
  bad sig    a well-formed envelope with a wrong msg_signature: 403;
  garbage    a body that is not an envelope: 400.

Every valid message has its own MsgId and its own FromUserName (`lt<MsgId>`),
so the server's log (one `callback accepted ... from=...` line per handler
call; `msg_id=` is read too when present) tells how many times the handler
ran for each message: unique messages exactly once, rejected ones never, and
duplicates "deliveries -> handler calls". With --expect-dedup (off by default
while deduplication is not in the echo example) every MsgId must reach the
handler exactly once.

The server's RSS (/proc/PID/status VmRSS) is sampled every second; its growth
over the second half of the run is bounded (--rss-growth-mib, default 8 MiB,
CI 16 MiB): the deduplication store (bounded, 10 000 entries by default) fills
during the first half, after which memory must stay flat.

Loopback only, bounded in time (duration + a drain of at most 15 s) and in
count. Prints figures and a closing `N passed, M failed`; exits 1 on failure.

Usage:
    load.py --port PORT --pid PID --log SERVER_LOG [--ci] [--duration S]
            [--conns N] [--expect-dedup]
Environment: LOAD_MODE=ci is the same as --ci; LOAD_EXPECT_DEDUP=1 the same
as --expect-dedup.
"""

import argparse
import asyncio
import collections
import os
import random
import re
import resource
import secrets
import sys
import time
import xml.etree.ElementTree as ET

from wechatpy.enterprise.crypto import WeChatCrypto

HOST = "127.0.0.1"  # never anything else
PATH = "/wecom/callback"
TOKEN = os.environ.get("WECOM_TOKEN", "QDG6eK")
AES_KEY = os.environ.get("WECOM_ENCODING_AES_KEY", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C")
CORP_ID = os.environ.get("WECOM_CORP_ID", "wx5823bf96d3bd56c7")

REQUEST_TIMEOUT = 10.0  # seconds for one request/response
DRAIN_LIMIT = 15.0  # seconds after the duration for queued duplicate copies
CRYPTO = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
_rng = random.Random(secrets.randbits(64))

# Contents: distinct per request, with markup, entities, quotes and non-ASCII
# now and then so escaping mistakes would show as a wrong echo.
SPICE = ["", " <b>&amp;</b>", " \"q\" 'a'", " 你好，世界", " ]]> tail", " emoji \U0001f600", " a&b<c>d"]


# ---------------------------------------------------------- requests -----


class Job:
    __slots__ = ("kind", "request", "msg_id", "from_user", "content", "group")

    def __init__(self, kind, request, msg_id=None, from_user=None, content=None, group=None):
        self.kind = kind
        self.request = request
        self.msg_id = msg_id
        self.from_user = from_user
        self.content = content
        self.group = group


def http_post(qs, body):
    return (
        "POST %s?%s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n"
        % (PATH, qs, HOST, len(body))
    ).encode() + body


def query(signature, timestamp, nonce):
    return "msg_signature=%s&timestamp=%s&nonce=%s" % (signature, timestamp, nonce)


ENC_RE = re.compile(r"<Encrypt><!\[CDATA\[([^\]]+)\]\]></Encrypt>")
SIG_RE = re.compile(r"<MsgSignature><!\[CDATA\[([0-9a-f]{40})\]\]></MsgSignature>")


def cdata(text):
    return "<![CDATA[%s]]>" % text.replace("]]>", "]]]]><![CDATA[>")


def signed_message(msg_id, from_user, content):
    """wechatpy encrypts and signs a text message; returns (query, body)."""
    ts = str(int(time.time()))
    nonce = str(_rng.randrange(10**9, 10**10))
    xml = (
        "<xml><ToUserName>%s</ToUserName><FromUserName>%s</FromUserName><CreateTime>%s</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType><Content>%s</Content><MsgId>%d</MsgId><AgentID>1</AgentID></xml>"
        % (cdata(CORP_ID), cdata(from_user), ts, cdata(content), msg_id)
    )
    envelope = CRYPTO.encrypt_message(xml, nonce, ts)
    encrypt = ENC_RE.search(envelope).group(1)
    signature = SIG_RE.search(envelope).group(1)
    body = (
        "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt>"
        "<AgentID><![CDATA[1]]></AgentID></xml>" % (CORP_ID, encrypt)
    ).encode()
    return query(signature, ts, nonce), body


class Factory:
    def __init__(self):
        self.base = _rng.randrange(10**17, 9 * 10**17)  # MsgIds of this run: base + seq
        self.seq = 0

    def next_id(self):
        self.seq += 1
        return self.base + self.seq

    def valid(self, kind="valid", group=None):
        msg_id = self.next_id()
        from_user = "lt%d" % msg_id
        content = "m%d-%s%s" % (msg_id, secrets.token_hex(4), _rng.choice(SPICE))
        qs, body = signed_message(msg_id, from_user, content)
        return Job(kind, http_post(qs, body), msg_id, from_user, content, group)

    def bad_signature(self):
        msg_id = self.next_id()
        from_user = "lt%d" % msg_id
        qs, body = signed_message(msg_id, from_user, "must not reach the handler")
        sig = re.search(r"msg_signature=([0-9a-f]{40})", qs).group(1)
        wrong = sig[:-1] + ("0" if sig[-1] != "0" else "1")
        return Job("badsig", http_post(qs.replace(sig, wrong), body), msg_id, from_user)

    def garbage(self):
        qs = query(secrets.token_hex(20), str(int(time.time())), str(_rng.randrange(10**9, 10**10)))
        body = _rng.choice([b"not xml at all", b"<xml><Encrypt>", b"\x00\xff\xfe garbage", b"{\"Encrypt\": 1}"])
        return Job("garbage", http_post(qs, body + secrets.token_hex(8).encode()))


# ------------------------------------------------------------ HTTP/1.1 ---


class Conn:
    def __init__(self):
        self.reader = None
        self.writer = None

    async def ensure(self):
        if self.writer is None:
            self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(HOST, ARGS.port), 5)

    def drop(self):
        if self.writer is not None:
            try:
                self.writer.close()
            except Exception:
                pass
        self.reader = self.writer = None

    async def roundtrip(self, request):
        """Sends `request`, returns (status, headers dict, body bytes)."""
        await self.ensure()
        self.writer.write(request)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            for _ in range(10000):
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
            body = bytes(body)
        else:
            body = b""
        if headers.get("connection", "").lower() == "close":
            self.drop()
        return status, headers, body


# -------------------------------------------------------------- checks ---


def open_reply(body):
    """Verifies the reply envelope's signature, decrypts it (receive id
    checked by wechatpy) and returns the inner XML root."""
    root = ET.fromstring(body)
    sig = root.findtext("MsgSignature")
    ts = root.findtext("TimeStamp")
    nonce = root.findtext("Nonce")
    plain = CRYPTO.decrypt_message(body, sig, ts, nonce)
    return ET.fromstring(plain)


def reply_problem(job, status, body):
    """None if `body` is the right reply to `job`, else what is wrong."""
    if status != 200:
        return "status %d" % status
    try:
        inner = open_reply(body)
    except Exception as e:  # signature, decryption, receive id, XML
        return "reply does not open: %s %s (%r)" % (type(e).__name__, e, body[:120])
    want = "echo:text:" + job.content
    got = inner.findtext("Content")
    if got != want:
        return "cross-talk or corruption: Content %r, expected %r" % (got, want)
    if inner.findtext("ToUserName") != job.from_user:
        return "reply addressed to %r, expected %r" % (inner.findtext("ToUserName"), job.from_user)
    if inner.findtext("MsgType") != "text":
        return "reply MsgType %r" % inner.findtext("MsgType")
    return None


def is_ack(body):
    """An acknowledgement instead of a reply (what a deduplicated copy may
    get): an empty body or `success`."""
    return body.strip() in (b"", b"success")


def is_sealed_ack(body):
    """The same, inside a reply envelope that verifies and decrypts."""
    try:
        root = ET.fromstring(body)
        plain = CRYPTO.decrypt_message(
            body, root.findtext("MsgSignature"), root.findtext("TimeStamp"), root.findtext("Nonce"))
    except Exception:
        return False
    return plain.strip() in ("", "success")


class Stats:
    def __init__(self):
        self.sent = collections.Counter()
        self.ok = collections.Counter()
        self.problems = collections.defaultdict(list)
        self.statuses = collections.defaultdict(collections.Counter)
        self.latencies = []
        self.errors = collections.Counter()
        self.dup_outcome = collections.Counter()  # "reply" / "ack"
        self.dup_groups = {}  # msg_id -> copies sent
        self.answered_ids = set()  # unique valid messages answered correctly
        self.rejected_from = set()
        self.cpu = (None, None)  # server, client CPU seconds during the load

    def problem(self, kind, text):
        lst = self.problems[kind]
        if len(lst) < 5:
            lst.append(text)
        self.errors[kind] += 1


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(p / 100.0 * len(sorted_values)))]


def cpu_seconds(pid):
    """utime + stime of `pid` in seconds, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, TypeError, IndexError, ValueError):
        return None


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, TypeError):
        return None
    return None


# ------------------------------------------------------------- driver ----


async def run_load(stats):
    factory = Factory()
    dup_queue = collections.deque()  # (not_before, job)
    end = time.monotonic() + ARGS.duration
    drain_end = end + DRAIN_LIMIT

    def next_job(now):
        # Queued duplicate copies first, when due.
        if dup_queue and dup_queue[0][0] <= now:
            return dup_queue.popleft()[1]
        if now >= end:
            return None
        r = _rng.random()
        if r < ARGS.dup_share:
            job = factory.valid("dup")
            copies = _rng.randint(2, 4)
            # One copy now; the others now (in flight together) or later.
            for _ in range(copies - 1):
                delay = _rng.choice([0.0, 0.0, _rng.uniform(0.05, 1.0)])
                dup_queue.append((now + delay, job))
            items = sorted(dup_queue, key=lambda x: x[0])
            dup_queue.clear()
            dup_queue.extend(items)
            return job
        if r < ARGS.dup_share + ARGS.bad_share:
            job = factory.bad_signature()
            stats.rejected_from.add(job.from_user)
            return job
        if r < ARGS.dup_share + 2 * ARGS.bad_share:
            return factory.garbage()
        job = factory.valid()
        return job

    async def worker():
        conn = Conn()
        for _ in range(10**7):  # bounded; the clock ends it far sooner
            now = time.monotonic()
            if now >= drain_end:
                break
            job = next_job(now)
            if job is None:
                if not dup_queue:
                    break
                await asyncio.sleep(0.01)
                continue
            stats.sent[job.kind] += 1
            if job.kind == "dup":
                stats.dup_groups[job.msg_id] = stats.dup_groups.get(job.msg_id, 0) + 1
            t0 = time.monotonic()
            try:
                status, headers, body = await asyncio.wait_for(conn.roundtrip(job.request), REQUEST_TIMEOUT)
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, asyncio.LimitOverrunError,
                    ValueError, IndexError) as e:
                conn.drop()
                stats.problem(job.kind, "no answer: %s %s" % (type(e).__name__, e))
                await asyncio.sleep(0.05)  # no spinning on a dead server
                continue
            stats.latencies.append(time.monotonic() - t0)
            stats.statuses[job.kind][status] += 1
            if job.kind == "valid":
                p = reply_problem(job, status, body)
                if p:
                    stats.problem("valid", "MsgId %d: %s" % (job.msg_id, p))
                else:
                    stats.ok["valid"] += 1
                    stats.answered_ids.add(job.msg_id)
            elif job.kind == "dup":
                if status == 200 and (is_ack(body) or is_sealed_ack(body)):
                    stats.dup_outcome["ack"] += 1
                    stats.ok["dup"] += 1
                else:
                    p = reply_problem(job, status, body)
                    if p:
                        stats.problem("dup", "MsgId %d: %s" % (job.msg_id, p))
                    else:
                        stats.dup_outcome["reply"] += 1
                        stats.ok["dup"] += 1
            elif job.kind == "badsig":
                if status == 403:
                    stats.ok["badsig"] += 1
                else:
                    stats.problem("badsig", "status %d, expected 403: %r" % (status, body[:80]))
            elif job.kind == "garbage":
                if status == 400:
                    stats.ok["garbage"] += 1
                else:
                    stats.problem("garbage", "status %d, expected 400: %r" % (status, body[:80]))
        conn.drop()

    rss = []  # (seconds since start, kib)
    stop = asyncio.Event()
    t_start = time.monotonic()

    async def sampler():
        for _ in range(int(ARGS.duration + DRAIN_LIMIT + 30)):
            rss.append((time.monotonic() - t_start, rss_kib(ARGS.pid)))
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
                return
            except asyncio.TimeoutError:
                pass

    rss_before = rss_kib(ARGS.pid)
    server_cpu0 = cpu_seconds(ARGS.pid)
    client_cpu0 = time.process_time()
    sampling = asyncio.ensure_future(sampler())
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(ARGS.conns))),
                           ARGS.duration + DRAIN_LIMIT + REQUEST_TIMEOUT + 10)
    elapsed = time.monotonic() - t_start
    server_cpu1 = cpu_seconds(ARGS.pid)
    stats.cpu = (
        None if server_cpu0 is None or server_cpu1 is None else server_cpu1 - server_cpu0,
        time.process_time() - client_cpu0,
    )
    stop.set()
    await sampling
    await asyncio.sleep(2.0)
    rss_after = rss_kib(ARGS.pid)
    return elapsed, rss_before, rss, rss_after


FROM_RE = re.compile(r'\bfrom="?([^"\s]+)"?')
MSGID_RE = re.compile(r'\bmsg_id=(?:Some\()?"?(\d+)')


def handler_calls(log_path):
    """Counts `callback accepted` log lines per from= (and per msg_id= when present)."""
    per_from = collections.Counter()
    per_id = collections.Counter()
    id_mismatch = []
    lines = 0
    with open(log_path, "r", encoding="utf-8", errors="replace") as f:
        for line in f:
            if "callback accepted" not in line:
                continue
            lines += 1
            m = FROM_RE.search(line)
            if m:
                per_from[m.group(1)] += 1
            mid = MSGID_RE.search(line)
            if mid:
                per_id[int(mid.group(1))] += 1
                if m and m.group(1).startswith("lt") and m.group(1) != "lt" + mid.group(1):
                    if len(id_mismatch) < 5:
                        id_mismatch.append(line.strip())
    return lines, per_from, per_id, id_mismatch


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


def mib(kib):
    return "n/a" if kib is None else "%.1f MiB" % (kib / 1024.0)


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, default=0, help="server pid (VmRSS)")
    p.add_argument("--log", required=True, help="the server's log file (handler calls)")
    p.add_argument("--ci", action="store_true", help="short mode: 12 s at 64 connections")
    p.add_argument("--duration", type=float, default=None, help="seconds of load (default 60, CI 12)")
    p.add_argument("--conns", type=int, default=None, help="connections (default 256, CI 64)")
    p.add_argument("--dup-share", type=float, default=0.08, help="share of new jobs that are duplicate groups")
    p.add_argument("--bad-share", type=float, default=0.05, help="share of bad-signature jobs (garbage: same)")
    p.add_argument("--expect-dedup", action="store_true",
                   help="require every MsgId to reach the handler exactly once (duplicates included)")
    p.add_argument("--rss-growth-mib", type=float, default=None,
                   help="max MiB the RSS may grow in the second half of the run (default 8, CI 16)")
    ARGS = p.parse_args()
    ci = ARGS.ci or os.environ.get("LOAD_MODE", "").lower() == "ci"
    if os.environ.get("LOAD_EXPECT_DEDUP", "") not in ("", "0"):
        ARGS.expect_dedup = True
    if ARGS.duration is None:
        ARGS.duration = 12.0 if ci else 60.0
    if ARGS.conns is None:
        ARGS.conns = 64 if ci else 256
    if not (0 < ARGS.duration <= 600 and 0 < ARGS.conns <= 4096):
        p.error("duration must be in (0, 600] s and conns in 1..=4096")
    if ARGS.rss_growth_mib is None:
        # In the short CI run the dedup store may still be filling.
        ARGS.rss_growth_mib = 16.0 if ci else 8.0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < ARGS.conns + 256:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, ARGS.conns + 1024), hard))
        except (ValueError, OSError):
            pass

    print(
        "load: %s mode, %.0f s at %d connections against http://%s:%d%s (server pid %s); "
        "duplicates: %s"
        % ("CI" if ci else "full", ARGS.duration, ARGS.conns, HOST, ARGS.port, PATH, ARGS.pid or "unknown",
           "deduplication expected" if ARGS.expect_dedup else "reported only (--expect-dedup to require it)"),
        flush=True,
    )
    stats = Stats()
    try:
        elapsed, rss_before, rss, rss_after = asyncio.run(run_load(stats))
    except Exception as e:  # a crash or the overall time bound: reported as a failure
        import traceback

        traceback.print_exc(file=sys.stdout)
        print("FAIL load run: stopped by %s: %s" % (type(e).__name__, e))
        print("0 passed, 1 failed", flush=True)
        return 1
    time.sleep(0.5)  # let the server's log reach the file

    results = Results()
    total = sum(stats.sent.values())
    lat = sorted(stats.latencies)
    print(
        "figures: %d requests in %.1f s = %.0f req/s; latency p50 %.1f ms, p99 %.1f ms, max %.1f ms"
        % (total, elapsed, total / elapsed, 1000 * percentile(lat, 50), 1000 * percentile(lat, 99),
           1000 * (lat[-1] if lat else float("nan"))),
        flush=True,
    )
    server_cpu, client_cpu = stats.cpu
    print(
        "figures: CPU during the load: server %s, this client %.1f s (%.0f%% of one core; latency includes the "
        "client's own queueing, os.cpu_count() = %s, load average %s)"
        % ("%.1f s (%.0f%% of one core)" % (server_cpu, 100 * server_cpu / elapsed) if server_cpu is not None
           else "n/a", client_cpu, 100 * client_cpu / elapsed, os.cpu_count(),
           " ".join("%.1f" % x for x in os.getloadavg())),
        flush=True,
    )
    for kind in ("valid", "dup", "badsig", "garbage"):
        print(
            "figures: %-7s sent %6d, as expected %6d, statuses %s"
            % (kind, stats.sent[kind], stats.ok[kind],
               dict(sorted(stats.statuses[kind].items())) if stats.statuses[kind] else {}),
            flush=True,
        )

    def detail(kind):
        return "; ".join(stats.problems[kind][:3])

    results.check(
        "valid: every distinct message answered 200 with its own echo (signature, decrypt, receive id, Content)",
        stats.sent["valid"] > 0 and stats.ok["valid"] == stats.sent["valid"],
        "%d of %d%s" % (stats.ok["valid"], stats.sent["valid"],
                        (" - first problems: " + detail("valid")) if stats.errors["valid"] else ""),
    )
    results.check(
        "bad signature: 403",
        stats.sent["badsig"] > 0 and stats.ok["badsig"] == stats.sent["badsig"],
        "%d of %d%s" % (stats.ok["badsig"], stats.sent["badsig"],
                        (" - " + detail("badsig")) if stats.errors["badsig"] else ""),
    )
    results.check(
        "garbage body: 400",
        stats.sent["garbage"] > 0 and stats.ok["garbage"] == stats.sent["garbage"],
        "%d of %d%s" % (stats.ok["garbage"], stats.sent["garbage"],
                        (" - " + detail("garbage")) if stats.errors["garbage"] else ""),
    )
    results.check(
        "duplicates: every copy answered 200 (its echo, or an acknowledgement)",
        stats.sent["dup"] > 0 and stats.ok["dup"] == stats.sent["dup"],
        "%d of %d copies (%d with the echo reply, %d acknowledged)%s"
        % (stats.ok["dup"], stats.sent["dup"], stats.dup_outcome["reply"], stats.dup_outcome["ack"],
           (" - " + detail("dup")) if stats.errors["dup"] else ""),
    )

    # ---- handler calls from the server's log
    lines, per_from, per_id, id_mismatch = handler_calls(ARGS.log)
    has_msg_id = bool(per_id)

    def calls(msg_id):
        return per_id[msg_id] if has_msg_id else per_from["lt%d" % msg_id]

    unique_wrong = [(m, calls(m)) for m in stats.answered_ids if calls(m) != 1]
    print(
        "figures: %d `callback accepted` lines in the server log (counted by %s)"
        % (lines, "msg_id= and from=" if has_msg_id else "from=; no msg_id= in the log yet"),
        flush=True,
    )
    results.check(
        "unique valid messages: exactly one handler call each",
        not unique_wrong and stats.answered_ids,
        "%d messages answered, %d with a call count other than 1%s"
        % (len(stats.answered_ids), len(unique_wrong),
           (" e.g. MsgId %d -> %d calls" % unique_wrong[0]) if unique_wrong else ""),
    )
    leaked = [f for f in stats.rejected_from if per_from[f]]
    results.check(
        "rejected requests: the handler never ran",
        not leaked,
        "%d bad-signature senders seen in handler log lines%s"
        % (len(leaked), (" e.g. " + leaked[0]) if leaked else ""),
    )
    if has_msg_id:
        results.check("log: msg_id= agrees with from=", not id_mismatch,
                      "%d mismatching lines%s" % (len(id_mismatch), (": " + id_mismatch[0]) if id_mismatch else ""))

    deliveries = sum(stats.dup_groups.values())
    dup_calls = sum(calls(m) for m in stats.dup_groups)
    by_copies = collections.defaultdict(lambda: [0, 0, 0])  # copies -> [groups, deliveries, calls]
    for m, copies in stats.dup_groups.items():
        row = by_copies[copies]
        row[0] += 1
        row[1] += copies
        row[2] += calls(m)
    print(
        "figures: duplicates: %d messages, %d deliveries -> %d handler calls (%s)"
        % (len(stats.dup_groups), deliveries, dup_calls,
           ", ".join("%d copies: %d msgs, %d deliveries -> %d calls" % (k, v[0], v[1], v[2])
                     for k, v in sorted(by_copies.items()))),
        flush=True,
    )
    over = [(m, calls(m), c) for m, c in stats.dup_groups.items() if calls(m) > c or calls(m) < 1]
    results.check(
        "duplicates: between 1 and `copies` handler calls per message",
        not over,
        "%d messages outside that range%s" % (len(over), (" e.g. MsgId %d: %d calls for %d copies" % over[0])
                                              if over else ""),
    )
    if ARGS.expect_dedup:
        twice = [(m, calls(m)) for m in stats.dup_groups if calls(m) != 1]
        results.check(
            "deduplication: each duplicated MsgId reached the handler exactly once",
            not twice and len(stats.dup_groups) > 0,
            "%d deliveries -> %d handler calls; %d messages handled more than once%s"
            % (deliveries, dup_calls, len(twice), (" e.g. MsgId %d -> %d calls" % twice[0]) if twice else ""),
        )
    else:
        print("info: deduplication not asserted (run with --expect-dedup or LOAD_EXPECT_DEDUP=1 to require "
              "deliveries -> one handler call per MsgId)", flush=True)

    # ---- memory
    # The deduplication store fills while the load runs (bounded: 10 000
    # entries by default, reached within the first half of the full run), so
    # "flat" is judged on the second half: from the sample at half-time to
    # the end, RSS may grow by at most --rss-growth-mib.
    values = [(t, k) for t, k in rss if k is not None]
    if ARGS.pid and values and rss_before is not None:
        peak = max(k for _, k in values)
        half = ARGS.duration / 2
        first_half = [k for t, k in values if t <= half]
        second_half = [k for t, k in values if t > half]
        at_half = first_half[-1] if first_half else values[0][1]
        end_kib = values[-1][1]
        step = max(1, len(values) // 12)
        print(
            "figures: server RSS before %s, max %s, at half-time %s, at end of load %s, 2 s after %s; "
            "samples (s:MiB): %s"
            % (mib(rss_before), mib(peak), mib(at_half), mib(end_kib), mib(rss_after),
               " ".join("%.0f:%.1f" % (t, k / 1024.0) for t, k in values[::step])),
            flush=True,
        )
        growth = (max(second_half) if second_half else end_kib) - at_half
        results.check(
            "memory flat: RSS in the second half at most %.0f MiB above its half-time value" % ARGS.rss_growth_mib,
            growth <= ARGS.rss_growth_mib * 1024,
            "half-time %s, second half max %s (%+.1f MiB); start %s, max %s, end %s"
            % (mib(at_half), mib(max(second_half) if second_half else end_kib), growth / 1024.0,
               mib(rss_before), mib(peak), mib(end_kib)),
        )
    else:
        print("info: server RSS not measured (no --pid)", flush=True)

    print("%d passed, %d failed" % (results.passed, results.failed), flush=True)
    return 0 if results.failed == 0 else 1


ARGS = None

if __name__ == "__main__":
    sys.exit(main())
