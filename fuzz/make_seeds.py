#!/usr/bin/env python3
"""Writes the seed corpus under fuzz/seeds/<target>/ from tests/data/.

Each target's input layout is described at the top of its source file in
fuzz_targets/. Run from anywhere: `python3 fuzz/make_seeds.py`. The seeds
are committed; rerun after the sample data or a layout changes.
"""
import hashlib
import json
import pathlib
import shutil
import struct

FUZZ = pathlib.Path(__file__).resolve().parent
DATA = FUZZ.parent / "tests" / "data"
SEEDS = FUZZ / "seeds"
CORP_ID = b"wx5823bf96d3bd56c7"


def pkcs7_32(b: bytes) -> bytes:
    pad = 32 - len(b) % 32
    return b + bytes([pad]) * pad


def frame(prefix: bytes, msg: bytes, receive_id: bytes) -> bytes:
    return pkcs7_32(prefix + struct.pack(">I", len(msg)) + msg + receive_id)


def main() -> None:
    if SEEDS.exists():
        shutil.rmtree(SEEDS)
    seeds: dict[str, list[bytes]] = {t: [] for t in ("envelope", "frame", "message", "query", "pipeline", "kinds")}

    samples = sorted(
        p for kind in ("wecom", "mp", "suite", "component") for p in (DATA / "samples" / kind).glob("*.xml")
    )
    messages = [p.read_bytes() for p in samples]
    vectors = json.loads((DATA / "vectors" / "public.json").read_text())["vectors"]
    bodies = [v["post_body"].encode() for v in vectors if v.get("post_body", "").startswith("<xml")]
    encrypts = [v[k].encode() for v in vectors for k in ("echostr", "encrypt", "expected_encrypt") if v.get(k)]

    # envelope: 0x00 + body to parse; 0x01 + reply-envelope fields.
    for body in bodies:
        seeds["envelope"].append(b"\x00" + body)
    for name in ("outer_envelope_real_capture.xml",):
        seeds["envelope"].append(b"\x00" + (DATA / "samples" / "component" / name).read_bytes())
    seeds["envelope"].append(b"\x00" + (DATA / "samples" / "mp" / "compat_mode_body.xml").read_bytes())
    for p in sorted((DATA / "samples" / "replies").glob("envelope_*.xml")):
        seeds["envelope"].append(b"\x00" + p.read_bytes())
    seeds["envelope"].append(b"\x01" + b"\x00".join([b"abc+/=", b"0123456789abcdef0123456789abcdef01234567", b"1409659813", b"n]]>1"]))
    seeds["envelope"].append(b"\x01" + b"\x00".join([b"abc=", b"sig", b"1", "]]\uffff>x".encode()]))

    # frame: 0 + Encrypt text; 1 + decrypted bytes; 2 + prefix, id, delta, pad, msg.
    for e in encrypts:
        seeds["frame"].append(b"\x00" + e)
    for msg in messages[:6] + [b"", b"1616140317555161061"]:
        seeds["frame"].append(b"\x01" + frame(b"\x11" * 16, msg, CORP_ID))
        seeds["frame"].append(b"\x02" + b"\x22" * 16 + b"\x00\x00\x00" + msg)
    seeds["frame"].append(b"\x01" + frame(b"\x11" * 16, b"hi", b""))

    # message: 0x00 + decrypted XML; 0x01 + reply kind + to\0from\0text.
    for msg in messages:
        seeds["message"].append(b"\x00" + msg)
    for kind in range(5):
        seeds["message"].append(b"\x01" + bytes([kind]) + b"zhangsan\x00ww1\x00hello ]]> <b>&amp;</b>")
    seeds["message"].append(b"\x01\x00zhangsan\x00ww1\x00" + "]]\uffff></Content><Image><MediaId>EVIL</MediaId></Image>".encode())

    for j in (
        '{"msgid":"m1","aibotid":"b1","chattype":"single","from":{"userid":"zhangsan"},"msgtype":"text","text":{"content":"hi ]]> \\u0001"}}',
        '{"msgid":"m2","aibotid":"b1","chatid":"c1","chattype":"group","from":{"userid":"u"},"response_url":"https://example.com/r","msgtype":"event","event":{"eventtype":"enter_chat"}}',
        '{"msgtype":"image","image":{"url":"https://example.com/i.png"},"n":[1,-0.0,1e400,18446744073709551616]}',
    ):
        seeds["message"].append(b"\x02" + j.encode())

    # query: method, path, query. POST carries the vendor's body.
    for v in vectors:
        if v["id"] == "wecom-official-verify-url":
            q = f"msg_signature={v['msg_signature']}&timestamp={v['timestamp']}&nonce={v['nonce']}&echostr={v['echostr_urlencoded']}"
            seeds["query"].append(b"\x00\x01" + q.encode())
        if v["id"] == "wecom-official-decrypt-xml":
            q = f"msg_signature={v['msg_signature']}&timestamp={v['timestamp']}&nonce={v['nonce']}"
            seeds["query"].append(b"\x01\x01" + q.encode())
            seeds["query"].append(b"\x01\x01" + (q + "&timestamp=1409659813").encode())
            seeds["query"].append(b"\x02\x01" + q.encode())
            seeds["query"].append(b"\x01\x00" + q.encode())

    # pipeline: flags, offset, nonce length, nonce, payload.
    def pipeline(flags: int, payload: bytes, offset: int = 0, nonce: bytes = b"1372623149") -> bytes:
        return bytes([flags, offset & 0xFF, len(nonce)]) + nonce + payload

    for i, msg in enumerate(messages):
        seeds["pipeline"].append(pipeline((i % 8) << 3, msg))
    seeds["pipeline"].append(pipeline(1, b"1616140317555161061"))
    seeds["pipeline"].append(pipeline(1, b"1616140317555161061", offset=101))
    for handler in range(8):
        seeds["pipeline"].append(pipeline(2 | (handler << 3), b"zhangsan\x00hello ]]> world"))
        seeds["pipeline"].append(pipeline(6 | (handler << 3), b"zhangsan\x00" + "]]\uffff>".encode()))

    # kinds: kind, flags, offset, payload. Kinds: 0 WeCom app (JSON format),
    # 1 robot, 2-4 Official Account plaintext/compatible/safe, 5 Open
    # Platform, 6 suite instruction, 7 suite data. Flags: bit 0 written
    # message (from 0x00 content), bit 1 CDATA, bits 2-3 handler, bits 4-5
    # receive id, bit 6 GET.
    def kinds(kind: int, flags: int, payload: bytes, offset: int = 0) -> bytes:
        return bytes([kind, flags, offset & 0xFF]) + payload

    mixed = "Hello, 世界! 企业微信回调 test 123. 你好，这是一条消息。abc".encode()
    by_kind = {
        2: "mp", 3: "mp", 4: "mp", 5: "component", 6: "suite", 7: "wecom",
    }
    for kind in range(8):
        seeds["kinds"].append(kinds(kind, 1, b"zhangsan\x00" + mixed))
        seeds["kinds"].append(kinds(kind, 1 | 2 | (1 << 2), "张三\x00".encode() + mixed + b" ]]> <b>&amp;</b>\r\n"))
        seeds["kinds"].append(kinds(kind, 1 | (2 << 2), b"lisi\x00" + "]]\uffff>\x01".encode()))
        seeds["kinds"].append(kinds(kind, 1 | (3 << 2), b"wangwu\x00" + mixed))
        seeds["kinds"].append(kinds(kind, 1 | (2 << 4), b"wangwu\x00" + mixed))
        seeds["kinds"].append(kinds(kind, 0x40, b"1616140317555161061"))
        seeds["kinds"].append(kinds(kind, 0x40, b"1616140317555161061", offset=101))
        if kind in by_kind:
            for i, p in enumerate(sorted((DATA / "samples" / by_kind[kind]).glob("*.xml"))[:4]):
                seeds["kinds"].append(kinds(kind, (i % 3) << 2, p.read_bytes()))
    seeds["kinds"].append(kinds(7, 1 | (1 << 4), b"zhangsan\x00" + mixed))
    seeds["kinds"].append(kinds(7, 1 | (3 << 4), b"zhangsan\x00" + mixed))
    app_json = {
        "ToUserName": "wx5823bf96d3bd56c7", "FromUserName": "zhangsan", "CreateTime": 1409659700,
        "MsgType": "text", "Content": mixed.decode(), "MsgId": 42, "AgentID": 1,
    }
    seeds["kinds"].append(kinds(0, 0, json.dumps(app_json, ensure_ascii=False).encode()))
    seeds["kinds"].append(kinds(0, 0, json.dumps(dict(app_json, Content="a\u0000b")).encode()))
    seeds["kinds"].append(kinds(0, 0, (DATA / "samples" / "wecom" / "text.xml").read_bytes()))
    seeds["kinds"].append(kinds(0, 0, b'{"MsgType":"event","Event":"click","EventKey":"k","PicList":[{"Pic":"a"},{"Pic":"\\ufffe"}]}'))
    bot = {
        "msgid": "m1", "aibotid": "AIBOTID", "chatid": "c1", "chattype": "group",
        "from": {"userid": "zhangsan"}, "response_url": "https://example.com/r",
        "msgtype": "text", "text": {"content": mixed.decode()},
    }
    seeds["kinds"].append(kinds(1, 0, json.dumps(bot, ensure_ascii=False).encode()))
    seeds["kinds"].append(kinds(1, 0, json.dumps(dict(bot, msgtype="event", event={"eventtype": "enter_chat"})).encode()))
    seeds["kinds"].append(kinds(1, 0, b'{"msgtype":"text","text":{"content":"\\u0001"}}'))
    seeds["kinds"].append(kinds(2, 0, b"<xml><Content>\xff\xfe</Content></xml>"))

    for target, items in seeds.items():
        d = SEEDS / target
        d.mkdir(parents=True)
        for item in items:
            (d / hashlib.sha1(item).hexdigest()).write_bytes(item)
        print(f"{target}: {len(items)} seeds")


if __name__ == "__main__":
    main()
