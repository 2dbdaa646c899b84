//! wecom-callback against the Rust peers of issue 11, on the same inputs
//! (`../common/inputs.rs`) and the same work: verify the signature, decrypt,
//! extract Content, build a text reply echoing it, encrypt and sign the
//! reply. Each peer is driven through its own API, with the least string
//! glue its API leaves to the caller (noted per peer below).
//!
//! * `floor`: the primitives alone (`../common/floor.rs`), base64 by the
//!   scalar `STANDARD` engine, as the peers do;
//! * `floor, SIMD base64`: the same with the base64 crate's SIMD engine,
//!   which wecom-callback uses;
//! * `wecom-callback`: `inputs::pure` (`../common/inputs.rs`, the same as the
//!   crate's own `pipeline` bench): `MsgCrypt::decrypt_msg` → `Message::try_from` (the
//!   decrypted `String`, not copied) → `Message::into_parts` (the Content
//!   moved into the reply) → `Reply::text(..).to_xml(..)` →
//!   `MsgCrypt::encrypt_msg`;
//! * `wechat-crypto` 0.1.2: `calc_signature`, `decrypt`, `parse_plain_text`,
//!   `encrypt`; glue: finding Encrypt, FromUserName, ToUserName and Content
//!   with `str::find`, base64, the reply XML and envelope with `format!`;
//! * `wechat-oa-sdk` 1.0.5: `WeChatClient::parse_encrypted_message` →
//!   `TextReply::to_xml` → `WeChatClient::encrypt_reply`; no glue;
//! * `wechat_work_crypto` 0.1.0: `WXBizMsgCrypt::decrypt_msg`,
//!   `get_xml_field` for the three fields, `encrypt_msg`; glue: the reply
//!   XML with `format!`.
//!
//! Every size runs with the ASCII content and the mixed Chinese/ASCII one
//! (`100B_mixed`, ...; issue 23).
//!
//! The content lengths keep the frame's padding at 16 bytes or less
//! (wechat-oa-sdk and wechat_work_crypto refuse WeCom's pad values 17 to
//! 32). After criterion, a table of interleaved medians (as in this
//! crate's `pipeline` bench).

#![allow(missing_docs, clippy::unwrap_used, clippy::panic)]

#[path = "../common/floor.rs"]
mod floor;
#[path = "../common/inputs.rs"]
mod inputs;
#[path = "../common/table.rs"]
mod table;

use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use criterion::{Criterion, Throughput};
use wecom_callback::crypto::MsgCrypt;

use inputs::{
    CONTENTS, CORP_ID, ENCODING_AES_KEY, Input, REPLY_NONCE, REPLY_TIMESTAMP, SIZES, TIMESTAMP,
    TOKEN,
};

/// The text between `open` and `close` (the first occurrence).
fn between<'a>(xml: &'a str, open: &str, close: &str) -> &'a str {
    let start = xml.find(open).map(|i| i + open.len()).unwrap();
    let len = xml[start..].find(close).unwrap();
    &xml[start..start + len]
}

fn cdata<'a>(xml: &'a str, name: &str) -> &'a str {
    between(xml, &format!("<{name}><![CDATA["), &format!("]]></{name}>"))
}

fn reply_xml(to: &str, from: &str, content: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{from}]]></FromUserName><CreateTime>{TIMESTAMP}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content></xml>"
    )
}

fn wechat_crypto(aes_key: &[u8], input: &Input) -> String {
    let encrypt = cdata(&input.body, "Encrypt");
    let signature = wechat_crypto::calc_signature(TOKEN, &input.timestamp, &input.nonce, encrypt);
    assert!(signature == input.signature, "signature");
    let data = STANDARD.decode(encrypt).unwrap();
    let plain = wechat_crypto::decrypt(aes_key, &data).unwrap();
    let (xml, receive_id) = wechat_crypto::parse_plain_text(&plain).unwrap();
    assert!(receive_id == CORP_ID, "receive id");
    let reply = reply_xml(
        cdata(&xml, "FromUserName"),
        cdata(&xml, "ToUserName"),
        cdata(&xml, "Content"),
    );
    let sealed = STANDARD.encode(wechat_crypto::encrypt(aes_key, &reply, CORP_ID).unwrap());
    let signature = wechat_crypto::calc_signature(TOKEN, REPLY_TIMESTAMP, REPLY_NONCE, &sealed);
    format!(
        "<xml>\n<Encrypt><![CDATA[{sealed}]]></Encrypt>\n<MsgSignature><![CDATA[{signature}]]></MsgSignature>\n<TimeStamp>{REPLY_TIMESTAMP}</TimeStamp>\n<Nonce><![CDATA[{REPLY_NONCE}]]></Nonce>\n</xml>"
    )
}

fn wechat_oa_sdk(client: &wechat_oa_sdk::WeChatClient, input: &Input) -> String {
    use wechat_oa_sdk::api::message::IncomingMessage;
    use wechat_oa_sdk::models::reply::{ReplyBase, TextReply};
    let message = client
        .parse_encrypted_message(
            &input.body,
            &input.signature,
            &input.timestamp,
            &input.nonce,
        )
        .unwrap();
    let IncomingMessage::Text(text) = message else {
        panic!("not a text message")
    };
    let reply = TextReply {
        base: ReplyBase {
            to_user_name: text.from_user_name,
            from_user_name: text.to_user_name,
            create_time: TIMESTAMP as i64,
        },
        content: text.content,
    };
    client
        .encrypt_reply(&reply.to_xml(), REPLY_TIMESTAMP, REPLY_NONCE)
        .unwrap()
}

fn wechat_work_crypto(crypt: &wechat_work_crypto::WXBizMsgCrypt, input: &Input) -> String {
    use wechat_work_crypto::WXBizMsgCrypt;
    let xml = crypt
        .decrypt_msg(
            &input.signature,
            &input.timestamp,
            &input.nonce,
            &input.body,
        )
        .unwrap();
    let reply = reply_xml(
        &WXBizMsgCrypt::get_xml_field(&xml, "FromUserName").unwrap(),
        &WXBizMsgCrypt::get_xml_field(&xml, "ToUserName").unwrap(),
        &WXBizMsgCrypt::get_xml_field(&xml, "Content").unwrap(),
    );
    crypt
        .encrypt_msg(&reply, REPLY_TIMESTAMP, REPLY_NONCE)
        .unwrap()
}

struct Contenders {
    ours: MsgCrypt,
    aes_key: Vec<u8>,
    oa: wechat_oa_sdk::WeChatClient,
    work: wechat_work_crypto::WXBizMsgCrypt,
}

impl Contenders {
    fn new() -> Self {
        let config = wechat_oa_sdk::Config::new(CORP_ID, "unused-app-secret", TOKEN)
            .with_encoding_aes_key(ENCODING_AES_KEY);
        Self {
            ours: inputs::crypt(),
            aes_key: floor::aes_key(ENCODING_AES_KEY).to_vec(),
            oa: wechat_oa_sdk::WeChatClient::new(config),
            work: wechat_work_crypto::WXBizMsgCrypt::new(TOKEN, ENCODING_AES_KEY, CORP_ID).unwrap(),
        }
    }

    /// Runs contender `i` (0: floor, 1: floor with SIMD base64) once.
    fn run(&self, i: usize, floors: &mut [floor::Floor; 2], input: &Input) {
        match i {
            0 | 1 => {
                black_box(floors[i].run());
            }
            2 => drop(black_box(inputs::pure(&self.ours, input))),
            3 => drop(black_box(wechat_crypto(&self.aes_key, input))),
            4 => drop(black_box(wechat_oa_sdk(&self.oa, input))),
            _ => drop(black_box(wechat_work_crypto(&self.work, input))),
        }
    }
}

const NAMES: [&str; 6] = [
    "floor",
    "floor, SIMD base64",
    "wecom-callback",
    "wechat-crypto",
    "wechat-oa-sdk",
    "wechat_work_crypto",
];

/// The message of a reply's Encrypt, read the way the vendor's libraries
/// read it: two of the peers pad to 16 bytes instead of the protocol's 32,
/// which this crate's strict opener refuses (WeCom's own code accepts it).
fn open_leniently(encrypt: &str) -> String {
    use cbc::cipher::array::Array;
    use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
    let key = floor::aes_key(ENCODING_AES_KEY);
    let mut data = STANDARD.decode(encrypt).unwrap();
    let iv: [u8; 16] = key[..16].try_into().unwrap();
    let mut decryptor = cbc::Decryptor::<aes::Aes256>::new(&key.into(), &iv.into());
    let (blocks, _) = Array::slice_as_chunks_mut(&mut data);
    decryptor.decrypt_blocks(blocks);
    let len = u32::from_be_bytes(data[16..20].try_into().unwrap()) as usize;
    String::from_utf8(data[20..20 + len].to_vec()).unwrap()
}

/// Every contender's reply must open to the echoed content.
fn check(contenders: &Contenders, input: &Input) {
    let replies = [
        inputs::pure(&contenders.ours, input),
        wechat_crypto(&contenders.aes_key, input),
        wechat_oa_sdk(&contenders.oa, input),
        wechat_work_crypto(&contenders.work, input),
    ];
    for (reply, name) in replies.iter().zip(&NAMES[2..]) {
        let encrypt = cdata(reply, "Encrypt");
        let signature = cdata(reply, "MsgSignature");
        assert_eq!(
            signature,
            wecom_callback::crypto::msg_signature(TOKEN, REPLY_TIMESTAMP, REPLY_NONCE, encrypt),
            "{name}: reply signature"
        );
        let msg = open_leniently(encrypt);
        assert!(msg.contains(&input.content), "{name}: content");
    }
}

fn main() {
    let contenders = Contenders::new();
    // Every size with the ASCII and the mixed Chinese/ASCII content
    // (`100B`, `100B_mixed`, ...).
    let inputs: Vec<(String, Input)> = SIZES
        .iter()
        .flat_map(|&(label, nominal)| {
            CONTENTS.map(|(_, text)| {
                (
                    format!("{label}{}", text.suffix()),
                    Input::of(text, &contenders.ours, nominal, 0),
                )
            })
        })
        .collect();
    for (_, input) in &inputs {
        check(&contenders, input);
    }
    if !table::only() {
        let mut c = Criterion::default().configure_from_args();
        for (label, input) in &inputs {
            let mut floors = [
                floor::Floor::for_input(input),
                floor::Floor::for_input_simd(input),
            ];
            let mut group = c.benchmark_group(format!("peers/{label}"));
            group.throughput(Throughput::Bytes(input.content.len() as u64));
            if input.content.len() >= 16 * 1024 {
                group.sample_size(10);
                group.measurement_time(Duration::from_secs(4));
            }
            for (i, name) in NAMES.iter().enumerate() {
                group.bench_function(*name, |b| {
                    b.iter(|| contenders.run(i, &mut floors, black_box(input)));
                });
            }
            group.finish();
        }
        c.final_summary();
    }
    if !table::wanted() {
        return;
    }
    println!();
    println!(
        "interleaved medians ({} rounds; ratio to the floor)",
        table::rounds()
    );
    println!("| content | {} |", NAMES.join(" | "));
    println!("|---|---|---|---|---|---|---|");
    for (label, input) in &inputs {
        let mut floors = [
            floor::Floor::for_input(input),
            floor::Floor::for_input_simd(input),
        ];
        let mut times: [Vec<Duration>; 6] = Default::default();
        for _ in 0..table::rounds() {
            for (i, t) in times.iter_mut().enumerate() {
                let started = Instant::now();
                contenders.run(i, &mut floors, input);
                let n = table::batch_len(started.elapsed());
                t.push(table::batch(
                    n,
                    |_| (),
                    |()| contenders.run(i, &mut floors, input),
                ));
            }
        }
        let medians = times.map(|mut t| table::median(&mut t));
        let cells: Vec<String> = medians
            .iter()
            .map(|&m| format!("{} ({})", table::show(m), table::ratio(m, medians[0])))
            .collect();
        println!(
            "| {label} ({} B) | {} |",
            input.content.len(),
            cells.join(" | ")
        );
    }
}
