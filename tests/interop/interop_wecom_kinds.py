"""WeCom kinds beside the self-built app: the third-party suite's instruction
callback (receive id = suite id, answer `success`), its data callback (GET:
the provider's corp id, POST: an authorized corp's id) and the intelligent
robot (JSON bodies, receive id ""). wechatpy has no suite or robot support as
such, but its WeCom crypto, wechatpy.enterprise.crypto.WeChatCrypto(token,
key, receive_id), is all these kinds need: it encrypts and signs with any
receive id, the empty one included (the robot's JSON envelope is built around
its Encrypt/MsgSignature, and its replies opened by passing decrypt_message
the JSON's fields)."""

import json
import os
import time
import xml.etree.ElementTree as ET

from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from interop_common import (CheckFailed, cdata, expect, flip_last, fresh_echostr, fresh_msg_id, fresh_nonce, http,
                            now_ts, parse_envelope, query_string, read_samples, show, wechatpy_envelope)

STALE = 3600


def signed_params(env, **override):
    params = {"msg_signature": env["MsgSignature"], "timestamp": env["TimeStamp"], "nonce": env["Nonce"]}
    params.update(override)
    return params


def url(base_url, params):
    return base_url + "?" + query_string(params)


def get_verification_checks(runner, crypto, base_url, label, rounds=3):
    """WeCom GET: echostr encrypted by wechatpy for `crypto`'s receive id, answered in plaintext."""

    def ok():
        for _ in range(rounds):
            plain = fresh_echostr()
            env = wechatpy_envelope(crypto, plain)
            expect(crypto.check_signature(env["MsgSignature"], env["TimeStamp"], env["Nonce"], env["Encrypt"])
                   == plain, "wechatpy round trip failed")
            status, _, body = http("GET", url(base_url, signed_params(env, echostr=env["Encrypt"])))
            expect(status == 200 and body == plain.encode("ascii"),
                   "GET -> %d %s, expected %r" % (status, show(body), plain))
        return "%d rounds" % rounds

    def forged():
        plain = fresh_echostr()
        env = wechatpy_envelope(crypto, plain)
        params = signed_params(env, echostr=env["Encrypt"], msg_signature=flip_last(env["MsgSignature"]))
        status, _, body = http("GET", url(base_url, params))
        expect(status == 403, "-> %d %s" % (status, show(body)))
        expect(plain.encode("ascii") not in body, "403 body leaks the echostr plaintext")
        return "403"

    runner.run("GET verification (receive id %s)" % label, ok)
    runner.run("negative: GET with forged msg_signature -> 403", forged)


def xml_body(to_user, encrypt, agent_id=""):
    # as WeCom sends it: newlines, AgentID after Encrypt (empty on instruction callbacks)
    return ("<xml>\n<ToUserName>%s</ToUserName>\n<Encrypt>%s</Encrypt>\n<AgentID>%s</AgentID>\n</xml>\n"
            % (cdata(to_user), cdata(encrypt), cdata(agent_id))).encode("utf-8")


# ------------------------------------------------------------- suite (instruction callback)

def suite_ticket(suite_id, ticket):
    return ("<xml><SuiteId>%s</SuiteId><InfoType>%s</InfoType><TimeStamp>%s</TimeStamp>"
            "<SuiteTicket>%s</SuiteTicket></xml>" % (cdata(suite_id), cdata("suite_ticket"), now_ts(), cdata(ticket)))


def run_suite(runner, base_url, samples_root, creds, log):
    suite_id = creds["receive_id"]
    crypto = WeChatCrypto(creds["token"], creds["key"], suite_id)
    get_verification_checks(runner, crypto, base_url, "= suite id")

    def push(plaintext, crypto=crypto, expected=200):
        info_type = (ET.fromstring(plaintext).findtext("InfoType") or "").strip()
        before = len(log.accepted(info_type=info_type)) if log.available() else 0
        env = wechatpy_envelope(crypto, plaintext)
        status, _, resp = http("POST", url(base_url, signed_params(env)), xml_body(suite_id, env["Encrypt"]),
                               {"Content-Type": "text/xml"})
        if expected != 200:
            expect(status == expected or (expected == "4xx" and 400 <= status < 500),
                   "-> %d %s, expected %s" % (status, show(resp), expected))
            return str(status)
        expect(status == 200 and resp == b"success", "-> %d %s (expected 200 'success')" % (status, show(resp)))
        if not log.available():
            return "success"
        found = log.wait_for_accepted(before, info_type=info_type)
        expect(len(found) > before, "no 'callback accepted' line with info_type=\"%s\" in the server log" % info_type)
        return "success, logged info_type=%s" % info_type

    runner.run("POST suite_ticket (fresh, encrypted for the suite id) -> success",
               lambda: push(suite_ticket(suite_id, "ticket-" + fresh_nonce())))
    samples = read_samples(os.path.join(samples_root, "suite"))

    def found():
        expect(samples, "no suite/*.xml samples")
        return "%d samples" % len(samples)

    runner.run("suite samples found", found)
    for name, text in samples:
        runner.run("POST sample suite/%s -> success" % name, lambda text=text: push(text))

    other = WeChatCrypto(creds["token"], creds["key"], suite_id + "x")
    runner.run("negative: suite_ticket encrypted for another suite id -> 4xx",
               lambda: push(suite_ticket(suite_id, "t"), crypto=other, expected="4xx"))
    wrong_token = WeChatCrypto(creds["token"] + "x", creds["key"], suite_id)
    runner.run("negative: suite_ticket signed with another token -> 403",
               lambda: push(suite_ticket(suite_id, "t"), crypto=wrong_token, expected=403))


# ------------------------------------------------------------- suite (data callback)

def wecom_text(corp_id, user, content):
    return ("<xml><ToUserName>%s</ToUserName><FromUserName>%s</FromUserName><CreateTime>%s</CreateTime>"
            "<MsgType>%s</MsgType><Content>%s</Content><MsgId>%s</MsgId><AgentID>1</AgentID></xml>"
            % (cdata(corp_id), cdata(user), now_ts(), cdata("text"), cdata(content), fresh_msg_id()))


def run_suite_data(runner, base_url, creds):
    provider = creds["receive_id"]
    corps = creds["authorized"]
    get_verification_checks(runner, WeChatCrypto(creds["token"], creds["key"], provider), base_url,
                            "= the provider's corp id")

    def message(corp, expect_ok=True):
        crypto = WeChatCrypto(creds["token"], creds["key"], corp)
        env = wechatpy_envelope(crypto, wecom_text(corp, "zhangsan", "data " + corp))
        status, _, body = http("POST", url(base_url, signed_params(env)), xml_body(corp, env["Encrypt"], "1"),
                               {"Content-Type": "text/xml"})
        if not expect_ok:
            expect(400 <= status < 500, "-> %d %s" % (status, show(body)))
            return str(status)
        expect(status == 200, "-> %d %s" % (status, show(body)))
        reply = parse_envelope(body)
        try:
            # the reply goes back to the authorized corp: encrypted for its id
            plain = crypto.decrypt_message(body, reply["MsgSignature"], reply["TimeStamp"], reply["Nonce"])
        except InvalidSignatureException:
            raise CheckFailed("wechatpy rejects the reply signature: %s" % show(body))
        except InvalidCorpIdException:
            raise CheckFailed("the reply is not encrypted for corp %s" % corp)
        got = ET.fromstring(plain)
        expect(got.findtext("Content") == "echo:text:data " + corp, "reply Content %r" % got.findtext("Content"))
        expect(got.findtext("ToUserName") == "zhangsan", "reply ToUserName %r" % got.findtext("ToUserName"))
        return "Content %r" % got.findtext("Content")

    for corp in corps:
        runner.run("POST text from authorized corp %s (encrypted for it) -> echo reply" % corp,
                   lambda corp=corp: message(corp))
    runner.run("negative: POST encrypted for a corp not in the list -> 4xx",
               lambda: message("wwnotauthorized0001", expect_ok=False))


# ------------------------------------------------------------- robot (JSON, receive id "")

def bot_text(user, content):
    return json.dumps({"msgid": "m" + fresh_msg_id(), "aibotid": "AIBOTID", "chattype": "single",
                       "from": {"userid": user}, "response_url": "https://example.invalid/response",
                       "msgtype": "text", "text": {"content": content}}, ensure_ascii=False)


def bot_event(user, event_type):
    return json.dumps({"msgid": "m" + fresh_msg_id(), "aibotid": "AIBOTID", "chattype": "single",
                       "from": {"userid": user}, "create_time": int(time.time()), "msgtype": "event",
                       "event": {"eventtype": event_type}})


def run_bot(runner, base_url, creds):
    crypto = WeChatCrypto(creds["token"], creds["key"], "")  # wechatpy allows the empty receive id
    get_verification_checks(runner, crypto, base_url, '""')
    JSON = {"Content-Type": "application/json"}

    def post(payload, crypto=crypto, timestamp=None):
        env = wechatpy_envelope(crypto, payload, timestamp=timestamp)
        body = json.dumps({"encrypt": env["Encrypt"]}).encode("utf-8")
        return env, http("POST", url(base_url, signed_params(env)), body, JSON)

    def round_trip(payload, want):
        _, (status, headers, body) = post(payload)
        expect(status == 200, "-> %d %s" % (status, show(body)))
        expect((headers.get("Content-Type") or "").startswith("application/json"),
               "reply Content-Type %r" % headers.get("Content-Type"))
        env = json.loads(body)
        for key in ("encrypt", "msgsignature", "timestamp", "nonce"):
            expect(isinstance(env.get(key), str) and env[key], "reply JSON lacks string %s: %s" % (key, show(body)))
        try:
            plain = crypto.decrypt_message({"Encrypt": env["encrypt"]}, env["msgsignature"], env["timestamp"],
                                           env["nonce"])
        except InvalidSignatureException:
            raise CheckFailed("wechatpy rejects the reply msgsignature: %s" % show(body))
        except InvalidCorpIdException:
            raise CheckFailed("the reply is not encrypted for the empty receive id")
        reply = json.loads(plain)
        expect(reply == {"msgtype": "text", "text": {"content": want}}, "reply %s" % show(plain))
        return "reply %s" % plain

    runner.run("POST robot text (JSON) -> JSON text reply",
               lambda: round_trip(bot_text("zhangsan", "hello robot"), "echo:text:hello robot"))
    content = "你好 \"robot\" <b>&</b> 🎉"
    runner.run("POST robot text with non-ASCII and JSON escapes",
               lambda: round_trip(bot_text("张三", content), "echo:text:" + content))
    runner.run("POST robot event enter_chat -> JSON text reply",
               lambda: round_trip(bot_event("zhangsan", "enter_chat"), "echo:event:enter_chat"))

    def status_of(result, lo, hi):
        status, _, body = result
        expect(lo <= status <= hi, "-> %d %s" % (status, show(body)))
        return str(status)

    def xml_envelope():
        env = wechatpy_envelope(crypto, bot_text("zhangsan", "x"))
        return status_of(http("POST", url(base_url, signed_params(env)), xml_body("", env["Encrypt"]),
                              {"Content-Type": "text/xml"}), 400, 400)

    def forged():
        env = wechatpy_envelope(crypto, bot_text("zhangsan", "x"))
        body = json.dumps({"encrypt": env["Encrypt"]}).encode("utf-8")
        params = signed_params(env, msg_signature=flip_last(env["MsgSignature"]))
        return status_of(http("POST", url(base_url, params), body, JSON), 403, 403)

    runner.run("negative: robot POST with an XML envelope -> 400", xml_envelope)
    runner.run("negative: robot POST with forged msg_signature -> 403", forged)
    runner.run("negative: robot POST encrypted for receive id 'wwcorp' (not \"\") -> 4xx",
               lambda: status_of(post(bot_text("z", "x"), crypto=WeChatCrypto(creds["token"], creds["key"],
                                                                               "wwcorp"))[1], 400, 499))
    runner.run("negative: robot POST with timestamp 1 h old (validly signed) -> 403",
               lambda: status_of(post(bot_text("z", "x"), timestamp=str(int(time.time()) - STALE))[1], 403, 403))
