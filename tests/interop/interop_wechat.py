"""WeChat kinds: Official Account in plaintext, compatible and safe mode, and
the Open Platform component. wechatpy plays the WeChat servers:

* the plain `signature` (SHA-1 of sorted token/timestamp/nonce) is computed with
  wechatpy.utils.WeChatSigner and checked with wechatpy.utils.check_signature
  before it is sent;
* messages are encrypted and `msg_signature` computed by
  wechatpy.crypto.WeChatCrypto(token, encoding_aes_key, appid).encrypt_message
  (Open Platform: the WeChatCrypto of wechatpy.component.WeChatComponent).
  encrypt_message renders a *reply* envelope (Encrypt, MsgSignature,
  TimeStamp, Nonce); WeChat's request carries Encrypt in the body (safe:
  ToUserName + Encrypt; compatible: the plaintext elements + Encrypt; Open
  Platform: AppId + Encrypt) and signature, timestamp, nonce,
  encrypt_type=aes, msg_signature (+ openid) in the query, so the body is
  rebuilt from it and wechatpy's own decrypt_message / parse_message first
  accepts what is about to be sent;
* replies are opened with decrypt_message (checks MsgSignature and the appid
  inside the ciphertext) and read with wechatpy.parse_message.
"""

import os
import time
import xml.etree.ElementTree as ET

import wechatpy
from wechatpy.component import ComponentVerifyTicketMessage, WeChatComponent
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import WeChatSigner, check_signature

from interop_common import (CheckFailed, as_new_delivery, cdata, expect, expected_echo, flip_last, fresh_echostr,
                            fresh_msg_id, fresh_nonce, http, now_ts, parse_envelope, query_string, read_samples,
                            show, wechatpy_envelope)

XML = {"Content-Type": "text/xml"}
STALE = 3600  # seconds: a validly signed request this old must be refused


def plain_signature(token, timestamp, nonce):
    """WeChat's plain `signature`, computed by wechatpy and checked by its check_signature."""
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    sig = signer.signature
    check_signature(token, sig, timestamp, nonce)  # raises if wechatpy disagrees with itself
    return sig


def text_message(to_user, from_user, content):
    return ("<xml><ToUserName>%s</ToUserName><FromUserName>%s</FromUserName><CreateTime>%s</CreateTime>"
            "<MsgType>%s</MsgType><Content>%s</Content><MsgId>%s</MsgId></xml>"
            % (cdata(to_user), cdata(from_user), now_ts(), cdata("text"), cdata(content), fresh_msg_id()))


class WeChatSide:
    """What the WeChat servers send to one configured URL."""

    def __init__(self, base_url, mode, token, key, appid):
        self.base_url, self.mode, self.token, self.appid = base_url, mode, token, appid
        if mode == "component":
            self.component = WeChatComponent(appid, "component-secret-unused", token, key)
            self.crypto = self.component.crypto  # wechatpy.crypto.WeChatCrypto(token, key, component appid)
        elif mode != "plain":
            self.crypto = WeChatCrypto(token, key, appid)
        else:
            self.crypto = None

    def query(self, timestamp=None, nonce=None, **extra):
        timestamp = timestamp or now_ts()
        nonce = nonce or fresh_nonce()
        params = {"signature": plain_signature(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
        params.update(extra)
        return params

    def url(self, params, drop=()):
        return self.base_url + "?" + query_string({k: v for k, v in params.items() if k not in drop})

    def encrypted_post(self, plaintext, openid=None, to_user=None, crypto=None, timestamp=None):
        """(query params, body bytes) of an encrypted POST as WeChat sends it in this mode."""
        env = wechatpy_envelope(crypto or self.crypto, plaintext, timestamp=timestamp)
        params = self.query(env["TimeStamp"], env["Nonce"])
        if openid is not None:
            params["openid"] = openid
        params.update(encrypt_type="aes", msg_signature=env["MsgSignature"])
        enc = "<Encrypt>%s</Encrypt>" % cdata(env["Encrypt"])
        if self.mode == "component":
            body = "<xml>\n    <AppId>%s</AppId>\n    %s\n</xml>\n" % (cdata(self.appid), enc)
        elif self.mode == "safe":
            body = "<xml>\n    <ToUserName>%s</ToUserName>\n    %s\n</xml>\n" % (cdata(to_user), enc)
        else:  # compat: every plaintext element, then Encrypt
            end = plaintext.rstrip().rfind("</xml")
            expect(end > 0, "no </xml> in the plaintext")
            body = plaintext[:end] + enc + plaintext[end:]
        if crypto is None:
            # wechatpy as the receiving side accepts the request we built
            got = self.crypto.decrypt_message(body, params["msg_signature"], params["timestamp"], params["nonce"])
            expect(got == plaintext, "wechatpy round trip changed the plaintext")
        return params, body.encode("utf-8")

    def post(self, plaintext, openid, to_user):
        """(query params, body) of a message POST in this mode (plaintext mode: the message itself)."""
        if self.mode == "plain":
            params = self.query(openid=openid)
            return params, plaintext.encode("utf-8")
        return self.encrypted_post(plaintext, openid=openid, to_user=to_user)

    def open_reply(self, body):
        """The passive reply in `body` read as WeChat reads it: wechatpy.parse_message
        (after decrypt_message, which checks MsgSignature and the appid, when encrypted)."""
        if self.mode == "plain":
            plain = body.decode("utf-8")
        else:
            env = parse_envelope(body)
            for key in ("Encrypt", "MsgSignature", "TimeStamp", "Nonce"):
                expect(env.get(key), "reply envelope lacks %s: %s" % (key, show(body)))
            expect(env["TimeStamp"].isdigit() and abs(int(env["TimeStamp"]) - time.time()) <= 300,
                   "reply TimeStamp %r" % env["TimeStamp"])
            try:
                plain = self.crypto.decrypt_message(body, env["MsgSignature"], env["TimeStamp"], env["Nonce"])
            except InvalidSignatureException:
                raise CheckFailed("wechatpy rejects the reply's MsgSignature: %s" % show(body))
            except InvalidAppIdException:
                raise CheckFailed("the reply is not encrypted for appid %s" % self.appid)
        expect(ET.fromstring(plain).tag == "xml", "reply is not <xml>: %s" % show(plain))
        return wechatpy.parse_message(plain)


# ------------------------------------------------------------- GET verification

def get_verification_checks(runner, side, rounds=3):
    def ok():
        seen = []
        for _ in range(rounds):
            echostr = fresh_echostr()
            status, _, body = http("GET", side.url(side.query(echostr=echostr)))
            expect(status == 200 and body == echostr.encode("ascii"),
                   "GET echostr=%s -> %d %s" % (echostr, status, show(body)))
            seen.append(echostr)
        return "%d rounds, echostr echoed unchanged" % rounds

    def forged():
        echostr = fresh_echostr()
        params = side.query(echostr=echostr)
        params["signature"] = flip_last(params["signature"])
        try:
            check_signature(side.token, params["signature"], params["timestamp"], params["nonce"])
            raise CheckFailed("wechatpy accepts the forged signature")
        except InvalidSignatureException:
            pass
        status, _, body = http("GET", side.url(params))
        expect(status == 403, "-> %d %s" % (status, show(body)))
        expect(echostr.encode("ascii") not in body, "403 body echoes echostr: %s" % show(body))
        return "403"

    def stale():
        echostr = fresh_echostr()
        status, _, body = http("GET", side.url(side.query(str(int(time.time()) - STALE), echostr=echostr)))
        expect(status == 403, "-> %d %s" % (status, show(body)))
        return "403"

    runner.run("GET verification: signature by wechatpy, echostr answered unchanged", ok)
    runner.run("negative: GET with forged signature -> 403, echostr not echoed", forged)
    runner.run("negative: GET with timestamp 1 h old (validly signed) -> 403", stale)


# ------------------------------------------------------------- Official Account

def oa_message_checks(runner, side, samples, log):
    """Every mp/*.xml sample (and a non-ASCII text) POSTed; the echo reply read back."""

    def one(text, want_content=None):
        msg = ET.fromstring(text)
        to_user, from_user = msg.findtext("ToUserName"), msg.findtext("FromUserName")
        want_content = want_content or expected_echo(msg)
        params, body = side.post(text, openid=from_user, to_user=to_user)
        status, _, resp = http("POST", side.url(params), body, XML)
        expect(status == 200, "POST ?%s -> %d %s" % (query_string(params), status, show(resp)))
        reply = side.open_reply(resp)
        expect(reply.type == "text", "reply type %r: %s" % (reply.type, show(resp)))
        expect(reply.content == want_content, "reply Content %r, expected %r" % (reply.content, want_content))
        expect(reply.target == from_user, "reply ToUserName %r, expected %r" % (reply.target, from_user))
        expect(reply.source == to_user, "reply FromUserName %r, expected %r" % (reply.source, to_user))
        return "Content %r" % reply.content

    def found():
        expect(samples, "no mp/*.xml samples")
        return "%d samples" % len(samples)

    runner.run("mp samples found", found)
    for name, text in samples:
        runner.run("POST sample mp/%s" % name, lambda text=text: one(as_new_delivery(text)))
    content = "你好，世界 & <b>\"ok\"</b> 🎉"
    runner.run("POST text with non-ASCII and markup in Content",
               lambda: one(text_message("gh_10f6c3c3ac5a", "oyORnuP8q7ou2gfYjqLzSIWZf0rs", content)))

    def retry():
        # WeChat retries an unanswered message up to three times; same MsgId, signed afresh
        text = text_message("gh_10f6c3c3ac5a", "oRetry", "once")
        msg_id = ET.fromstring(text).findtext("MsgId")
        got = [one(text), one(text)]
        if log.available():
            calls = len(log.wait_for_accepted(0, msg_id=msg_id))
            expect(calls == 1, "the handler ran %d times for MsgId %s" % (calls, msg_id))
            return "%s twice, handler ran once" % got[0]
        return "%s twice" % got[0]

    runner.run("POST the same MsgId twice (a retry) -> same reply, handler once", retry)


def oa_plain_negative_checks(runner, side):
    msg = lambda: text_message("gh_10f6c3c3ac5a", "oyORnuP8q7ou2gfYjqLzSIWZf0rs", "hello")  # noqa: E731

    def send(params, body, expected):
        status, _, resp = http("POST", side.url(params), body.encode("utf-8"), XML)
        expect(status == expected, "POST ?%s -> %d %s" % (query_string(params), status, show(resp)))
        return str(expected)

    def forged():
        params = side.query(openid="o1")
        params["signature"] = flip_last(params["signature"])
        return send(params, msg(), 403)

    def nonce_changed():
        params = side.query(openid="o1")
        params["nonce"] += "1"
        return send(params, msg(), 403)

    def stale():
        return send(side.query(str(int(time.time()) - STALE), openid="o1"), msg(), 403)

    def unsigned():
        params = side.query(openid="o1")
        del params["signature"]
        return send(params, msg(), 400)

    runner.run("negative: POST with forged signature -> 403", forged)
    runner.run("negative: POST with nonce changed after signing -> 403", nonce_changed)
    runner.run("negative: POST with timestamp 1 h old (validly signed) -> 403", stale)
    runner.run("negative: POST without signature -> 400", unsigned)


def encrypted_negative_checks(runner, side, plaintext, to_user, openid, key):
    """Shared by safe mode, compatible mode and the Open Platform."""

    def send(params, body, expected_range, drop=()):
        status, _, resp = http("POST", side.url(params, drop), body, XML)
        lo, hi = expected_range
        expect(lo <= status <= hi, "POST ?%s -> %d %s" % (query_string(params), status, show(resp)))
        return str(status)

    def no_encrypt_type():
        params, body = side.encrypted_post(plaintext(), openid, to_user)
        return send(params, body, (400, 400), drop=("encrypt_type",))

    def no_msg_signature():
        params, body = side.encrypted_post(plaintext(), openid, to_user)
        return send(params, body, (400, 400), drop=("msg_signature",))

    def forged_msg_signature():
        params, body = side.encrypted_post(plaintext(), openid, to_user)
        params["msg_signature"] = flip_last(params["msg_signature"])  # plain signature still right
        return send(params, body, (403, 403))

    def wrong_token():
        other = WeChatCrypto(side.token + "x", key, side.appid)
        params, body = side.encrypted_post(plaintext(), openid, to_user, crypto=other)
        return send(params, body, (403, 403))

    def stale():
        params, body = side.encrypted_post(plaintext(), openid, to_user, timestamp=str(int(time.time()) - STALE))
        return send(params, body, (403, 403))

    def other_appid():
        other = WeChatCrypto(side.token, key, side.appid + "x")
        params, body = side.encrypted_post(plaintext(), openid, to_user, crypto=other)
        return send(params, body, (400, 499))

    runner.run("negative: POST without encrypt_type=aes -> 400", no_encrypt_type)
    runner.run("negative: POST without msg_signature -> 400", no_msg_signature)
    runner.run("negative: POST with forged msg_signature (plain signature valid) -> 403", forged_msg_signature)
    runner.run("negative: POST encrypted and signed with another token -> 403", wrong_token)
    runner.run("negative: POST with timestamp 1 h old (validly signed) -> 403", stale)
    runner.run("negative: POST encrypted for another appid -> 4xx", other_appid)


def oa_safe_extra_checks(runner, side):
    def plaintext_body():
        # encrypt_type=aes and a valid msg_signature over *some* Encrypt, but
        # the body is a plaintext message without <Encrypt>: never read as plaintext
        text = text_message("gh_10f6c3c3ac5a", "o1", "not encrypted")
        params, _ = side.encrypted_post(text, "o1", "gh_10f6c3c3ac5a")
        status, _, resp = http("POST", side.url(params), text.encode("utf-8"), XML)
        expect(status == 400, "-> %d %s" % (status, show(resp)))
        return "400"

    runner.run("negative: safe mode POST whose body has no Encrypt -> 400", plaintext_body)


def oa_compat_extra_checks(runner, side):
    def tampered_copy():
        text = text_message("gh_10f6c3c3ac5a", "oyORnuP8q7ou2gfYjqLzSIWZf0rs", "the real text")
        params, body = side.encrypted_post(text, "oyORnuP8q7ou2gfYjqLzSIWZf0rs", "gh_10f6c3c3ac5a")
        body = body.replace(b"the real text", b"forged text", 1)
        expect(b"forged text" in body, "tampering failed")
        status, _, resp = http("POST", side.url(params), body, XML)
        expect(status == 200, "-> %d %s" % (status, show(resp)))
        reply = side.open_reply(resp)
        expect(reply.content == "echo:text:the real text",
               "reply Content %r: the unauthenticated plaintext copy was read" % reply.content)
        return "reply Content %r" % reply.content

    runner.run("compat: tampered plaintext copy is ignored, the encrypted copy answered", tampered_copy)


def run_official_account(runner, base_url, samples_root, creds, mode, log):
    side = WeChatSide(base_url, mode, creds["token"], creds["key"], creds["receive_id"])
    samples = [(n, t) for n, t in read_samples(os.path.join(samples_root, "mp")) if n != "compat_mode_body.xml"]
    get_verification_checks(runner, side)
    oa_message_checks(runner, side, samples, log)
    if mode == "plain":
        oa_plain_negative_checks(runner, side)
        return
    plaintext = lambda: text_message("gh_10f6c3c3ac5a", "o1", "hello")  # noqa: E731
    encrypted_negative_checks(runner, side, plaintext, "gh_10f6c3c3ac5a", "o1", creds["key"])
    if mode == "safe":
        oa_safe_extra_checks(runner, side)
    else:
        oa_compat_extra_checks(runner, side)


# ------------------------------------------------------------- Open Platform

def component_ticket(appid, ticket):
    return ("<xml><AppId>%s</AppId><CreateTime>%s</CreateTime><InfoType>%s</InfoType>"
            "<ComponentVerifyTicket>%s</ComponentVerifyTicket></xml>"
            % (cdata(appid), now_ts(), cdata("component_verify_ticket"), cdata(ticket)))


def run_open_platform(runner, base_url, samples_root, creds, log):
    side = WeChatSide(base_url, "component", creds["token"], creds["key"], creds["receive_id"])
    get_verification_checks(runner, side)

    def push(plaintext):
        info_type = (ET.fromstring(plaintext).findtext("InfoType") or "").strip()
        before = len(log.accepted(info_type=info_type)) if log.available() else 0
        params, body = side.encrypted_post(plaintext)
        status, _, resp = http("POST", side.url(params), body, XML)
        expect(status == 200 and resp == b"success",
               "POST ?%s -> %d %s (expected 200 'success')" % (query_string(params), status, show(resp)))
        if not log.available():
            return "success (no server log to check InfoType)"
        found = log.wait_for_accepted(before, info_type=info_type)
        expect(len(found) > before, "no 'callback accepted' line with info_type=\"%s\" in the server log" % info_type)
        return "success; server log: %s" % found[-1].split("callback accepted", 1)[-1].strip()

    def ticket():
        value = "ticket@@@" + fresh_nonce() + "-interop"
        plaintext = component_ticket(side.appid, value)
        env = wechatpy_envelope(side.crypto, plaintext)
        # wechatpy.component's own handler reads it back (offline: a ticket push needs no API call)
        msg = side.component.parse_message(
            "<xml><AppId>%s</AppId><Encrypt>%s</Encrypt></xml>" % (cdata(side.appid), cdata(env["Encrypt"])),
            env["MsgSignature"], env["TimeStamp"], env["Nonce"])
        expect(isinstance(msg, ComponentVerifyTicketMessage) and msg.verify_ticket == value,
               "wechatpy.component reads %r" % (msg,))
        expect(side.component.component_verify_ticket == value, "wechatpy.component did not cache the ticket")
        return push(plaintext)

    runner.run("POST component_verify_ticket (wechatpy.component) -> success", ticket)
    samples = [(n, t) for n, t in read_samples(os.path.join(samples_root, "component"))
               if n != "outer_envelope_real_capture.xml"]

    def found():
        expect(samples, "no component/*.xml samples")
        return "%d samples" % len(samples)

    runner.run("component samples found", found)
    for name, text in samples:
        runner.run("POST sample component/%s -> success" % name, lambda text=text: push(text))

    plaintext = lambda: component_ticket(side.appid, "ticket@@@" + fresh_nonce())  # noqa: E731
    encrypted_negative_checks(runner, side, plaintext, None, None, creds["key"])
