//! Typed reads of the root's direct children, with the number rules of the
//! message module.

use super::error::MessageError;
use crate::xml::{Child, Document, is_xml_space};

const UNSIGNED: &str = "an unsigned decimal integer";
const DECIMAL: &str = "a decimal number";
const TEXT: &str = "text (it has element children)";

/// The top-level elements of a parsed message.
pub(super) struct Fields<'a> {
    doc: &'a Document,
}

impl<'a> Fields<'a> {
    pub(super) fn new(doc: &'a Document) -> Self {
        Self { doc }
    }

    /// The single element called `name`, if any.
    ///
    /// # Errors
    /// `DuplicateField` when it appears more than once, `InvalidField` when it
    /// has element children.
    fn child(&self, name: &'static str) -> Result<Option<&'a Child>, MessageError> {
        if self.doc.count(name) > 1 {
            return Err(MessageError::duplicate(name));
        }
        match self.doc.get(name) {
            Some(child) if child.nested => Err(MessageError::invalid(name, TEXT)),
            other => Ok(other),
        }
    }

    /// The text of `name`, if present (CDATA verbatim, plain text trimmed).
    pub(super) fn optional_str(&self, name: &'static str) -> Result<Option<&'a str>, MessageError> {
        Ok(self.child(name)?.map(|c| c.text.as_str()))
    }

    /// The text of `name`, which must be present.
    pub(super) fn str(&self, name: &'static str) -> Result<&'a str, MessageError> {
        self.optional_str(name)?
            .ok_or_else(|| MessageError::missing(name))
    }

    pub(super) fn optional_string(
        &self,
        name: &'static str,
    ) -> Result<Option<String>, MessageError> {
        Ok(self.optional_str(name)?.map(str::to_owned))
    }

    pub(super) fn string(&self, name: &'static str) -> Result<String, MessageError> {
        self.str(name).map(str::to_owned)
    }

    /// A required unsigned decimal integer (see [`parse_unsigned`]).
    pub(super) fn unsigned<T: std::str::FromStr>(
        &self,
        name: &'static str,
    ) -> Result<T, MessageError> {
        parse_unsigned(self.str(name)?).ok_or_else(|| MessageError::invalid(name, UNSIGNED))
    }

    /// An optional unsigned decimal integer: absent or empty (after
    /// trimming) is `None`.
    pub(super) fn optional_unsigned<T: std::str::FromStr>(
        &self,
        name: &'static str,
    ) -> Result<Option<T>, MessageError> {
        match self.optional_str(name)? {
            None => Ok(None),
            Some(text) if trim(text).is_empty() => Ok(None),
            Some(text) => parse_unsigned(text)
                .map(Some)
                .ok_or_else(|| MessageError::invalid(name, UNSIGNED)),
        }
    }

    /// A required decimal number (see [`parse_decimal`]).
    pub(super) fn decimal(&self, name: &'static str) -> Result<f64, MessageError> {
        parse_decimal(self.str(name)?).ok_or_else(|| MessageError::invalid(name, DECIMAL))
    }
}

fn trim(text: &str) -> &str {
    text.trim_matches(is_xml_space)
}

/// ASCII digits only (after trimming XML whitespace), at least one, no sign,
/// and within `T`'s range.
fn parse_unsigned<T: std::str::FromStr>(text: &str) -> Option<T> {
    let text = trim(text);
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Plain decimal notation (after trimming XML whitespace): an optional sign,
/// digits with an optional fraction, at least one digit. No exponent, `inf`
/// or `NaN`; the result is finite.
fn parse_decimal(text: &str) -> Option<f64> {
    let text = trim(text);
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.len() + fraction.len() == 0 || !digits(whole) || !digits(fraction) {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_is_plain_digits() {
        assert_eq!(parse_unsigned::<u64>("1348831860"), Some(1_348_831_860));
        assert_eq!(parse_unsigned::<u64>(" 007\n"), Some(7));
        assert_eq!(
            parse_unsigned::<u64>("18446744073709551615"),
            Some(u64::MAX)
        );
        for bad in [
            "",
            " ",
            "+1",
            "-1",
            "1.0",
            "1e3",
            "0x10",
            "1 2",
            "18446744073709551616",
            "١",
        ] {
            assert_eq!(parse_unsigned::<u64>(bad), None, "{bad:?}");
        }
        assert_eq!(parse_unsigned::<u32>("4294967296"), None);
    }

    #[test]
    fn decimal_is_plain_notation() {
        assert_eq!(parse_decimal("23.137466"), Some(23.137466));
        assert_eq!(parse_decimal("-0.5"), Some(-0.5));
        assert_eq!(parse_decimal("+3"), Some(3.0));
        assert_eq!(parse_decimal(".5"), Some(0.5));
        assert_eq!(parse_decimal("5."), Some(5.0));
        assert_eq!(parse_decimal(" 119.385040 "), Some(119.38504));
        for bad in [
            "", ".", "-", "+.", "1e5", "inf", "NaN", "infinity", "1.2.3", "--1", "1,5", "0x1",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
        assert_eq!(parse_decimal(&"9".repeat(400)), None);
    }
}
