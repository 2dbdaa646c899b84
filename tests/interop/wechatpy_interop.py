#!/usr/bin/env python3
"""Interoperability check: wechatpy (an independent WXBizMsgCrypt implementation)
plays the WeCom side against the running `echo` example server.

Usage:
    wechatpy_interop.py [BASE_URL] [--samples DIR] [--vectors FILE]

BASE_URL defaults to $INTEROP_BASE_URL or http://127.0.0.1:3000/wecom/callback.
Credentials: $WECOM_TOKEN, $WECOM_ENCODING_AES_KEY, $WECOM_CORP_ID (defaults:
the WeCom doc sample values, the same as the echo server's).

Every cryptographic step (encrypting messages and echostr, computing and
verifying signatures, decrypting replies) is done by wechatpy; this script only
moves bytes over HTTP and compares results. Prints one line per check and a
final `N passed, M failed` line; exits 1 if anything failed.
"""

import argparse
import glob
import json
import os
import random
import select
import socket
import sys
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

CRATE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_BASE_URL = "http://127.0.0.1:3000/wecom/callback"
DEFAULT_SAMPLES = os.path.join(CRATE_ROOT, "..", "shared", "samples", "wecom")
DEFAULT_VECTORS = os.path.join(CRATE_ROOT, "..", "shared", "vectors", "public.json")
HTTP_TIMEOUT = 10  # seconds per request
BODY_LIMIT = 64 * 1024  # the layer's default body limit

TOKEN = os.environ.get("WECOM_TOKEN", "QDG6eK")
AES_KEY = os.environ.get("WECOM_ENCODING_AES_KEY", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C")
CORP_ID = os.environ.get("WECOM_CORP_ID", "wx5823bf96d3bd56c7")

_rng = random.SystemRandom()


class CheckFailed(Exception):
    pass


def expect(cond, message):
    if not cond:
        raise CheckFailed(message)


class Runner:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, fn):
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


# ----------------------------------------------------------------- helpers

def now_ts():
    return str(int(time.time()))


def fresh_nonce():
    return str(_rng.randrange(10**8, 10**10))


def parse_envelope(text):
    """Parse a reply/request envelope into {tag: text} (children of <xml>)."""
    root = ET.fromstring(text)
    expect(root.tag == "xml", "root element is <%s>, not <xml>" % root.tag)
    return {child.tag: (child.text or "") for child in root}


def wechatpy_envelope(crypto, plaintext, nonce=None, timestamp=None):
    """wechatpy encrypts `plaintext` and signs it: returns Encrypt, MsgSignature, TimeStamp, Nonce."""
    nonce = nonce or fresh_nonce()
    timestamp = timestamp or now_ts()
    env = parse_envelope(crypto.encrypt_message(plaintext, nonce, timestamp))
    for key in ("Encrypt", "MsgSignature", "TimeStamp", "Nonce"):
        expect(env.get(key), "wechatpy envelope lacks %s" % key)
    return env


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


def post_body(encrypt, to_user=None, agent_id="1"):
    return (
        "<xml><ToUserName><![CDATA[%s]]></ToUserName><AgentID><![CDATA[%s]]></AgentID>"
        "<Encrypt><![CDATA[%s]]></Encrypt></xml>" % (to_user or CORP_ID, agent_id, encrypt)
    ).encode("utf-8")


def show(data, limit=300):
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def expected_echo(sample_root):
    msg_type = sample_root.findtext("MsgType") or ""
    if msg_type == "text":
        return "echo:text:" + (sample_root.findtext("Content") or "")
    if msg_type == "event":
        return "echo:event:" + (sample_root.findtext("Event") or "")
    return "echo:" + msg_type


# ------------------------------------------------- wechatpy self-test (offline)

def vector_checks(runner, vectors_path):
    """Known-answer vectors: prove that wechatpy is used correctly before trusting it."""
    with open(vectors_path, encoding="utf-8") as f:
        vectors = {v["id"]: v for v in json.load(f)["vectors"]}

    def verify_url():
        v = vectors["wecom-official-verify-url"]
        c = WeChatCrypto(v["token"], v["encoding_aes_key"], v["receive_id"])
        got = c.check_signature(v["msg_signature"], v["timestamp"], v["nonce"], v["echostr"])
        expect(got == v["expected_plaintext"], "got %r" % got)
        # and the percent-encoding this script uses matches the vendor's request line
        enc = query_string({"echostr": v["echostr"]})
        expect(enc == "echostr=" + v["echostr_urlencoded"], "urlencode gave %r" % enc)
        return "echostr -> %s" % got

    def decrypt_xml():
        v = vectors["wecom-official-decrypt-xml"]
        c = WeChatCrypto(v["token"], v["encoding_aes_key"], v["receive_id"])
        got = c.decrypt_message(v["post_body"], v["msg_signature"], v["timestamp"], v["nonce"])
        expect(got == v["expected_plaintext"], "got %r" % got)
        try:
            c.decrypt_message(v["post_body"], v["msg_signature"], v["timestamp"], v["nonce"] + "1")
        except InvalidSignatureException:
            return None
        raise CheckFailed("wechatpy accepted a wrong nonce")

    def encrypt_reply():
        v = vectors["wechatpy-work-encrypt-reply"]
        c = WeChatCrypto(v["token"], v["encoding_aes_key"], v["receive_id"])
        original = PrpCrypto.get_random_string
        PrpCrypto.get_random_string = lambda self: v["random_prefix"]
        try:
            got = c.encrypt_message(v["plaintext"], v["nonce"], v["timestamp"])
        finally:
            PrpCrypto.get_random_string = original
        expect(got == v["expected_response"], "got %s" % show(got))

    runner.run("wechatpy known-answer: wecom-official-verify-url", verify_url)
    runner.run("wechatpy known-answer: wecom-official-decrypt-xml", decrypt_xml)
    runner.run("wechatpy known-answer: wechatpy-work-encrypt-reply", encrypt_reply)


# ------------------------------------------------------------- server checks

def url_verification_checks(runner, crypto, base_url, max_rounds=40, min_rounds=3):
    """GET verification with fresh random 19-digit echostr plaintexts, until
    echostr values containing '+' and '/' have both been exercised."""
    seen_plus = seen_slash = False
    rounds = failures = 0
    while (rounds < max_rounds and failures < 5
           and (rounds < min_rounds or not (seen_plus and seen_slash))):
        rounds += 1
        plain = str(_rng.randrange(10**18, 10**19))  # 19 decimal digits, like WeCom's
        env = wechatpy_envelope(crypto, plain)
        echostr, sig, ts, nonce = env["Encrypt"], env["MsgSignature"], env["TimeStamp"], env["Nonce"]
        has_plus, has_slash = "+" in echostr, "/" in echostr

        def check():
            # wechatpy's own verification of what we are about to send
            expect(crypto.check_signature(sig, ts, nonce, echostr) == plain, "wechatpy round trip failed")
            qs = query_string({"msg_signature": sig, "timestamp": ts, "nonce": nonce, "echostr": echostr})
            expect("+" not in qs and "/" not in qs, "query not percent-encoded: %s" % qs)
            status, headers, body = http("GET", base_url + "?" + qs)
            expect(status == 200, "GET %s -> %d %s" % (qs, status, show(body)))
            expect(body == plain.encode("ascii"), "GET %s -> body %r, expected %r" % (qs, body, plain))
            return "echostr has +:%s /:%s, content-type %s" % (
                "yes" if has_plus else "no", "yes" if has_slash else "no", headers.get("Content-Type"))

        if runner.run("GET url verification #%d (plaintext %s)" % (rounds, plain), check):
            seen_plus |= has_plus
            seen_slash |= has_slash
        else:
            failures += 1

    def coverage():
        expect(seen_plus, "no echostr containing '+' was verified in %d rounds" % rounds)
        expect(seen_slash, "no echostr containing '/' was verified in %d rounds" % rounds)
        return "%d rounds" % rounds

    runner.run("GET url verification covered echostr with '+' and '/'", coverage)


def sample_checks(runner, crypto, base_url, samples_dir):
    files = sorted(glob.glob(os.path.join(samples_dir, "*.xml")))

    def found():
        expect(files, "no *.xml in %s" % samples_dir)
        return "%d samples in %s" % (len(files), os.path.normpath(samples_dir))

    runner.run("samples found", found)

    for index, path in enumerate(files):
        name = os.path.basename(path)

        def check(path=path, index=index):
            with open(path, "rb") as f:
                sample_text = f.read().decode("utf-8")
            sample = ET.fromstring(sample_text)
            want_content = expected_echo(sample)
            env = wechatpy_envelope(crypto, sample_text)
            qs = query_string({"msg_signature": env["MsgSignature"], "timestamp": env["TimeStamp"],
                               "nonce": env["Nonce"]})
            # The server must not care about Content-Type: vary it.
            content_type = ["text/xml", "application/xml; charset=utf-8", None][index % 3]
            headers = {"Content-Type": content_type} if content_type else {}
            status, _, body = http("POST", base_url + "?" + qs, post_body(env["Encrypt"]), headers)
            expect(status == 200, "POST ?%s -> %d %s" % (qs, status, show(body)))

            reply = parse_envelope(body)
            for key in ("Encrypt", "MsgSignature", "TimeStamp", "Nonce"):
                expect(reply.get(key), "reply envelope lacks %s: %s" % (key, show(body)))
            expect(reply["TimeStamp"].isdigit(), "reply TimeStamp %r" % reply["TimeStamp"])
            expect(abs(int(reply["TimeStamp"]) - time.time()) <= 300, "reply TimeStamp %s far from now"
                   % reply["TimeStamp"])
            try:
                plain = crypto.decrypt_message(body, reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"])
            except InvalidSignatureException:
                raise CheckFailed("wechatpy rejects the reply signature: %s" % show(body))

            msg = ET.fromstring(plain)
            got = {k: msg.findtext(k) for k in ("ToUserName", "FromUserName", "CreateTime", "MsgType", "Content")}
            expect(msg.tag == "xml", "reply plaintext root <%s>" % msg.tag)
            expect(got["MsgType"] == "text", "reply MsgType %r in %s" % (got["MsgType"], show(plain)))
            expect(got["Content"] == want_content, "reply Content %r, expected %r" % (got["Content"], want_content))
            expect(got["ToUserName"] == sample.findtext("FromUserName"),
                   "reply ToUserName %r, expected the sample's FromUserName %r"
                   % (got["ToUserName"], sample.findtext("FromUserName")))
            expect(got["FromUserName"] == sample.findtext("ToUserName"),
                   "reply FromUserName %r, expected the sample's ToUserName %r"
                   % (got["FromUserName"], sample.findtext("ToUserName")))
            expect((got["CreateTime"] or "").isdigit(), "reply CreateTime %r" % got["CreateTime"])
            return "Content %r" % got["Content"]

        runner.run("POST sample %s" % name, check)


def extra_message_checks(runner, crypto, base_url):
    """Beyond the samples: non-ASCII/markup content and the body layout real WeCom sends."""

    def unicode_content():
        content = "你好，世界 & <b>\"ok\"</b> 🎉"
        msg = ("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[张三]]></FromUserName>"
               "<CreateTime>%s</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content>"
               "<MsgId>1</MsgId><AgentID>1</AgentID></xml>" % (CORP_ID, now_ts(), content))
        env = wechatpy_envelope(crypto, msg)
        qs = query_string({"msg_signature": env["MsgSignature"], "timestamp": env["TimeStamp"], "nonce": env["Nonce"]})
        status, _, body = http("POST", base_url + "?" + qs, post_body(env["Encrypt"]), {"Content-Type": "text/xml"})
        expect(status == 200, "-> %d %s" % (status, show(body)))
        reply = parse_envelope(body)
        plain = crypto.decrypt_message(body, reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"])
        got = ET.fromstring(plain)
        expect(got.findtext("Content") == "echo:text:" + content, "reply Content %r" % got.findtext("Content"))
        expect(got.findtext("ToUserName") == "张三", "reply ToUserName %r" % got.findtext("ToUserName"))
        return "Content %r" % got.findtext("Content")

    def wecom_layout():
        # Real WeCom bodies: newlines between elements, AgentID after Encrypt.
        msg = ("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[lisi]]></FromUserName>"
               "<CreateTime>%s</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[click]]></Event>"
               "<EventKey><![CDATA[k]]></EventKey><AgentID>1</AgentID></xml>" % (CORP_ID, now_ts()))
        env = wechatpy_envelope(crypto, msg)
        body = ("<xml>\n<ToUserName><![CDATA[%s]]></ToUserName>\n<Encrypt><![CDATA[%s]]></Encrypt>\n"
                "<AgentID><![CDATA[1]]></AgentID>\n</xml>\n" % (CORP_ID, env["Encrypt"])).encode("utf-8")
        qs = query_string({"msg_signature": env["MsgSignature"], "timestamp": env["TimeStamp"], "nonce": env["Nonce"]})
        status, _, rbody = http("POST", base_url + "?" + qs, body, {"Content-Type": "text/xml"})
        expect(status == 200, "-> %d %s" % (status, show(rbody)))
        reply = parse_envelope(rbody)
        plain = crypto.decrypt_message(rbody, reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"])
        got = ET.fromstring(plain).findtext("Content")
        expect(got == "echo:event:click", "reply Content %r" % got)
        return "Content %r" % got

    runner.run("POST text with non-ASCII and markup in Content", unicode_content)
    runner.run("POST body in WeCom's real layout (newlines, AgentID after Encrypt)", wecom_layout)


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


def negative_checks(runner, crypto, base_url):
    text_msg = ("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>"
                "<CreateTime>%s</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content>"
                "<MsgId>1234567890123456</MsgId><AgentID>1</AgentID></xml>" % (CORP_ID, now_ts()))

    def signed_query(env, **override):
        params = {"msg_signature": env["MsgSignature"], "timestamp": env["TimeStamp"], "nonce": env["Nonce"]}
        params.update(override)
        return query_string(params)

    def flip_last(sig):
        return sig[:-1] + ("0" if sig[-1] != "0" else "1")

    def send(env, expected, method="POST", body=None, **override):
        """Sends env's Encrypt (or `body`) signed with env's values, with
        `override` applied to the query; expects status `expected`."""
        status, _, resp = http(method, base_url + "?" + signed_query(env, **override),
                               post_body(env["Encrypt"]) if body is None else body,
                               {"Content-Type": "text/xml"})
        expect(status == expected, "-> %d %s" % (status, show(resp)))
        return str(expected)

    def tampered_post_signature():
        env = wechatpy_envelope(crypto, text_msg)
        return send(env, 403, msg_signature=flip_last(env["MsgSignature"]))

    def tampered_post_nonce():
        # signature stays the one wechatpy computed, the nonce it covered changes
        env = wechatpy_envelope(crypto, text_msg)
        return send(env, 403, nonce=env["Nonce"] + "1")

    def wrong_token_post():
        other = WeChatCrypto(TOKEN + "x", AES_KEY, CORP_ID)
        return send(wechatpy_envelope(other, text_msg), 403)

    def stale_timestamp_post():
        return send(wechatpy_envelope(crypto, text_msg, timestamp=str(int(time.time()) - 3600)), 403)

    def wrong_corp_id_post():
        other = WeChatCrypto(TOKEN, AES_KEY, CORP_ID + "x")
        env = wechatpy_envelope(other, text_msg)
        status, _, body = http("POST", base_url + "?" + signed_query(env), post_body(env["Encrypt"]),
                               {"Content-Type": "text/xml"})
        expect(400 <= status < 500, "message for another receive id -> %d %s" % (status, show(body)))
        return "%d" % status

    def malformed_post():
        return send(wechatpy_envelope(crypto, text_msg), 400, body=b"this is not xml")

    def wrong_get_signature():
        plain = str(_rng.randrange(10**18, 10**19))
        env = wechatpy_envelope(crypto, plain)
        qs = query_string({"msg_signature": flip_last(env["MsgSignature"]), "timestamp": env["TimeStamp"], "nonce": env["Nonce"],
                           "echostr": env["Encrypt"]})
        status, _, body = http("GET", base_url + "?" + qs)
        expect(status == 403, "-> %d %s" % (status, show(body)))
        expect(plain.encode("ascii") not in body, "403 body leaks the echostr plaintext: %s" % show(body))
        return "403, plaintext not leaked"

    def stale_get():
        plain = str(_rng.randrange(10**18, 10**19))
        env = wechatpy_envelope(crypto, plain, timestamp=str(int(time.time()) - 3600))
        qs = query_string({"msg_signature": env["MsgSignature"], "timestamp": env["TimeStamp"],
                           "nonce": env["Nonce"], "echostr": env["Encrypt"]})
        status, _, body = http("GET", base_url + "?" + qs)
        expect(status == 403, "-> %d %s" % (status, show(body)))
        expect(plain.encode("ascii") not in body, "403 body leaks the echostr plaintext: %s" % show(body))
        return "403"

    def put_method():
        return send(wechatpy_envelope(crypto, text_msg), 405, method="PUT")

    def too_large():
        env = wechatpy_envelope(crypto, text_msg)
        body = post_body(env["Encrypt"]) + b" " * (2 * BODY_LIMIT)
        status = raw_post_headers_first(base_url, signed_query(env), len(body), body)
        expect(status == 413, "%d-byte body -> %d" % (len(body), status))
        return "413 for %d bytes" % len(body)

    runner.run("negative: POST with tampered msg_signature -> 403", tampered_post_signature)
    runner.run("negative: POST with nonce changed after signing -> 403", tampered_post_nonce)
    runner.run("negative: POST signed with another token -> 403", wrong_token_post)
    runner.run("negative: POST with timestamp 1 h old (validly signed) -> 403", stale_timestamp_post)
    runner.run("negative: POST encrypted for another corp id -> 4xx", wrong_corp_id_post)
    runner.run("negative: POST with a non-XML body -> 400", malformed_post)
    runner.run("negative: GET with wrong msg_signature -> 403, no echostr", wrong_get_signature)
    runner.run("negative: GET with timestamp 1 h old (validly signed) -> 403", stale_get)
    runner.run("negative: PUT -> 405", put_method)
    runner.run("negative: POST larger than 64 KiB -> 413", too_large)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base_url", nargs="?", default=os.environ.get("INTEROP_BASE_URL", DEFAULT_BASE_URL))
    parser.add_argument("--samples", default=DEFAULT_SAMPLES, help="directory of decrypted sample *.xml")
    parser.add_argument("--vectors", default=DEFAULT_VECTORS,
                        help="public.json for the offline wechatpy self-test ('' to skip)")
    args = parser.parse_args(argv)
    base_url = args.base_url.split("?", 1)[0]

    import wechatpy
    print("wechatpy %s (%s); server %s; corp id %s"
          % (wechatpy.__version__, os.path.dirname(wechatpy.__file__), base_url, CORP_ID), flush=True)

    runner = Runner()
    if args.vectors and os.path.exists(args.vectors):
        vector_checks(runner, args.vectors)
    else:
        print("(no vectors file: skipping the offline wechatpy self-test)", flush=True)

    crypto = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    url_verification_checks(runner, crypto, base_url)
    sample_checks(runner, crypto, base_url, args.samples)
    extra_message_checks(runner, crypto, base_url)
    negative_checks(runner, crypto, base_url)

    print("%d passed, %d failed" % (runner.passed, runner.failed), flush=True)
    return 1 if runner.failed else 0


if __name__ == "__main__":
    sys.exit(main())
