"""Offline self-test: wechatpy against known-answer vectors (tests/data/vectors),
so that a mistake in how this check drives wechatpy shows up here, before any
server is blamed. No server is needed."""

import contextlib
import json
import os

import wechatpy.crypto as mp_crypto
import wechatpy.enterprise.crypto as work_crypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from interop_common import CheckFailed, expect, parse_envelope, show


@contextlib.contextmanager
def fixed_random(prp_class, prefix):
    """Makes wechatpy's 16-byte random prefix `prefix` (deterministic encryption)."""
    original = prp_class.get_random_string
    prp_class.get_random_string = lambda self: prefix
    try:
        yield
    finally:
        prp_class.get_random_string = original


def load_vectors(path):
    if not path or not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return {v["id"]: v for v in json.load(f)["vectors"]}


def wecom_checks(runner, vectors):
    def verify_url():
        v = vectors["wecom-official-verify-url"]
        c = work_crypto.WeChatCrypto(v["token"], v["encoding_aes_key"], v["receive_id"])
        got = c.check_signature(v["msg_signature"], v["timestamp"], v["nonce"], v["echostr"])
        expect(got == v["expected_plaintext"], "got %r" % got)
        # and the percent-encoding this check uses matches the vendor's request line
        from interop_common import query_string
        enc = query_string({"echostr": v["echostr"]})
        expect(enc == "echostr=" + v["echostr_urlencoded"], "urlencode gave %r" % enc)
        return "echostr -> %s" % got

    def decrypt_xml():
        v = vectors["wecom-official-decrypt-xml"]
        c = work_crypto.WeChatCrypto(v["token"], v["encoding_aes_key"], v["receive_id"])
        got = c.decrypt_message(v["post_body"], v["msg_signature"], v["timestamp"], v["nonce"])
        expect(got == v["expected_plaintext"], "got %r" % got)
        try:
            c.decrypt_message(v["post_body"], v["msg_signature"], v["timestamp"], v["nonce"] + "1")
        except InvalidSignatureException:
            return None
        raise CheckFailed("wechatpy accepted a wrong nonce")

    def encrypt_reply():
        v = vectors["wechatpy-work-encrypt-reply"]
        c = work_crypto.WeChatCrypto(v["token"], v["encoding_aes_key"], v["receive_id"])
        with fixed_random(work_crypto.PrpCrypto, v["random_prefix"]):
            got = c.encrypt_message(v["plaintext"], v["nonce"], v["timestamp"])
        expect(got == v["expected_response"], "got %s" % show(got))

    runner.run("wechatpy known-answer: wecom-official-verify-url", verify_url)
    runner.run("wechatpy known-answer: wecom-official-decrypt-xml", decrypt_xml)
    runner.run("wechatpy known-answer: wechatpy-work-encrypt-reply", encrypt_reply)


def wechat_checks(runner, vectors):
    """wechatpy.crypto.WeChatCrypto (MP / Open Platform) and wechatpy.utils.check_signature."""

    def plain_signatures():
        for vid in ("wechat-doc-plain-url-verify", "wechat-doc-plain-post",
                    "wechat-doc-safe-mode-url-signature", "wechatpy-plain-signature"):
            v = vectors[vid]
            try:
                check_signature(v["token"], v["signature"], v["timestamp"], v["nonce"])
            except InvalidSignatureException:
                raise CheckFailed("check_signature rejects %s" % vid)
        v = vectors["wechatpy-plain-signature-bad"]
        try:
            check_signature(v["token"], v["signature"], v["timestamp"], v["nonce"])
        except InvalidSignatureException:
            return "4 accepted, the bad one rejected"
        raise CheckFailed("check_signature accepted wechatpy-plain-signature-bad")

    def compat_decrypt():
        v = vectors["mp-official-python-demo-compat-mode"]
        c = mp_crypto.WeChatCrypto(v["token"], v["encoding_aes_key"], v["receive_id"])
        got = c.decrypt_message(v["post_body"], v["msg_signature"], v["timestamp"], v["nonce"])
        expect(got == v["expected_plaintext"], "got %r" % got)
        other = mp_crypto.WeChatCrypto(v["token"], v["encoding_aes_key"], v["receive_id"] + "x")
        try:
            other.decrypt_message(v["post_body"], v["msg_signature"], v["timestamp"], v["nonce"])
        except Exception as e:  # InvalidAppIdException
            return "plaintext ok; another appid -> %s" % type(e).__name__
        raise CheckFailed("wechatpy accepted another appid")

    def mp_encrypt():
        v = vectors["mp-java-sample-encrypt-1"]
        c = mp_crypto.WeChatCrypto(v["token"], v["encoding_aes_key"], v["receive_id"])
        with fixed_random(mp_crypto.PrpCrypto, v["random_prefix"]):
            got = parse_envelope(c.encrypt_message(v["plaintext"], "xxxxxx", "1409304348"))["Encrypt"]
        expect(got == v["expected_encrypt"], "got %r" % got)

    runner.run("wechatpy known-answer: plain signatures (check_signature)", plain_signatures)
    runner.run("wechatpy known-answer: mp-official-python-demo-compat-mode", compat_decrypt)
    runner.run("wechatpy known-answer: mp-java-sample-encrypt-1", mp_encrypt)


def robot_checks(runner, vectors):
    """wechatpy.enterprise.crypto with the empty receive id (the robot's)."""

    def decrypt_json():
        v = vectors["gen-robot-json-empty-receive-id"]
        c = work_crypto.WeChatCrypto(v["token"], v["encoding_aes_key"], "")
        body = json.loads(v["post_body"])
        got = c.decrypt_message({"Encrypt": body["encrypt"]}, v["msg_signature"], v["timestamp"], v["nonce"])
        expect(got == v["expected_plaintext"], "got %r" % got)

    def encrypt_json_reply():
        v = vectors["gen-reply-json-robot"]
        c = work_crypto.WeChatCrypto(v["token"], v["encoding_aes_key"], "")
        prefix = bytes.fromhex(v["random_prefix_hex"]).decode("ascii")
        with fixed_random(work_crypto.PrpCrypto, prefix):
            env = parse_envelope(c.encrypt_message(v["plaintext"], v["nonce"], v["timestamp"]))
        expect(env["Encrypt"] == v["expected_encrypt"], "Encrypt %r" % env["Encrypt"])
        expect(env["MsgSignature"] == v["msg_signature"], "MsgSignature %r" % env["MsgSignature"])

    runner.run("wechatpy known-answer: gen-robot-json-empty-receive-id", decrypt_json)
    runner.run("wechatpy known-answer: gen-reply-json-robot", encrypt_json_reply)


def run(runner, vectors_dir):
    public = load_vectors(os.path.join(vectors_dir, "public.json"))
    generated = load_vectors(os.path.join(vectors_dir, "generated.json"))

    def found():
        expect(public and generated, "public.json / generated.json missing in %s" % vectors_dir)
        return "%d public, %d generated vectors in %s" % (len(public), len(generated), os.path.normpath(vectors_dir))

    if not runner.run("vectors found", found):
        return
    wecom_checks(runner, public)
    wechat_checks(runner, public)
    robot_checks(runner, generated)
