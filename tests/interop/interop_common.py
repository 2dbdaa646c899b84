"""Shared pieces of the wechatpy interop check: the check runner, HTTP,
envelope parsing and small helpers. No cryptography here: every signature,
encryption and decryption is done by wechatpy in the kind modules."""

import os
import random
import re
import select
import socket
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

HTTP_TIMEOUT = 10  # seconds per request
BODY_LIMIT = 64 * 1024  # the layer's default body limit

_rng = random.SystemRandom()


class CheckFailed(Exception):
    pass


def expect(cond, message):
    if not cond:
        raise CheckFailed(message)


class Runner:
    """Runs named checks, prints one PASS/FAIL line each and counts them."""

    def __init__(self, label=""):
        self.passed = 0
        self.failed = 0
        self.prefix = "[%s] " % label if label else ""

    def run(self, name, fn):
        name = self.prefix + name
        try:
            detail = fn()
        except CheckFailed as e:
            self.failed += 1
            print("FAIL %s: %s" % (name, e), flush=True)
            return False
        except (OSError, urllib.error.URLError) as e:  # connection refused, reset, timeout
            self.failed += 1
            print("FAIL %s: network error %s: %s" % (name, type(e).__name__, e), flush=True)
            return False
        except Exception as e:  # an unexpected error is a failure too
            self.failed += 1
            print("FAIL %s: unexpected %s: %s" % (name, type(e).__name__, e), flush=True)
            traceback.print_exc(file=sys.stdout)
            return False
        self.passed += 1
        print("PASS %s%s" % (name, (": " + detail) if detail else ""), flush=True)
        return True


# ----------------------------------------------------------------- values

def now_ts():
    return str(int(time.time()))


def fresh_nonce():
    return str(_rng.randrange(10**8, 10**10))


def fresh_echostr():
    """A 19-digit decimal string, like the platforms' echostr plaintexts."""
    return str(_rng.randrange(10**18, 10**19))


def fresh_msg_id():
    return str(_rng.randrange(10**15, 10**19))


def flip_last(sig):
    """The same hex signature with its last digit changed."""
    return sig[:-1] + ("0" if sig[-1] != "0" else "1")


def show(data, limit=300):
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
    return repr(text if len(text) <= limit else text[:limit] + "...")


# ----------------------------------------------------------------- XML

def parse_envelope(text):
    """Parse a reply/request envelope into {tag: text} (children of <xml>)."""
    root = ET.fromstring(text)
    expect(root.tag == "xml", "root element is <%s>, not <xml>" % root.tag)
    return {child.tag: (child.text or "") for child in root}


def wechatpy_envelope(crypto, plaintext, nonce=None, timestamp=None):
    """wechatpy encrypts `plaintext` and signs it (its encrypt_message, which
    renders a *reply* envelope): returns its Encrypt, MsgSignature, TimeStamp,
    Nonce. The callers wrap Encrypt into the body the platform sends."""
    nonce = nonce or fresh_nonce()
    timestamp = timestamp or now_ts()
    env = parse_envelope(crypto.encrypt_message(plaintext, nonce, timestamp))
    for key in ("Encrypt", "MsgSignature", "TimeStamp", "Nonce"):
        expect(env.get(key), "wechatpy envelope lacks %s" % key)
    return env


_MSG_ID = re.compile(r"(<MsgId>\s*(?:<!\[CDATA\[)?)[^<\]]*((?:\]\]>)?\s*</MsgId>)")


def as_new_delivery(text):
    """`text` with a fresh MsgId where it has one. Vendor samples share MsgIds
    (1234567890123456), and the layer deduplicates by MsgId: without this,
    a second sample would be answered as a retry of the first."""
    return _MSG_ID.sub(lambda m: m.group(1) + fresh_msg_id() + m.group(2), text, count=1)


def cdata(value):
    return "<![CDATA[%s]]>" % value


def expected_echo(sample_root):
    """What the echo example answers to a decrypted message (an Element)."""
    msg_type = (sample_root.findtext("MsgType") or "").strip()
    if msg_type == "text":
        return "echo:text:" + (sample_root.findtext("Content") or "")
    if msg_type == "event":
        return "echo:event:" + (sample_root.findtext("Event") or "").strip()
    return "echo:" + msg_type


def read_samples(samples_dir):
    """[(file name, text)] of every *.xml in samples_dir, sorted by name."""
    out = []
    if not os.path.isdir(samples_dir):
        return out
    for name in sorted(os.listdir(samples_dir)):
        if name.endswith(".xml"):
            with open(os.path.join(samples_dir, name), "rb") as f:
                out.append((name, f.read().decode("utf-8")))
    return out


# ----------------------------------------------------------------- HTTP

def query_string(params):
    # urlencode uses quote_plus with safe='': '+' -> %2B, '/' -> %2F, '=' -> %3D
    return urllib.parse.urlencode(params)


def http(method, url, body=None, headers=None):
    """Send one request; returns (status, headers, body bytes). 4xx/5xx are not exceptions."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def raw_post_headers_first(base_url, query, content_length, body):
    """POST with a large Content-Length: send the headers, give the server a moment to
    answer from Content-Length alone, and only then send the body. Returns the status."""
    url = urllib.parse.urlsplit(base_url)
    host, port = url.hostname, url.port or 80
    head = (
        "POST %s?%s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: text/xml\r\n"
        "Content-Length: %d\r\nConnection: close\r\n\r\n" % (url.path, query, host, port, content_length)
    ).encode("ascii")
    with socket.create_connection((host, port), timeout=HTTP_TIMEOUT) as sock:
        sock.sendall(head)
        readable, _, _ = select.select([sock], [], [], 2.0)
        if not readable:
            try:
                sock.sendall(body)
            except OSError:
                pass
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    status_line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ")
    expect(len(parts) >= 2 and parts[1].isdigit(), "no HTTP status line: %r" % status_line)
    return int(parts[1])


# ----------------------------------------------------------------- server log

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class ServerLog:
    """The echo server's log file (if run.sh told us where it is)."""

    def __init__(self, path):
        self.path = path

    def available(self):
        return bool(self.path) and os.path.exists(self.path)

    def lines(self):
        with open(self.path, encoding="utf-8", errors="replace") as f:
            return [_ANSI.sub("", line.rstrip("\n")) for line in f]

    def accepted(self, **fields):
        """The "callback accepted" lines carrying every `field=value` given
        (tracing prints strings as `name="value"`, numbers as `name=value`)."""
        wanted = [re.compile(r'(^|\s)%s="?%s"?(\s|$)' % (re.escape(k), re.escape(str(v))))
                  for k, v in fields.items()]
        return [line for line in self.lines()
                if "callback accepted" in line and all(w.search(line) for w in wanted)]

    def wait_for_accepted(self, before, timeout=2.0, **fields):
        """Waits until more than `before` matching lines exist; returns them."""
        deadline = time.time() + timeout
        while True:
            found = self.accepted(**fields)
            if len(found) > before or time.time() >= deadline:
                return found
            time.sleep(0.05)
