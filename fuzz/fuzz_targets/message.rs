//! Message parsing (`Message::parse` for decrypted XML, `Message::parse_json`
//! and `BotMessage::parse` for JSON) and reply writing (`Reply::to_xml`,
//! `Reply::to_bot_json`).
//!
//! Input: byte 0 picks the mode (mod 3), the rest is
//! * 0: a decrypted message, given to `Message::parse`; an accepted message
//!   is answered with a reply built from its own fields, which must read
//!   back exactly (SECURITY.md T28);
//! * 1: `[reply kind]` then three strings separated by 0x00 (recipient,
//!   sender, text), written with `Reply::to_xml` and read back with a strict
//!   parser;
//! * 2: decrypted JSON, given to `Message::parse_json` (the vendor's JSON
//!   callback format, answered as in mode 0) and `BotMessage::parse` (the
//!   robot; answered with a JSON text reply of its own text, which must read
//!   back exactly).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wecom_callback::{BotMessage, Message, Reply};
use wecom_callback_fuzz::{
    check_reply_xml, differential, fields, make_reply, reply_tree, strict_tree,
};

fn trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\n', '\r'])
}

/// Checks an accepted message's accessors against its fields, then answers
/// it with every kind of reply built from its own text, as the echo example
/// does; each reply must read back exactly (SECURITY.md T28).
fn answer(msg: &Message, source: &str) {
    assert_eq!(msg.raw_xml(), source);
    for (name, value) in [
        ("FromUserName", msg.from_user_name()),
        ("ToUserName", msg.to_user_name()),
        ("MsgType", msg.msg_type()),
    ] {
        // Identifiers are trimmed; one that does not fit (repeated, say)
        // leaves the header empty and names the problem.
        if let Some(field) = msg.field(name) {
            assert!(
                value.is_empty() || value == trim(field),
                "{name} {value:?} differs from its field {field:?}"
            );
        }
    }
    let _ = format!("{msg:?}");

    let text = msg.field("Content").unwrap_or(msg.msg_type());
    for choice in 0..5 {
        let (reply, body) = make_reply(choice, text, msg.from_user_name(), msg.to_user_name());
        let out = reply.to_xml(msg.from_user_name(), msg.to_user_name(), msg.create_time());
        let want = reply_tree(
            msg.from_user_name(),
            msg.to_user_name(),
            msg.create_time(),
            reply.msg_type(),
            body,
        );
        check_reply_xml(&out, &want);
    }
}

fn parse(xml: &str) {
    let Ok(msg) = Message::parse(xml) else {
        return;
    };
    answer(&msg, xml);

    if differential() {
        // What the crate accepts must be XML, and mean the same.
        let doc = strict_tree(xml, "an accepted message");
        assert_eq!(doc.name, "xml");
        for name in [
            "ToUserName",
            "FromUserName",
            "CreateTime",
            "MsgType",
            "Content",
        ] {
            let strict: Vec<_> = doc.children.iter().filter(|n| n.name == name).collect();
            match (msg.field(name), strict.first()) {
                (Some(ours), Some(theirs)) => {
                    assert_eq!(strict.len(), 1, "{name} repeated: {xml:?}");
                    assert_eq!(trim(ours), trim(&theirs.text), "{name} differs: {xml:?}");
                }
                (None, None) => {}
                (ours, _) => panic!("{name}: crate {ours:?}, strict {strict:?}: {xml:?}"),
            }
        }
    }
}

fn write(data: &[u8]) {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let [to, from, text] = fields::<3>(rest, 0);
    let (reply, body) = make_reply(choice, &text, &to, &from);
    let out = reply.to_xml(&to, &from, 1_409_659_813);
    check_reply_xml(
        &out,
        &reply_tree(&to, &from, 1_409_659_813, reply.msg_type(), body),
    );
}

fn json(json: &str) {
    // The vendor's JSON callback format: the same message, as JSON.
    if let Ok(msg) = Message::parse_json(json) {
        answer(&msg, json);
    }
    let Ok(msg) = BotMessage::parse(json) else {
        return;
    };
    assert!(msg.raw().is_object(), "a robot callback is a JSON object");
    let _ = (msg.msg_id(), msg.aibot_id(), msg.chat_id(), msg.chat_type());
    let _ = (msg.from_user_id(), msg.response_url(), msg.event_type());
    let _ = format!("{msg:?}");
    // Reading it again from its own serialisation gives the same typed
    // members. (Not the same `raw()`: serde_json may read a number with more
    // than 17 significant digits one ulp differently once reprinted.)
    let again = BotMessage::parse(&msg.raw().to_string()).expect("own JSON parses");
    assert_eq!(again.msg_type(), msg.msg_type());
    assert_eq!(again.msg_id(), msg.msg_id());
    assert_eq!(again.from_user_id(), msg.from_user_id());
    assert_eq!(again.text_content(), msg.text_content());
    assert_eq!(again.event_type(), msg.event_type());

    let text = msg.text_content().unwrap_or(msg.msg_type());
    let out = Reply::text(text)
        .to_bot_json()
        .expect("a text reply has a JSON form");
    let value: serde_json::Value = serde_json::from_str(&out).expect("reply JSON parses");
    assert_eq!(value["msgtype"], "text");
    assert_eq!(value["text"]["content"].as_str(), Some(text));
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match mode % 3 {
        0 => parse(&text),
        1 => write(rest),
        _ => json(&text),
    }
});
