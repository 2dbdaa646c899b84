"""WeCom self-built app (receive id = corp id): wechatpy.enterprise.crypto
plays WeCom against the echo example (WECOM_KIND=wecom_app)."""

import glob
import os
import time
import xml.etree.ElementTree as ET

from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from interop_common import (BODY_LIMIT, CheckFailed, as_new_delivery, expect, expected_echo, flip_last,
                            fresh_echostr, fresh_msg_id,
                            http, now_ts, parse_envelope, query_string, raw_post_headers_first, show,
                            wechatpy_envelope)

TOKEN = AES_KEY = CORP_ID = None  # set by run()


def post_body(encrypt, to_user=None, agent_id="1"):
    return (
        "<xml><ToUserName><![CDATA[%s]]></ToUserName><AgentID><![CDATA[%s]]></AgentID>"
        "<Encrypt><![CDATA[%s]]></Encrypt></xml>" % (to_user or CORP_ID, agent_id, encrypt)
    ).encode("utf-8")


def url_verification_checks(runner, crypto, base_url, max_rounds=40, min_rounds=3):
    """GET verification with fresh random 19-digit echostr plaintexts, until
    echostr values containing '+' and '/' have both been exercised."""
    seen_plus = seen_slash = False
    rounds = failures = 0
    while (rounds < max_rounds and failures < 5
           and (rounds < min_rounds or not (seen_plus and seen_slash))):
        rounds += 1
        plain = fresh_echostr()  # 19 decimal digits, like WeCom's
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
                sample_text = as_new_delivery(f.read().decode("utf-8"))
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


def negative_checks(runner, crypto, base_url):
    text_msg = ("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>"
                "<CreateTime>%s</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content>"
                "<MsgId>%s</MsgId><AgentID>1</AgentID></xml>" % (CORP_ID, now_ts(), fresh_msg_id()))

    def signed_query(env, **override):
        params = {"msg_signature": env["MsgSignature"], "timestamp": env["TimeStamp"], "nonce": env["Nonce"]}
        params.update(override)
        return query_string(params)

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
        plain = fresh_echostr()
        env = wechatpy_envelope(crypto, plain)
        qs = query_string({"msg_signature": flip_last(env["MsgSignature"]), "timestamp": env["TimeStamp"],
                           "nonce": env["Nonce"],
                           "echostr": env["Encrypt"]})
        status, _, body = http("GET", base_url + "?" + qs)
        expect(status == 403, "-> %d %s" % (status, show(body)))
        expect(plain.encode("ascii") not in body, "403 body leaks the echostr plaintext: %s" % show(body))
        return "403, plaintext not leaked"

    def stale_get():
        plain = fresh_echostr()
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



def retry_check(runner, crypto, base_url, log):
    """A retry (the same MsgId, encrypted and signed afresh) gets the same
    answer, and the handler runs once (the layer deduplicates by MsgId)."""

    def check():
        msg_id = fresh_msg_id()
        msg = ("<xml><ToUserName><![CDATA[%s]]></ToUserName><FromUserName><![CDATA[wangwu]]></FromUserName>"
               "<CreateTime>%s</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[once]]></Content>"
               "<MsgId>%s</MsgId><AgentID>1</AgentID></xml>" % (CORP_ID, now_ts(), msg_id))
        contents = []
        for _ in range(2):
            env = wechatpy_envelope(crypto, msg)
            qs = query_string({"msg_signature": env["MsgSignature"], "timestamp": env["TimeStamp"],
                               "nonce": env["Nonce"]})
            status, _, body = http("POST", base_url + "?" + qs, post_body(env["Encrypt"]), {"Content-Type": "text/xml"})
            expect(status == 200, "-> %d %s" % (status, show(body)))
            reply = parse_envelope(body)
            plain = crypto.decrypt_message(body, reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"])
            contents.append(ET.fromstring(plain).findtext("Content"))
        expect(contents == ["echo:text:once"] * 2, "replies %r" % contents)
        if log.available():
            calls = len(log.wait_for_accepted(0, msg_id=msg_id))
            expect(calls == 1, "the handler ran %d times for MsgId %s" % (calls, msg_id))
            return "same reply twice, handler ran once"
        return "same reply twice"

    runner.run("POST the same MsgId twice (a retry) -> same reply, handler once", check)


def run(runner, base_url, samples_root, creds, log):
    global TOKEN, AES_KEY, CORP_ID
    TOKEN, AES_KEY, CORP_ID = creds["token"], creds["key"], creds["receive_id"]
    crypto = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    url_verification_checks(runner, crypto, base_url)
    sample_checks(runner, crypto, base_url, os.path.join(samples_root, "wecom"))
    extra_message_checks(runner, crypto, base_url)
    retry_check(runner, crypto, base_url, log)
    negative_checks(runner, crypto, base_url)
