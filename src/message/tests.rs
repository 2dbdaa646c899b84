//! Unit tests of `Message::parse`: the header, the lenient typing, the
//! fallback to `Other` with the problem, and what is still refused.
#![allow(clippy::unwrap_used, clippy::panic)]

use super::*;

fn xml(body: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[corp]]></ToUserName><FromUserName><![CDATA[u1]]></FromUserName>\
         <CreateTime>1700000000</CreateTime>{body}</xml>"
    )
}

/// The problem of a message that parses: its kind and element.
fn problem(input: &str) -> (MessageErrorKind, Option<&'static str>) {
    let m = Message::parse(input).unwrap();
    let p = m.problem().unwrap_or_else(|| panic!("no problem: {m:?}"));
    (p.kind(), p.element())
}

/// As [`problem`], and the kind must have fallen back to `Other` with it.
fn other_with(input: &str) -> (MessageErrorKind, Option<&'static str>) {
    let m = Message::parse(input).unwrap();
    let MessageKind::Other(other) = m.kind() else {
        panic!("typed: {m:?}")
    };
    assert_eq!(other.problem.as_ref(), m.problem());
    problem(input)
}

#[test]
fn header_and_text() {
    let m = Message::parse(&xml(
        "<MsgType>text</MsgType><Content><![CDATA[ hi ]]></Content><MsgId>9</MsgId><AgentID>1000002</AgentID>",
    ))
    .unwrap();
    assert_eq!(m.to_user_name(), "corp");
    assert_eq!(m.from_user_name(), "u1");
    assert_eq!(m.create_time(), 1_700_000_000);
    assert_eq!(m.msg_type(), "text");
    assert_eq!(m.msg_id(), Some(9));
    assert_eq!(m.agent_id(), Some(1_000_002));
    assert_eq!(m.event(), None);
    assert_eq!(m.problem(), None);
    assert_eq!(
        m.kind(),
        &MessageKind::Text(Text {
            content: " hi ".into(),
            biz_msg_menu_id: None,
        })
    );
    assert_eq!(m.field("Content"), Some(" hi "));
    assert_eq!(m.field("content"), None);
    let same: Message = xml(
        "<MsgType>text</MsgType><Content><![CDATA[ hi ]]></Content><MsgId>9</MsgId><AgentID>1000002</AgentID>",
    )
    .parse()
    .unwrap();
    assert_eq!(same, m);
}

#[test]
fn optional_numbers_may_be_absent_or_empty() {
    let m = Message::parse(&xml(
        "<MsgType>event</MsgType><Event>subscribe</Event><AgentID></AgentID><MsgId><![CDATA[ ]]></MsgId>",
    ))
    .unwrap();
    assert_eq!(m.agent_id(), None);
    assert_eq!(m.msg_id(), None);
    assert_eq!(m.problem(), None);
    assert_eq!(
        m.kind(),
        &MessageKind::Subscribe(Subscribe {
            event_key: None,
            ticket: None
        })
    );
}

#[test]
fn values_are_trimmed_with_or_without_cdata() {
    let m = Message::parse(
        "<xml><ToUserName> c </ToUserName><FromUserName><![CDATA[ u ]]></FromUserName>\
         <CreateTime><![CDATA[ 12 ]]></CreateTime><MsgType> <![CDATA[ Event ]]> </MsgType>\
         <Event>\n<![CDATA[ CLICK ]]>\n</Event><EventKey><![CDATA[ k ]]></EventKey>\
         <AgentID><![CDATA[7]]></AgentID></xml>",
    )
    .unwrap();
    assert_eq!((m.to_user_name(), m.from_user_name()), ("c", "u"));
    assert_eq!((m.create_time(), m.agent_id()), (12, Some(7)));
    assert_eq!((m.msg_type(), m.event()), ("Event", Some("CLICK")));
    assert_eq!(
        m.kind(),
        &MessageKind::Click(Click {
            event_key: "k".into()
        })
    );
}

#[test]
fn header_problems_leave_the_field_empty_and_are_reported() {
    use MessageErrorKind::*;
    // Still refused: not well-formed or unsafe.
    for bad in [
        "<xml><MsgType>text</MsgType>",
        "<!DOCTYPE xml><xml/>",
        "",
        "text",
    ] {
        assert_eq!(Message::parse(bad).unwrap_err().kind(), Xml, "{bad:?}");
    }
    assert_eq!(
        other_with("<root><MsgType>text</MsgType><Content>c</Content></root>"),
        (WrongRoot, None)
    );
    assert_eq!(other_with("<XML></XML>"), (WrongRoot, None));
    assert_eq!(other_with(&xml("")), (MissingField, Some("MsgType")));
    let m = Message::parse(
        "<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>x</MsgType></xml>",
    )
    .unwrap();
    assert_eq!(m.to_user_name(), "");
    assert_eq!(
        problem(
            "<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>x</MsgType></xml>"
        ),
        (MissingField, Some("ToUserName"))
    );
    assert_eq!(
        problem(
            "<xml><ToUserName>c</ToUserName><CreateTime>1</CreateTime><MsgType>x</MsgType></xml>"
        ),
        (MissingField, Some("FromUserName"))
    );
    assert_eq!(
        problem(
            "<xml><ToUserName>c</ToUserName><FromUserName>u</FromUserName><MsgType>x</MsgType></xml>"
        ),
        (MissingField, Some("CreateTime"))
    );
    for bad in ["", "-1", "+1", "1.5", "1e9", "18446744073709551616", "now"] {
        let input = format!(
            "<xml><ToUserName>c</ToUserName><FromUserName>u</FromUserName><CreateTime>{bad}</CreateTime>\
             <MsgType>text</MsgType><Content>c</Content></xml>"
        );
        assert_eq!(
            problem(&input),
            (InvalidField, Some("CreateTime")),
            "{bad:?}"
        );
        // The kind's own elements fit: still typed.
        let m = Message::parse(&input).unwrap();
        assert!(matches!(m.kind(), MessageKind::Text(_)), "{m:?}");
        assert_eq!(m.create_time(), 0);
    }
    let m = Message::parse(&xml(
        "<MsgType>text</MsgType><Content>c</Content><MsgId>CAIQg/PKxgYY2sC9tpuAgAMg9/zKaw==</MsgId>",
    ))
    .unwrap();
    assert_eq!(m.msg_id(), None);
    assert_eq!(m.field("MsgId"), Some("CAIQg/PKxgYY2sC9tpuAgAMg9/zKaw=="));
    assert_eq!(m.problem().unwrap().element(), Some("MsgId"));
    assert!(matches!(m.kind(), MessageKind::Text(_)));
    assert_eq!(
        problem(&xml("<MsgType>x</MsgType><AgentID>one</AgentID>")),
        (InvalidField, Some("AgentID"))
    );
    assert_eq!(
        other_with(&xml("<MsgType>text</MsgType><MsgType>event</MsgType>")),
        (DuplicateField, Some("MsgType"))
    );
    assert_eq!(
        other_with(&xml("<MsgType><a>text</a></MsgType>")),
        (InvalidField, Some("MsgType"))
    );
}

#[test]
fn known_types_with_odd_fields_fall_back_to_other() {
    use MessageErrorKind::*;
    assert_eq!(
        other_with(&xml("<MsgType>text</MsgType>")),
        (MissingField, Some("Content"))
    );
    assert_eq!(
        other_with(&xml("<MsgType>text</MsgType><Content><b>x</b></Content>")),
        (InvalidField, Some("Content"))
    );
    assert_eq!(
        other_with(&xml(
            "<MsgType>text</MsgType><Content>a</Content><Content>b</Content>"
        )),
        (DuplicateField, Some("Content"))
    );
    assert_eq!(
        other_with(&xml("<MsgType>image</MsgType><PicUrl>p</PicUrl>")),
        (MissingField, Some("MediaId"))
    );
    assert_eq!(
        other_with(&xml(
            "<MsgType>video</MsgType><ThumbMediaId>t</ThumbMediaId>"
        )),
        (MissingField, Some("MediaId"))
    );
    assert_eq!(
        other_with(&xml(
            "<MsgType>location</MsgType><Location_X>inf</Location_X><Location_Y>1</Location_Y><Scale>1</Scale><Label/>"
        )),
        (InvalidField, Some("Location_X"))
    );
    assert_eq!(
        other_with(&xml(
            "<MsgType>location</MsgType><Location_X>1</Location_X><Location_Y>1</Location_Y><Scale>1.5</Scale><Label/>"
        )),
        (InvalidField, Some("Scale"))
    );
    assert_eq!(
        other_with(&xml(
            "<MsgType>event</MsgType><Event>LOCATION</Event><Latitude>n/a</Latitude><Longitude>2</Longitude>"
        )),
        (InvalidField, Some("Latitude"))
    );
    assert_eq!(
        other_with(&xml("<MsgType>event</MsgType><Event>click</Event>")),
        (MissingField, Some("EventKey"))
    );
    assert_eq!(
        other_with(&xml("<MsgType>event</MsgType><Event>view</Event>")),
        (MissingField, Some("EventKey"))
    );
    // An empty Precision is no precision, not a problem.
    let m = Message::parse(&xml(
        "<MsgType>event</MsgType><Event>LOCATION</Event><Latitude>1</Latitude><Longitude>2</Longitude><Precision></Precision>",
    ))
    .unwrap();
    let MessageKind::LocationReport(report) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(report.precision, None);
    // The original spelling and the elements stay readable.
    let m = Message::parse(&xml("<MsgType>event</MsgType><Event>Click</Event><X>1</X>")).unwrap();
    assert_eq!(m.event(), Some("Click"));
    assert_eq!(m.field("X"), Some("1"));
}

#[test]
fn events_match_case_insensitively_and_keep_spelling() {
    let m = Message::parse(&xml(
        "<MsgType>event</MsgType><Event>CLICK</Event><EventKey>k1</EventKey>",
    ))
    .unwrap();
    assert_eq!(m.event(), Some("CLICK"));
    assert_eq!(
        m.kind(),
        &MessageKind::Click(Click {
            event_key: "k1".into()
        })
    );
    let m = Message::parse(&xml(
        "<MsgType>Event</MsgType><Event>View</Event><EventKey>https://a/</EventKey>",
    ))
    .unwrap();
    assert_eq!(m.msg_type(), "Event");
    assert_eq!(m.event(), Some("View"));
    assert_eq!(
        m.kind(),
        &MessageKind::View(View {
            event_key: "https://a/".into(),
            menu_id: None,
        })
    );
    let m = Message::parse(&xml(
        "<MsgType>event</MsgType><Event>location</Event><Latitude>-1.5</Latitude><Longitude>+2</Longitude><Precision>30</Precision>",
    ))
    .unwrap();
    assert_eq!(
        m.kind(),
        &MessageKind::LocationReport(LocationReport {
            latitude: -1.5,
            longitude: 2.0,
            precision: Some(30.0),
            app_type: None,
        })
    );
    let m = Message::parse(&xml("<MsgType>event</MsgType><Event>enter_agent</Event>")).unwrap();
    assert_eq!(
        m.kind(),
        &MessageKind::EnterAgent(EnterAgent {
            event_key: String::new()
        })
    );
}

#[test]
fn unknown_types_and_events_are_other_without_problem() {
    let m = Message::parse(&xml(
        "<MsgType>file</MsgType><MediaId>m</MediaId><MsgId>1</MsgId>",
    ))
    .unwrap();
    assert_eq!(
        m.kind(),
        &MessageKind::Other(OtherKind {
            msg_type: "file".into(),
            event: None,
            info_type: None,
            problem: None,
        })
    );
    assert_eq!(m.problem(), None);
    assert_eq!(m.field("MediaId"), Some("m"));
    let m = Message::parse(&xml(
        "<MsgType>event</MsgType><Event>living_status_change</Event><Living><Id>j</Id></Living>",
    ))
    .unwrap();
    assert_eq!(
        m.kind(),
        &MessageKind::Other(OtherKind {
            msg_type: "event".into(),
            event: Some("living_status_change".into()),
            info_type: None,
            problem: None,
        })
    );
    assert_eq!(m.field("Living"), None);
    assert_eq!(m.field("Id"), None);
    assert!(m.raw_xml().contains("<Id>j</Id>"));
    let m = Message::parse(&xml("<MsgType>event</MsgType>")).unwrap();
    assert!(matches!(m.kind(), MessageKind::Other(o) if o.event.is_none() && o.problem.is_none()));
    // Unread elements are not checked: a duplicate or odd one is fine.
    let m = Message::parse(&xml(
        "<MsgType>event</MsgType><Event>x</Event><Latitude>n/a</Latitude><P/><P/>",
    ))
    .unwrap();
    assert!(matches!(m.kind(), MessageKind::Other(_)));
    assert_eq!(m.problem(), None);
    // An Event on a non-event message is not read.
    let m = Message::parse(&xml(
        "<MsgType>text</MsgType><Event>click</Event><Content>c</Content>",
    ))
    .unwrap();
    assert_eq!(m.event(), None);
    assert!(matches!(m.kind(), MessageKind::Text(_)));
    // An unknown InfoType.
    let m = Message::parse(
        "<xml><SuiteId>s</SuiteId><InfoType>change_app_admin</InfoType><TimeStamp>5</TimeStamp></xml>",
    )
    .unwrap();
    assert_eq!((m.to_user_name(), m.create_time()), ("s", 5));
    assert!(
        matches!(m.kind(), MessageKind::Other(o) if o.info_type.as_deref() == Some("change_app_admin"))
    );
}

#[test]
fn json_objects_and_arrays_become_elements() {
    let m = Message::parse_json(
        r#"{"ToUserName":"c","FromUserName":"u","CreateTime":1,"MsgType":"event","Event":"pic_weixin",
            "EventKey":"k","SendPicsInfo":{"Count":2,"PicList":[{"item":{"PicMd5Sum":"a"}},{"item":{"PicMd5Sum":"b"}}]}}"#,
    )
    .unwrap();
    let MessageKind::PicWeixin(pics) = m.kind() else {
        panic!("{m:?}")
    };
    assert_eq!(
        (pics.count, pics.pic_md5_sums.as_slice()),
        (2, &["a".to_owned(), "b".to_owned()][..])
    );
    let m = Message::parse_json(r#"{"MsgType":"text","Content":null,"Flag":true}"#).unwrap();
    assert_eq!(m.field("Flag"), Some("true"));
    assert!(matches!(m.kind(), MessageKind::Text(t) if t.content.is_empty()));
    assert_eq!(m.problem().unwrap().element(), Some("ToUserName"));
    for bad in ["[]", "\"x\"", "{", "<xml/>"] {
        assert_eq!(
            Message::parse_json(bad).unwrap_err().kind(),
            MessageErrorKind::Json
        );
    }
    // Deep JSON is cut at the XML reader's depth, without error.
    let deep = format!(
        r#"{{"MsgType":"text","Content":"c","X":{}1{}}}"#,
        r#"{"a":"#.repeat(100),
        "}".repeat(100)
    );
    assert!(matches!(
        Message::parse_json(&deep).unwrap().kind(),
        MessageKind::Text(_)
    ));
}

#[test]
fn entities_resolve_in_plain_text() {
    let m = Message::parse(&xml(
        "<MsgType>text</MsgType><Content>a &lt;b&gt; &amp; &#x4e2d;</Content>",
    ))
    .unwrap();
    assert_eq!(m.field("Content"), Some("a <b> & 中"));
}

#[test]
fn debug_omits_raw_xml() {
    let m = Message::parse(&xml(
        "<MsgType>text</MsgType><Content>c</Content><Secret>s3cr3t</Secret>",
    ))
    .unwrap();
    let debug = format!("{m:?}");
    assert!(debug.contains("Text"), "{debug}");
    assert!(!debug.contains("s3cr3t"), "{debug}");
}

#[test]
fn owned_parsing_keeps_the_text_and_reads_fields_on_demand() {
    let xml = "<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName>u</FromUserName>\
               <CreateTime>1</CreateTime><MsgType>text</MsgType><Content><![CDATA[hi]]></Content>\
               <Extra> a &amp; b </Extra><Nest><I>1</I></Nest></xml>";
    let borrowed = Message::parse(xml).unwrap();
    let owned = Message::try_from(xml.to_owned()).unwrap();
    assert_eq!(borrowed, owned);
    assert_eq!(owned.raw_xml(), xml);
    // `field` reads the elements on first use, then from its cache.
    for m in [&owned, &owned.clone()] {
        assert_eq!(m.field("Extra"), Some("a & b"));
        assert_eq!(m.field("Content"), Some("hi"));
        assert_eq!(m.field("Nest"), None);
        assert_eq!(m.field("Missing"), None);
    }
    let json = Message::parse_json_string(
        r#"{"ToUserName":"ww1","FromUserName":"u","CreateTime":1,"MsgType":"text","Content":"hi","N":{"I":1}}"#
            .to_owned(),
    )
    .unwrap();
    assert_eq!(json.field("Content"), Some("hi"));
    assert_eq!(json.field("N"), None);
    assert_ne!(json, owned);
    assert!(Message::parse_string("<xml><A></xml>".to_owned()).is_err());
}
