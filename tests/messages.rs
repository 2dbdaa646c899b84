//! The message samples of `tests/data/samples/` (copied from the WeCom docs and
//! from WxJava / wechatpy tests, see `tests/data/samples/SOURCES.md`) through
//! `Message::parse`, and replies through `Reply::to_xml` and back.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use wecom_callback::message::{
    Article, Click, EnterAgent, Image, Link, Location, LocationReport, Message, MessageErrorKind,
    MessageKind, OtherKind, Reply, Text, Video, View, Voice,
};

fn samples_dir(dir: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/samples/")).join(dir)
}

fn read(dir: &str, name: &str) -> String {
    let path = samples_dir(dir).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn wecom(name: &str) -> Message {
    let xml = read("wecom", name);
    let message = Message::parse(&xml).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(message.raw_xml(), xml, "{name}: raw_xml must be the input");
    message
}

/// Asserts that `m` is `MessageKind::Other` for `MsgType` event `event`.
fn assert_other_event(m: &Message, event: &str) {
    let MessageKind::Other(OtherKind {
        msg_type,
        event: got,
        ..
    }) = m.kind()
    else {
        panic!("{m:?}")
    };
    assert_eq!((msg_type.as_str(), got.as_deref()), ("event", Some(event)));
    assert_eq!(m.event(), Some(event));
}

#[test]
fn every_wecom_sample_parses() {
    let mut names: Vec<String> = std::fs::read_dir(samples_dir("wecom"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".xml"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 15, "{names:?}");
    for name in &names {
        let message = wecom(name);
        assert!(!message.msg_type().is_empty(), "{name}");
    }
}

#[test]
fn text() {
    let m = wecom("text.xml");
    let h = m.header();
    assert_eq!(h.to_user_name, "toUser");
    assert_eq!(h.from_user_name, "fromUser");
    assert_eq!(h.create_time, 1348831860);
    assert_eq!(h.msg_type, "text");
    assert_eq!(h.agent_id, Some(1));
    assert_eq!(h.msg_id, Some(1234567890123456));
    assert_eq!(h.event, None);
    let MessageKind::Text(Text { content, .. }) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(content, "this is a test");
    assert_eq!(m.field("Content"), Some("this is a test"));
    assert_eq!(m.field("MsgId"), Some("1234567890123456"));
}

#[test]
fn image() {
    let m = wecom("image.xml");
    assert_eq!(
        (m.to_user_name(), m.from_user_name()),
        ("toUser", "fromUser")
    );
    assert_eq!(
        (m.create_time(), m.msg_id(), m.agent_id()),
        (1348831860, Some(1234567890123456), Some(1))
    );
    let MessageKind::Image(Image {
        pic_url, media_id, ..
    }) = m.kind()
    else {
        panic!("{m:?}")
    };
    assert_eq!(pic_url, "this is a url");
    assert_eq!(media_id, "media_id");
}

#[test]
fn voice() {
    let m = wecom("voice.xml");
    assert_eq!(
        (m.create_time(), m.msg_id(), m.agent_id()),
        (1357290913, Some(1234567890123456), Some(1))
    );
    let MessageKind::Voice(Voice {
        media_id, format, ..
    }) = m.kind()
    else {
        panic!("{m:?}")
    };
    assert_eq!((media_id.as_str(), format.as_str()), ("media_id", "Format"));
}

#[test]
fn video() {
    let m = wecom("video.xml");
    assert_eq!(
        (m.create_time(), m.msg_id(), m.agent_id()),
        (1357290913, Some(1234567890123456), Some(1))
    );
    let MessageKind::Video(Video {
        media_id,
        thumb_media_id,
        ..
    }) = m.kind()
    else {
        panic!("{m:?}")
    };
    assert_eq!(
        (media_id.as_str(), thumb_media_id.as_str()),
        ("media_id", "thumb_media_id")
    );
}

#[test]
fn location() {
    let m = wecom("location.xml");
    assert_eq!(
        (m.create_time(), m.msg_id(), m.agent_id()),
        (1351776360, Some(1234567890123456), Some(1))
    );
    let MessageKind::Location(Location {
        location_x,
        location_y,
        scale,
        label,
        ..
    }) = m.kind()
    else {
        panic!("{m:?}")
    };
    assert_eq!(*location_x, 23.134521);
    assert_eq!(*location_y, 113.358803);
    assert_eq!(*scale, 20);
    assert_eq!(label, "位置信息");
}

#[test]
fn link() {
    let m = wecom("link.xml");
    assert_eq!(
        (m.create_time(), m.msg_id(), m.agent_id()),
        (1351776360, Some(1234567890123456), Some(1))
    );
    let MessageKind::Link(Link {
        title,
        description,
        url,
        pic_url,
        ..
    }) = m.kind()
    else {
        panic!("{m:?}")
    };
    assert_eq!(title, "公众平台官网链接");
    assert_eq!(description, "公众平台官网链接");
    assert_eq!(url, "url");
    assert_eq!(pic_url.as_deref(), Some("picurl"));
}

#[test]
fn subscribe() {
    let m = wecom("event_subscribe.xml");
    assert_eq!((m.to_user_name(), m.from_user_name()), ("toUser", "UserID"));
    assert_eq!(
        (m.create_time(), m.msg_id(), m.agent_id()),
        (1348831860, None, Some(1))
    );
    assert_eq!((m.msg_type(), m.event()), ("event", Some("subscribe")));
    assert!(matches!(m.kind(), MessageKind::Subscribe(_)), "{m:?}");

    // The doc: unsubscribe is the same with Event unsubscribe.
    let xml = read("wecom", "event_subscribe.xml").replace("[subscribe]", "[unsubscribe]");
    let m = Message::parse(&xml).unwrap();
    assert_eq!(m.event(), Some("unsubscribe"));
    assert!(matches!(m.kind(), MessageKind::Unsubscribe(_)), "{m:?}");
}

#[test]
fn enter_agent() {
    let m = wecom("event_enter_agent.xml");
    assert_eq!(
        (m.to_user_name(), m.from_user_name()),
        ("toUser", "FromUser")
    );
    assert_eq!(
        (m.create_time(), m.agent_id(), m.event()),
        (1408091189, Some(1), Some("enter_agent"))
    );
    let MessageKind::EnterAgent(EnterAgent { event_key, .. }) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(event_key, "");
    assert_eq!(m.field("EventKey"), Some(""));
}

#[test]
fn location_report() {
    let m = wecom("event_LOCATION.xml");
    assert_eq!(
        (m.create_time(), m.agent_id(), m.event()),
        (123456789, Some(1), Some("LOCATION"))
    );
    let MessageKind::LocationReport(LocationReport {
        latitude,
        longitude,
        precision,
        ..
    }) = m.kind()
    else {
        panic!("{m:?}")
    };
    assert_eq!(
        (*latitude, *longitude, *precision),
        (23.137466, 113.352425, 119.385040)
    );
}

#[test]
fn change_contact_is_other() {
    let m = wecom("event_change_contact_update_user.xml");
    assert_eq!((m.to_user_name(), m.from_user_name()), ("toUser", "sys"));
    assert_eq!(
        (m.create_time(), m.agent_id(), m.msg_id()),
        (1403610513, None, None)
    );
    assert_other_event(&m, "change_contact");
    assert_eq!(m.event(), Some("change_contact"));
    assert_eq!(m.field("ChangeType"), Some("update_user"));
    assert_eq!(m.field("UserID"), Some("zhangsan"));
    assert_eq!(m.field("NewUserID"), Some("zhangsan001"));
    assert_eq!(m.field("Name"), Some("张三"));
    assert_eq!(m.field("Department"), Some("1,2,3"));
    assert_eq!(m.field("Mobile"), Some("15913215421"));
    assert_eq!(m.field("ExtAttr"), None, "nested elements have no text");
    assert!(
        m.raw_xml()
            .contains("<Url><![CDATA[https://work.weixin.qq.com]]></Url>")
    );
}

#[test]
fn change_external_contact_is_other() {
    let m = wecom("event_change_external_contact_add.xml");
    assert_eq!(m.from_user_name(), "sys");
    assert_eq!(m.agent_id(), None);
    assert_other_event(&m, "change_external_contact");
    assert_eq!(m.field("ChangeType"), Some("add_external_contact"));
    assert_eq!(
        m.field("ExternalUserID"),
        Some("woAJ2GCAAAXtWyujaWJHDDGi0mACH71w")
    );
    assert_eq!(m.field("State"), Some("teststate"));
    assert_eq!(m.field("WelcomeCode"), Some("WELCOMECODE"));

    let m = wecom("event_change_external_contact_del.xml");
    assert_other_event(&m, "change_external_contact");
    assert_eq!(m.field("ChangeType"), Some("del_external_contact"));
    assert_eq!(m.field("UserID"), Some("zhangsan"));
    assert_eq!(m.field("WelcomeCode"), None);
}

#[test]
fn pic_weixin_is_other() {
    let m = wecom("event_pic_weixin.xml");
    assert_eq!(
        (m.to_user_name(), m.from_user_name()),
        ("wx45a0972125658be9", "xiaohe")
    );
    assert_eq!((m.create_time(), m.agent_id()), (1502012364, Some(1000004)));
    assert_other_event(&m, "pic_weixin");
    assert_eq!(m.field("EventKey"), Some("faceSimilarity"));
    assert_eq!(m.field("SendPicsInfo"), None);
    assert_eq!(m.raw_xml().matches("<PicList>").count(), 2);
}

#[test]
fn taskcard_click_is_other() {
    let m = wecom("event_taskcard_click.xml");
    assert_eq!((m.create_time(), m.agent_id()), (123456789, Some(1)));
    assert_other_event(&m, "taskcard_click");
    assert_eq!(m.field("EventKey"), Some("key111"));
    assert_eq!(m.field("TaskId"), Some("taskid111"));
}

#[test]
fn open_approval_change_is_other() {
    let m = wecom("event_open_approval_change.xml");
    assert_eq!(
        (m.to_user_name(), m.from_user_name()),
        ("wwddddccc7775555aaa", "sys")
    );
    assert_eq!(
        (m.create_time(), m.agent_id(), m.msg_type()),
        (1527838022, Some(1), "event")
    );
    assert_other_event(&m, "open_approval_change");
    assert_eq!(m.field("ApprovalInfo"), None);
    assert!(m.raw_xml().contains("<ThirdNo>201806010001</ThirdNo>"));
}

/// WeChat Official Account pushes share the shapes; `CLICK`/`VIEW` are
/// upper-case there (PROTOCOL.md §10).
#[test]
fn official_account_menu_events_match_case_insensitively() {
    let m = Message::parse(&read("mp", "event_CLICK.xml")).unwrap();
    assert_eq!(m.event(), Some("CLICK"));
    assert_eq!(m.agent_id(), None);
    let MessageKind::Click(Click { event_key, .. }) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(event_key, "EVENTKEY");

    let m = Message::parse(&read("mp", "event_VIEW.xml")).unwrap();
    assert_eq!(m.event(), Some("VIEW"));
    let MessageKind::View(View { event_key, .. }) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(event_key, "www.qq.com");
    assert_eq!(m.field("MenuId"), Some("MENUID"));
}

#[test]
fn every_official_account_sample_parses() {
    for entry in std::fs::read_dir(samples_dir("mp")).unwrap() {
        let path = entry.unwrap().path();
        let xml = std::fs::read_to_string(&path).unwrap();
        Message::parse(&xml).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

/// Suite instruction callbacks and Open Platform pushes have no
/// `ToUserName`/`MsgType`: they parse as system pushes with an `InfoType`
/// (and reach the handler through the raw variant); the vendor's two
/// broken originals (`*.doc-verbatim.txt`) are refused with a clear error.
#[test]
fn suite_and_component_pushes_parse_with_their_info_type() {
    let m = Message::parse(&read("suite", "suite_ticket.xml")).unwrap();
    // The vendor sample has a space before its CDATA: trimmed.
    assert_eq!(m.info_type(), Some("suite_ticket"));
    assert_eq!(m.to_user_name(), "ww4asffe99e54c0fxxxx");
    assert_eq!(m.create_time(), 1_403_610_513);
    assert_eq!(m.msg_type(), "");
    assert_eq!(m.field("SuiteTicket"), Some("asdfasfdasdfasdf"));
    assert!(matches!(m.kind(), MessageKind::Other(_)));

    let m = Message::parse(&read("component", "component_verify_ticket.xml")).unwrap();
    assert_eq!(m.info_type(), Some("component_verify_ticket"));
    assert_eq!(m.to_user_name(), "some_appid");
    assert_eq!(m.create_time(), 1_413_192_605);
    assert_eq!(m.field("ComponentVerifyTicket"), Some("some_verify_ticket"));

    for dir in ["suite", "component"] {
        for entry in std::fs::read_dir(samples_dir(dir)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".doc-verbatim.txt") {
                let err = Message::parse(&text).unwrap_err();
                assert_eq!(err.kind(), MessageErrorKind::Xml, "{name}");
            } else if name != "outer_envelope_real_capture.xml" {
                let m = Message::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(m.info_type().is_some(), "{name}");
            }
        }
    }

    // Neither MsgType nor InfoType: still refused, naming MsgType.
    let err = Message::parse("<xml><ToUserName>a</ToUserName></xml>").unwrap_err();
    assert_eq!(err.kind(), MessageErrorKind::MissingField);
    assert_eq!(err.element(), Some("MsgType"));
}

#[test]
fn errors_never_show_values() {
    let secret = "TOP-SECRET-VALUE";
    for xml in [
        format!(
            "<xml><ToUserName>c</ToUserName><FromUserName>u</FromUserName><CreateTime>{secret}</CreateTime><MsgType>text</MsgType></xml>"
        ),
        format!(
            "<xml><ToUserName>c</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType><Event>LOCATION</Event><Latitude>{secret}</Latitude></xml>"
        ),
        format!("<{secret}><MsgType>text</MsgType></{secret}>"),
        format!("<xml><{secret}>"),
        format!("<xml><ToUserName>{secret}</ToUserName><ToUserName>{secret}</ToUserName></xml>"),
    ] {
        let err = Message::parse(&xml).unwrap_err();
        assert!(!err.to_string().contains(secret), "{err}");
        assert!(!format!("{err:?}").contains(secret), "{err:?}");
    }
}

/// The reply samples of WeCom doc 被动回复消息格式 and WxJava read back to the
/// same elements as our rendering.
#[test]
fn replies_match_the_sample_elements() {
    fn elements(xml: &str) -> Vec<(String, String)> {
        // Compare element by element, ignoring layout whitespace.
        let mut out = Vec::new();
        let mut rest = xml;
        while let Some(start) = rest.find('<') {
            let tail = &rest[start + 1..];
            let end = tail.find('>').unwrap();
            let tag = &tail[..end];
            rest = &tail[end + 1..];
            if tag.starts_with('/') || tag.starts_with('!') {
                continue;
            }
            let text = match rest.strip_prefix("<![CDATA[") {
                Some(cdata) => cdata.split("]]>").next().unwrap(),
                None => rest.split('<').next().unwrap_or("").trim(),
            };
            out.push((tag.to_owned(), text.to_owned()));
        }
        out.sort();
        out
    }

    let ours = Reply::text("this is a test").to_xml("toUser", "fromUser", 1348831860);
    assert_eq!(
        elements(&ours),
        elements(&read("replies", "wecom_text.xml"))
    );

    let ours = Reply::image("media_id").to_xml("toUser", "fromUser", 1348831860);
    assert_eq!(
        elements(&ours),
        elements(&read("replies", "wecom_image.xml"))
    );

    let article = Article::new("title")
        .description("description")
        .pic_url("picUrl")
        .url("url");
    let ours = Reply::news([article.clone(), article])
        .unwrap()
        .to_xml("toUser", "fromUser", 1122);
    assert_eq!(
        elements(&ours),
        elements(&read("replies", "wecom_news_wxjava.xml"))
    );
}

#[test]
fn reply_text_round_trips_exactly() {
    let content = "]]> <b>&amp;</b> & \"quoted\" 'single'\nsecond line\n第三行 中文 😀 ]]]]>>";
    let xml = Reply::text(content).to_xml("zhang]]>san", "ww<corp>&", 1700000000);
    // A reply has the message header, so the message reader takes it too.
    let back = Message::parse(&xml).unwrap();
    assert_eq!(back.to_user_name(), "zhang]]>san");
    assert_eq!(back.from_user_name(), "ww<corp>&");
    assert_eq!(back.create_time(), 1700000000);
    assert_eq!(back.msg_type(), "text");
    let MessageKind::Text(text) = back.kind() else {
        panic!("{back:?}")
    };
    assert_eq!(text.content, content);
}

#[test]
fn reply_text_drops_characters_xml_cannot_carry() {
    let xml = Reply::text("nul\u{0}bell\u{7}esc\u{1b}end").to_xml("u", "c", 1);
    assert!(!xml.contains('\u{0}'));
    let back = Message::parse(&xml).unwrap();
    assert_eq!(back.field("Content"), Some("nulbellescend"));
}

#[test]
fn other_kind_is_a_fallback() {
    let m = Message::parse(
        "<xml><ToUserName>c</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime>\
         <MsgType>emotion</MsgType></xml>",
    )
    .unwrap();
    let MessageKind::Other(OtherKind {
        msg_type, event, ..
    }) = m.kind()
    else {
        panic!("{m:?}")
    };
    assert_eq!((msg_type.as_str(), event.as_deref()), ("emotion", None));
}
