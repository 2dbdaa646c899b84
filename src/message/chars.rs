//! The characters a decrypted JSON message may carry: the same as XML 1.0
//! allows (production `Char`), so that the JSON and XML paths refuse the
//! same input (issue 19). JSON can spell any code point as an escape
//! (`\u0000`), so the check runs on the parsed strings, keys included.

use serde_json::Value;

use crate::xml;

/// Whether every string in `value` (object keys included) holds only
/// characters XML 1.0 can carry: no C0 control other than tab, LF and CR,
/// no U+FFFE or U+FFFF. serde_json bounds the nesting (128 levels), and the
/// walk keeps its own stack, so no input can exhaust the call stack.
pub(crate) fn json_is_xml_text(value: &Value) -> bool {
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::String(text) => {
                if !xml::is_xml_text(text) {
                    return false;
                }
            }
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => {
                for (key, item) in map {
                    if !xml::is_xml_text(key) {
                        return false;
                    }
                    stack.push(item);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    true
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_characters_are_found_anywhere() {
        for bad in [
            r#"{"Content":"a\u0000b"}"#,
            "{\"Content\":\"\u{FFFE}\"}",
            r#"{"Content":"\uffff"}"#,
            r#"{"a\u0001":"x"}"#,
            r#"{"PicList":[{"Pic":"ok"},{"Pic":"\u000b"}]}"#,
            r#"{"x":{"y":{"z":"\u001f"}}}"#,
        ] {
            let value: Value = serde_json::from_str(bad).unwrap();
            assert!(!json_is_xml_text(&value), "{bad}");
        }
        for good in [
            r#"{"Content":"Hello, 世界! 企业微信回调 test 123.\t\n\r"}"#,
            r#"{"n":1,"b":true,"z":null,"e":"\ufffd\ud83d\ude00"}"#,
        ] {
            let value: Value = serde_json::from_str(good).unwrap();
            assert!(json_is_xml_text(&value), "{good}");
        }
    }
}
