#!/usr/bin/env python3
"""Interoperability check: wechatpy (an independent WXBizMsgCrypt implementation)
plays the WeCom / WeChat side against the running `echo` example server, one
callback kind at a time.

Usage:
    wechatpy_interop.py --kind KIND [BASE_URL] [--samples-root DIR] [--server-log FILE] [--result-file FILE]
    wechatpy_interop.py --kind selftest [--vectors DIR]      (offline, no server)
    wechatpy_interop.py --server-env KIND                    (prints the server's WECOM_* settings)

KIND is one of the echo example's WECOM_KIND values (wecom_app, wecom_suite,
wecom_suite_data, wecom_bot, official_account_plain, official_account_compat,
official_account_safe, open_platform) or `selftest`. BASE_URL defaults to
$INTEROP_BASE_URL or http://127.0.0.1:3000/wecom/callback. Credentials: the
WECOM_* variables the echo example reads (WECOM_TOKEN, WECOM_ENCODING_AES_KEY,
WECOM_CORP_ID for wecom_app, WECOM_RECEIVE_ID, WECOM_AUTHORIZED_CORP_IDS);
unset ones default to this kind's entry in KINDS below, which is also what
--server-env prints, so the server and this script always agree.

Every cryptographic step (encrypting messages and echostr, computing and
verifying signatures, decrypting replies) is done by wechatpy; this script only
moves bytes over HTTP and compares results. Prints one line per check and a
final `KIND: N passed, M failed` line (and writes `N M` to --result-file);
exits 1 if anything failed.
"""

import argparse
import os
import sys

CRATE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_BASE_URL = "http://127.0.0.1:3000/wecom/callback"
DEFAULT_SAMPLES = os.path.join(CRATE_ROOT, "tests", "data", "samples")
DEFAULT_VECTORS = os.path.join(CRATE_ROOT, "tests", "data", "vectors")

# Credentials per kind. WeCom app: the WeCom doc 加解密方案说明 sample values.
# WeChat kinds: the WeChat MP crypto demo's (cryptoDemo: Python demo.py for the
# Official Account, WXBizMsgCryptTest.java for the component). Suites: the
# vendor sample key with ids from the suite samples. Robot: the generated
# robot vectors' token and key.
WECOM_SAMPLE_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
MP_DEMO = {"WECOM_TOKEN": "spamtest", "WECOM_ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
           "WECOM_RECEIVE_ID": "wx2c2769f8efd9abc2"}
KINDS = {
    "wecom_app": {"WECOM_TOKEN": "QDG6eK", "WECOM_ENCODING_AES_KEY": WECOM_SAMPLE_KEY,
                  "WECOM_CORP_ID": "wx5823bf96d3bd56c7"},
    "wecom_suite": {"WECOM_TOKEN": "QDG6eK", "WECOM_ENCODING_AES_KEY": WECOM_SAMPLE_KEY,
                    "WECOM_RECEIVE_ID": "ww4asffe99e54c0f4c"},
    "wecom_suite_data": {"WECOM_TOKEN": "QDG6eK", "WECOM_ENCODING_AES_KEY": WECOM_SAMPLE_KEY,
                         "WECOM_RECEIVE_ID": "wwddddccc7775555aab",
                         "WECOM_AUTHORIZED_CORP_IDS": "wwddddccc7775555aaa,wxf8b4f85f3axxxxxx"},
    "wecom_bot": {"WECOM_TOKEN": "hW7cTq9Lr2Vb",
                  "WECOM_ENCODING_AES_KEY": "kVhVQ9yx0RGnZ3Ab6LrWp1sCdTfE5uJi2oXmNc8a7bD"},
    "official_account_plain": {"WECOM_TOKEN": "spamtest", "WECOM_RECEIVE_ID": "wx2c2769f8efd9abc2"},
    "official_account_compat": MP_DEMO,
    "official_account_safe": MP_DEMO,
    "open_platform": {"WECOM_TOKEN": "pamtest", "WECOM_ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
                      "WECOM_RECEIVE_ID": "wxb11529c136998cb6"},
}


def credentials(kind):
    """This kind's credentials: the WECOM_* environment, else the KINDS defaults."""
    defaults = KINDS[kind]
    get = lambda name: os.environ.get(name, defaults.get(name, ""))  # noqa: E731
    receive_id = get("WECOM_CORP_ID") if kind == "wecom_app" else get("WECOM_RECEIVE_ID")
    return {
        "token": get("WECOM_TOKEN"),
        "key": get("WECOM_ENCODING_AES_KEY"),
        "receive_id": "" if kind == "wecom_bot" else receive_id,
        "authorized": [c.strip() for c in get("WECOM_AUTHORIZED_CORP_IDS").split(",") if c.strip()],
    }


def run_kind(kind, runner, args):
    from interop_common import ServerLog

    if kind == "selftest":
        import interop_selftest
        return interop_selftest.run(runner, args.vectors)
    creds = credentials(kind)
    base_url = args.base_url.split("?", 1)[0]
    print("server %s; kind %s; receive id %r" % (base_url, kind, creds["receive_id"]), flush=True)
    log = ServerLog(args.server_log)
    if kind == "wecom_app":
        import interop_wecom_app
        interop_wecom_app.run(runner, base_url, args.samples_root, creds, log)
    elif kind == "wecom_suite":
        import interop_wecom_kinds
        interop_wecom_kinds.run_suite(runner, base_url, args.samples_root, creds, log)
    elif kind == "wecom_suite_data":
        import interop_wecom_kinds
        interop_wecom_kinds.run_suite_data(runner, base_url, creds)
    elif kind == "wecom_bot":
        import interop_wecom_kinds
        interop_wecom_kinds.run_bot(runner, base_url, creds)
    elif kind.startswith("official_account_"):
        import interop_wechat
        mode = kind[len("official_account_"):]
        interop_wechat.run_official_account(runner, base_url, args.samples_root, creds, mode, log)
    elif kind == "open_platform":
        import interop_wechat
        interop_wechat.run_open_platform(runner, base_url, args.samples_root, creds, log)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base_url", nargs="?", default=os.environ.get("INTEROP_BASE_URL", DEFAULT_BASE_URL))
    parser.add_argument("--kind", default=os.environ.get("WECOM_KIND", "wecom_app"),
                        choices=["selftest"] + sorted(KINDS))
    parser.add_argument("--server-env", metavar="KIND", choices=sorted(KINDS),
                        help="print the echo server's settings for KIND as NAME=VALUE lines and exit")
    parser.add_argument("--samples-root", default=DEFAULT_SAMPLES,
                        help="directory holding wecom/, suite/, mp/, component/ samples")
    parser.add_argument("--vectors", default=DEFAULT_VECTORS, help="directory of public.json and generated.json")
    parser.add_argument("--server-log", default="", help="the echo server's log file (checked for InfoType lines)")
    parser.add_argument("--result-file", default="", help="write 'PASSED FAILED' here")
    args = parser.parse_args(argv)

    if args.server_env:
        print("WECOM_KIND=%s" % args.server_env)
        for name, value in KINDS[args.server_env].items():
            print("%s=%s" % (name, value))
        return 0

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import wechatpy
    from interop_common import Runner

    print("wechatpy %s (%s)" % (wechatpy.__version__, os.path.dirname(wechatpy.__file__)), flush=True)
    runner = Runner(args.kind)
    try:
        run_kind(args.kind, runner, args)
    except Exception as e:  # a bug in this script is a failure, not a crash without a count
        import traceback
        traceback.print_exc(file=sys.stdout)
        runner.failed += 1
        print("FAIL [%s] the check itself raised %s: %s" % (args.kind, type(e).__name__, e), flush=True)

    print("%s: %d passed, %d failed" % (args.kind, runner.passed, runner.failed), flush=True)
    if args.result_file:
        with open(args.result_file, "w") as f:
            f.write("%d %d\n" % (runner.passed, runner.failed))
    return 1 if runner.failed else 0


if __name__ == "__main__":
    sys.exit(main())
