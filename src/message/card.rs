//! Template cards in replies: checking a card given as JSON, and rendering
//! it as the XML `TemplateCard` of a WeCom app's `update_template_card`
//! reply (WeCom doc 被动回复消息格式, 模板卡片更新消息).

use std::fmt;

use serde_json::{Map, Value};

use crate::xml::push_element;

/// Deepest nesting of objects and arrays a card may have (the vendor's
/// cards use 4).
pub(super) const MAX_CARD_DEPTH: usize = 16;

/// A template card given to [`Reply::update_template_card`] or
/// [`Reply::template_card`] was refused.
///
/// [`Reply::update_template_card`]: super::Reply::update_template_card
/// [`Reply::template_card`]: super::Reply::template_card
///
/// ```
/// use serde_json::json;
/// use wecom_callback::message::{CardError, Reply};
///
/// assert_eq!(Reply::template_card(json!([1])).unwrap_err(), CardError::NotAnObject);
/// assert_eq!(
///     Reply::update_template_card(json!({"main_title": {"title": "t"}})).unwrap_err(),
///     CardError::NoCardType
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CardError {
    /// The card is not a JSON object.
    NotAnObject,
    /// The card has no string `card_type` (`text_notice`, `news_notice`,
    /// `button_interaction`, `vote_interaction`, `multiple_interaction`).
    NoCardType,
    /// A key is not a name made of ASCII letters, digits and `_` starting
    /// with a letter, so it cannot become an XML element name.
    BadKey,
    /// Objects and arrays nest deeper than 16 levels.
    TooDeep,
}

impl fmt::Display for CardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotAnObject => "a template card must be a JSON object",
            Self::NoCardType => "a template card needs a string `card_type`",
            Self::BadKey => {
                "a template card key must be ASCII letters, digits and `_`, starting with a letter"
            }
            Self::TooDeep => "a template card nests deeper than 16 levels",
        })
    }
}

impl std::error::Error for CardError {}

/// Checks `card` (see [`CardError`]) without recursion.
pub(super) fn check(card: &Value) -> Result<(), CardError> {
    let Value::Object(map) = card else {
        return Err(CardError::NotAnObject);
    };
    if !map.get("card_type").is_some_and(Value::is_string) {
        return Err(CardError::NoCardType);
    }
    let mut stack: Vec<(&Value, usize)> = vec![(card, 1)];
    while let Some((value, depth)) = stack.pop() {
        if depth > MAX_CARD_DEPTH {
            return Err(CardError::TooDeep);
        }
        match value {
            Value::Object(map) => {
                for (key, item) in map {
                    if !is_name(key) {
                        return Err(CardError::BadKey);
                    }
                    stack.push((item, depth + 1));
                }
            }
            Value::Array(items) => stack.extend(items.iter().map(|item| (item, depth + 1))),
            _ => {}
        }
    }
    Ok(())
}

fn is_name(key: &str) -> bool {
    let mut bytes = key.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The XML element name of a card's JSON key: each `_`-separated part
/// capitalised (`card_type` → `CardType`, `icon_url` → `IconUrl`,
/// `horizontal_content_list` → `HorizontalContentList`), with the vendor's
/// one-word keys spelled as its XML does (`keyname` → `KeyName`,
/// `checkbox` → `CheckBox`, `appid` → `AppId`, `pagepath` → `PagePath`,
/// `userid` → `UserId`).
pub(super) fn xml_name(key: &str) -> String {
    match key {
        "keyname" => return "KeyName".to_owned(),
        "appid" => return "AppId".to_owned(),
        "pagepath" => return "PagePath".to_owned(),
        "userid" => return "UserId".to_owned(),
        "checkbox" => return "CheckBox".to_owned(),
        _ => {}
    }
    let mut name = String::with_capacity(key.len());
    for part in key.split('_') {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            name.push(first.to_ascii_uppercase());
            name.push_str(chars.as_str());
        }
    }
    name
}

/// Appends the children of `<TemplateCard>` for a checked card: `CardType`
/// first, then the other members in the map's order.
pub(super) fn push_card_xml(out: &mut String, card: &Value) {
    let Value::Object(map) = card else {
        return;
    };
    if let Some(card_type) = map.get("card_type") {
        push_value(out, "card_type", card_type, 1);
    }
    push_members(out, map, Some("card_type"), 1);
}

fn push_members(out: &mut String, map: &Map<String, Value>, skip: Option<&str>, depth: usize) {
    for (key, value) in map {
        if Some(key.as_str()) != skip {
            push_value(out, key, value, depth);
        }
    }
}

/// `<Name>value</Name>` for one member; an array repeats the element once
/// per item, `null` writes nothing. Bounded by [`MAX_CARD_DEPTH`] (checked
/// before; deeper parts are skipped here too).
fn push_value(out: &mut String, key: &str, value: &Value, depth: usize) {
    if depth > MAX_CARD_DEPTH {
        return;
    }
    match value {
        Value::Null => {}
        Value::String(text) => push_element(out, &xml_name(key), text),
        Value::Array(items) => {
            for item in items {
                push_value(out, key, item, depth + 1);
            }
        }
        Value::Bool(_) | Value::Number(_) | Value::Object(_) => {
            let name = xml_name(key);
            out.push('<');
            out.push_str(&name);
            out.push('>');
            match value {
                Value::Object(map) => push_members(out, map, None, depth + 1),
                // JSON numbers and booleans are digits, signs, `.`, `e` and
                // letters only: nothing to escape.
                other => out.push_str(&other.to_string()),
            }
            out.push_str("</");
            out.push_str(&name);
            out.push('>');
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_follow_the_vendor_xml() {
        for (key, name) in [
            ("card_type", "CardType"),
            ("icon_url", "IconUrl"),
            ("desc_color", "DescColor"),
            ("horizontal_content_list", "HorizontalContentList"),
            ("keyname", "KeyName"),
            ("id", "Id"),
            ("selected_id", "SelectedId"),
            ("is_checked", "IsChecked"),
            ("checkbox", "CheckBox"),
            ("appid", "AppId"),
            ("pagepath", "PagePath"),
            ("url", "Url"),
        ] {
            assert_eq!(xml_name(key), name, "{key}");
        }
    }

    #[test]
    fn check_refuses_what_cannot_be_rendered() {
        assert_eq!(check(&json!("x")), Err(CardError::NotAnObject));
        assert_eq!(check(&json!({})), Err(CardError::NoCardType));
        assert_eq!(check(&json!({"card_type": 1})), Err(CardError::NoCardType));
        for key in ["a<b", "", "1a", "a b", "ä", "_a"] {
            let mut card = json!({"card_type": "text_notice"});
            card["main_title"] = json!({ key: "x" });
            assert_eq!(check(&card), Err(CardError::BadKey), "{key:?}");
        }
        let mut deep = json!("leaf");
        for _ in 0..MAX_CARD_DEPTH {
            deep = json!([deep]);
        }
        assert_eq!(
            check(&json!({"card_type": "text_notice", "x": deep})),
            Err(CardError::TooDeep)
        );
        assert_eq!(
            check(&json!({"card_type": "text_notice", "x": [[1]]})),
            Ok(())
        );
    }

    #[test]
    fn card_renders_card_type_first_and_repeats_arrays() {
        let card = json!({
            "main_title": {"title": "T]]>", "desc": "D"},
            "button_list": [{"text": "Yes", "style": 1, "key": "y"}, {"text": "No", "key": "n"}],
            "card_type": "button_interaction",
            "checkbox": {"disable": false, "mode": 1},
            "skip": null
        });
        let mut out = String::new();
        push_card_xml(&mut out, &card);
        assert!(
            out.starts_with("<CardType><![CDATA[button_interaction]]></CardType>"),
            "{out}"
        );
        assert!(out.contains("<Disable>false</Disable>"), "{out}");
        assert!(
            out.contains("<Title><![CDATA[T]]]]><![CDATA[>]]></Title>"),
            "{out}"
        );
        assert!(!out.contains("Skip"), "{out}");
        let xml = format!("<xml><TemplateCard>{out}</TemplateCard></xml>");
        let doc = crate::xml::parse_tree(&xml).unwrap();
        let card = &doc.children[0];
        let buttons: Vec<Vec<(&str, &str)>> = card
            .children
            .iter()
            .filter(|c| c.name == "ButtonList")
            .map(|b| {
                let mut fields: Vec<_> = b.children.iter().map(|f| (&*f.name, &*f.text)).collect();
                fields.sort_unstable();
                fields
            })
            .collect();
        assert_eq!(
            buttons,
            [
                vec![("Key", "y"), ("Style", "1"), ("Text", "Yes")],
                vec![("Key", "n"), ("Text", "No")]
            ]
        );
    }
}
