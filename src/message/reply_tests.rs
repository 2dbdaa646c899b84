//! Unit tests of the reply renderer (layouts, limits, escaping, kinds).
#![allow(clippy::unwrap_used, clippy::panic)]

use serde_json::json;

use super::*;
use crate::endpoint::{CallbackKind, OfficialAccountMode};
use crate::message::{Article, Music};
use crate::xml::{parse, parse_tree};

#[test]
fn text_layout() {
    assert_eq!(
        Reply::text("this is a test").to_xml("toUser", "fromUser", 1348831860),
        "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>\
         <CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[this is a test]]></Content></xml>"
    );
}

#[test]
fn media_layouts() {
    let head = "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>\
                <CreateTime>1348831860</CreateTime>";
    assert_eq!(
        Reply::image("media_id").to_xml("toUser", "fromUser", 1348831860),
        format!(
            "{head}<MsgType><![CDATA[image]]></MsgType><Image><MediaId><![CDATA[media_id]]></MediaId></Image></xml>"
        )
    );
    assert_eq!(
        Reply::voice("v").to_xml("toUser", "fromUser", 1348831860),
        format!(
            "{head}<MsgType><![CDATA[voice]]></MsgType><Voice><MediaId><![CDATA[v]]></MediaId></Voice></xml>"
        )
    );
    assert_eq!(
        Reply::video("m").to_xml("toUser", "fromUser", 1348831860),
        format!(
            "{head}<MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[m]]></MediaId></Video></xml>"
        )
    );
    assert_eq!(
        Reply::video("m")
            .description("d")
            .title("t")
            .to_xml("toUser", "fromUser", 1348831860),
        format!(
            "{head}<MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[m]]></MediaId>\
             <Title><![CDATA[t]]></Title><Description><![CDATA[d]]></Description></Video></xml>"
        )
    );
}

#[test]
fn video_setters_ignore_other_kinds() {
    assert_eq!(
        Reply::text("x").title("t").description("d"),
        Reply::text("x")
    );
    let Reply::Video {
        title, description, ..
    } = Reply::video("m").title("t")
    else {
        panic!("not a video")
    };
    assert_eq!((title.as_deref(), description), (Some("t"), None));
}

#[test]
fn news_layout_and_limits() {
    let reply = Reply::news([
        Article::new("title")
            .description("description")
            .pic_url("picUrl")
            .url("url"),
        Article::new("only title"),
    ])
    .unwrap();
    assert_eq!(reply.msg_type(), "news");
    assert_eq!(
        reply.to_xml("toUser", "fromUser", 1122),
        "<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>\
         <CreateTime>1122</CreateTime><MsgType><![CDATA[news]]></MsgType><ArticleCount>2</ArticleCount>\
         <Articles><item><Title><![CDATA[title]]></Title><Description><![CDATA[description]]></Description>\
         <PicUrl><![CDATA[picUrl]]></PicUrl><Url><![CDATA[url]]></Url></item>\
         <item><Title><![CDATA[only title]]></Title></item></Articles></xml>"
    );
    assert_eq!(Reply::news([]).unwrap_err().count(), 0);
    assert_eq!(
        Reply::news(vec![Article::new("a"); 9]).unwrap_err().count(),
        9
    );
    let eight = Reply::news(vec![Article::new("a"); 8]).unwrap();
    assert!(
        eight
            .to_xml("u", "c", 0)
            .contains("<ArticleCount>8</ArticleCount>")
    );
}

#[test]
fn news_renders_at_most_eight_even_if_grown() {
    let mut reply = Reply::news([Article::new("a")]).unwrap();
    if let Reply::News { articles } = &mut reply {
        articles.extend(vec![Article::new("b"); 20]);
    }
    let doc = reply.to_xml("u", "c", 0);
    assert!(doc.contains("<ArticleCount>8</ArticleCount>"));
    assert_eq!(doc.matches("<item>").count(), 8);
}

#[test]
fn any_text_round_trips_through_the_reader() {
    let nasty = "a]]>b ]]]]> <tag attr=\"v\"> & &amp; 'q' \"dq\"\nline2\ttab 中文 😀 ]]";
    let to = "user]]><x>";
    let from = "corp&id";
    let out = Reply::text(nasty).to_xml(to, from, u64::MAX);
    let doc = parse(&out).unwrap();
    assert_eq!(doc.root, "xml");
    assert_eq!(doc.get("Content").unwrap().text, nasty);
    assert_eq!(doc.get("ToUserName").unwrap().text, to);
    assert_eq!(doc.get("FromUserName").unwrap().text, from);
    assert_eq!(doc.get("CreateTime").unwrap().text, u64::MAX.to_string());
    assert_eq!(doc.get("MsgType").unwrap().text, "text");
}

#[test]
fn characters_xml_cannot_carry_are_dropped_and_line_ends_normalised() {
    let out = Reply::text("a\u{0}b\u{1}c\u{1f}d\u{fffe}e\u{ffff}f\u{7f}\u{85}").to_xml("u", "c", 0);
    assert!(
        out.contains("<Content><![CDATA[abcdef\u{7f}\u{85}]]></Content>"),
        "{out:?}"
    );
    assert_eq!(
        parse(&out).unwrap().get("Content").unwrap().text,
        "abcdef\u{7f}\u{85}"
    );
    let out = Reply::text("1\r\n2\r3\n").to_xml("u", "c", 0);
    assert_eq!(
        parse(&out).unwrap().get("Content").unwrap().text,
        "1\n2\n3\n"
    );
}

#[test]
fn news_strings_are_escaped_too() {
    let reply = Reply::news([Article::new("]]>")
        .description("<d>")
        .url("https://a/?x=1&y=2")
        .pic_url("\u{0}p")])
    .unwrap();
    let out = reply.to_xml("u", "c", 0);
    assert!(parse(&out).is_ok(), "{out}");
    assert!(
        out.contains("<Title><![CDATA[]]]]><![CDATA[>]]></Title>"),
        "{out}"
    );
    assert!(
        out.contains("<Url><![CDATA[https://a/?x=1&y=2]]></Url>"),
        "{out}"
    );
    assert!(out.contains("<PicUrl><![CDATA[p]]></PicUrl>"), "{out}");
}

const HEAD: &str = "<xml><ToUserName><![CDATA[to]]></ToUserName><FromUserName><![CDATA[from]]></FromUserName>\
                    <CreateTime>1122</CreateTime>";

#[test]
fn card_update_layouts() {
    assert_eq!(
        Reply::update_button("已处理").to_xml("to", "from", 1122),
        format!(
            "{HEAD}<MsgType><![CDATA[update_button]]></MsgType>\
             <Button><ReplaceName><![CDATA[已处理]]></ReplaceName></Button></xml>"
        )
    );
    assert_eq!(
        Reply::update_taskcard("已驳回").to_xml("to", "from", 1122),
        format!(
            "{HEAD}<MsgType><![CDATA[update_taskcard]]></MsgType>\
             <TaskCard><ReplaceName><![CDATA[已驳回]]></ReplaceName></TaskCard></xml>"
        )
    );
    let card = Reply::update_template_card(json!({
        "card_type": "vote_interaction",
        "main_title": {"title": "Vote"},
        "checkbox": {"question_key": "q", "option_list": [
            {"id": "a", "text": "A", "is_checked": true},
            {"id": "b", "text": "B", "is_checked": false}
        ], "disable": true, "mode": 1},
        "replace_text": "Voted"
    }))
    .unwrap();
    let xml = card.to_xml("to", "from", 1122);
    assert!(
        xml.starts_with(&format!(
            "{HEAD}<MsgType><![CDATA[update_template_card]]></MsgType>\
             <TemplateCard><CardType><![CDATA[vote_interaction]]></CardType>"
        )),
        "{xml}"
    );
    let doc = parse_tree(&xml).unwrap();
    let card = doc.get("TemplateCard").unwrap();
    let names: Vec<_> = card.children.iter().map(|c| &*c.name).collect();
    assert_eq!(names.first(), Some(&"CardType"));
    for name in ["MainTitle", "CheckBox", "ReplaceText"] {
        assert!(names.contains(&name), "{names:?}");
    }
    let checkbox = card.children.iter().find(|c| c.name == "CheckBox").unwrap();
    let options: Vec<_> = checkbox
        .children
        .iter()
        .filter(|c| c.name == "OptionList")
        .collect();
    assert_eq!(options.len(), 2);
    let checked: Vec<_> = options
        .iter()
        .map(|o| {
            o.children
                .iter()
                .find(|f| f.name == "IsChecked")
                .unwrap()
                .text
                .as_ref()
        })
        .collect();
    assert_eq!(checked, ["true", "false"]);
}

#[test]
fn official_account_layouts() {
    assert_eq!(
        Reply::music(
            Music::new("thumb")
                .title("t")
                .description("d")
                .music_url("m")
                .hq_music_url("h")
        )
        .to_xml("to", "from", 1122),
        format!(
            "{HEAD}<MsgType><![CDATA[music]]></MsgType><Music><Title><![CDATA[t]]></Title>\
             <Description><![CDATA[d]]></Description><MusicUrl><![CDATA[m]]></MusicUrl>\
             <HQMusicUrl><![CDATA[h]]></HQMusicUrl><ThumbMediaId><![CDATA[thumb]]></ThumbMediaId></Music></xml>"
        )
    );
    assert_eq!(
        Reply::music(Music::new("thumb")).to_xml("to", "from", 1122),
        format!(
            "{HEAD}<MsgType><![CDATA[music]]></MsgType><Music><ThumbMediaId><![CDATA[thumb]]></ThumbMediaId></Music></xml>"
        )
    );
    assert_eq!(
        Reply::transfer_customer_service().to_xml("to", "from", 1122),
        format!("{HEAD}<MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>")
    );
    assert_eq!(
        Reply::transfer_to_kf_account("test1@test").to_xml("to", "from", 1122),
        format!(
            "{HEAD}<MsgType><![CDATA[transfer_customer_service]]></MsgType>\
             <TransInfo><KfAccount><![CDATA[test1@test]]></KfAccount></TransInfo></xml>"
        )
    );
}

#[test]
fn robot_json_replies() {
    let card = json!({"card_type": "text_notice", "main_title": {"title": "T"}, "task_id": "t1"});
    let parse = |s: Option<String>| serde_json::from_str::<serde_json::Value>(&s.unwrap()).unwrap();
    assert_eq!(
        parse(Reply::template_card(card.clone()).unwrap().to_bot_json()),
        json!({"msgtype": "template_card", "template_card": card})
    );
    assert_eq!(
        parse(
            Reply::update_template_card(card.clone())
                .unwrap()
                .to_bot_json()
        ),
        json!({"response_type": "update_template_card", "template_card": card})
    );
    assert_eq!(
        parse(
            Reply::update_template_card(card.clone())
                .unwrap()
                .for_users(["u1", "u2"])
                .to_bot_json()
        ),
        json!({"response_type": "update_template_card", "userids": ["u1", "u2"], "template_card": card})
    );
    assert_eq!(
        parse(Reply::stream("s", "c", true).to_bot_json()),
        json!({"msgtype": "stream", "stream": {"id": "s", "finish": true, "content": "c"}})
    );
    for reply in [
        Reply::template_card(card.clone()).unwrap(),
        Reply::stream("s", "c", true),
    ] {
        assert!(!reply.is_xml());
        assert_eq!(reply.to_xml("u", "c", 0), "");
    }
    for reply in [
        Reply::update_button("x"),
        Reply::music(Music::new("m")),
        Reply::transfer_customer_service(),
        Reply::update_taskcard("x"),
    ] {
        assert_eq!(reply.to_bot_json(), None, "{reply:?}");
    }
    assert_eq!(Reply::text("x").for_users(["u"]), Reply::text("x"));
}

#[test]
fn which_kind_carries_which_reply() {
    use CallbackKind::*;
    let card = json!({"card_type": "text_notice"});
    let oa = OfficialAccount(OfficialAccountMode::Safe);
    let plain = OfficialAccount(OfficialAccountMode::Plaintext);
    let rows: [(Reply, &[CallbackKind]); 14] = [
        (
            Reply::text("t"),
            &[WeComApp, WeComSuiteData, oa, plain, WeComBot],
        ),
        (Reply::image("m"), &[WeComApp, WeComSuiteData, oa, plain]),
        (Reply::voice("m"), &[WeComApp, WeComSuiteData, oa, plain]),
        (Reply::video("m"), &[WeComApp, WeComSuiteData, oa, plain]),
        (
            Reply::news([Article::new("a")]).unwrap(),
            &[WeComApp, WeComSuiteData, oa, plain],
        ),
        (Reply::music(Music::new("m")), &[oa, plain]),
        (Reply::transfer_customer_service(), &[oa, plain]),
        (Reply::update_button("b"), &[WeComApp, WeComSuiteData]),
        (Reply::update_taskcard("b"), &[WeComApp, WeComSuiteData]),
        (
            Reply::update_template_card(card.clone()).unwrap(),
            &[WeComApp, WeComSuiteData, WeComBot],
        ),
        (Reply::template_card(card.clone()).unwrap(), &[WeComBot]),
        (Reply::stream("s", "c", false), &[WeComBot]),
        (Reply::bot_json(json!({})), &[WeComBot]),
        (
            Reply::ack(),
            &[
                WeComApp,
                WeComSuite,
                WeComSuiteData,
                WeComBot,
                oa,
                plain,
                OpenPlatform,
            ],
        ),
    ];
    for (reply, allowed) in rows {
        for kind in [
            WeComApp,
            WeComSuite,
            WeComSuiteData,
            WeComBot,
            oa,
            plain,
            OpenPlatform,
        ] {
            let expected = allowed.contains(&kind);
            assert_eq!(reply.allowed_for(kind), expected, "{reply:?} for {kind}");
            if !expected {
                let err = reply.check_for(kind).unwrap_err();
                assert_eq!((err.msg_type(), err.kind()), (reply.msg_type(), kind));
                assert!(err.to_string().contains(kind.name()), "{err}");
            }
        }
    }
}
