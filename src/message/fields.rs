//! Typed reads of a message's elements (the root's children, or the
//! children of a nested element such as `SendPicsInfo`), with the number
//! rules of the message module.

use super::error::MessageError;
use crate::xml::{self, Child};

const UNSIGNED: &str = "an unsigned decimal integer";
const SIGNED: &str = "a decimal integer";
const DECIMAL: &str = "a decimal number";
const TEXT: &str = "text (it has element children)";
const LIST: &str = "a comma-separated list of unsigned decimal integers";

/// The elements at one level of a parsed message.
#[derive(Clone, Copy)]
pub(super) struct Fields<'a> {
    children: &'a [Child<'a>],
}

impl<'a> Fields<'a> {
    pub(super) fn new(children: &'a [Child<'a>]) -> Self {
        Self { children }
    }

    fn named(&self, name: &'a str) -> impl Iterator<Item = &'a Child<'a>> + 'a {
        let children = self.children;
        children
            .iter()
            .filter(move |c| xml::same_name(&c.name, name))
    }

    /// The single element called `name`, if any, whatever it holds.
    ///
    /// # Errors
    /// `DuplicateField` when it appears more than once.
    fn single(&self, name: &'static str) -> Result<Option<&'a Child<'a>>, MessageError> {
        let mut found = self.named(name);
        let first = found.next();
        if found.next().is_some() {
            return Err(MessageError::duplicate(name));
        }
        Ok(first)
    }

    /// The single text element called `name`, if any.
    ///
    /// # Errors
    /// `DuplicateField` when it appears more than once, `InvalidField` when it
    /// has element children.
    fn child(&self, name: &'static str) -> Result<Option<&'a Child<'a>>, MessageError> {
        match self.single(name)? {
            Some(child) if child.nested => Err(MessageError::invalid(name, TEXT)),
            other => Ok(other),
        }
    }

    /// The text of `name`, if present (CDATA verbatim, plain text trimmed).
    pub(super) fn optional_str(&self, name: &'static str) -> Result<Option<&'a str>, MessageError> {
        Ok(self.child(name)?.map(|c| &*c.text))
    }

    /// The text of `name`, which must be present.
    pub(super) fn str(&self, name: &'static str) -> Result<&'a str, MessageError> {
        self.optional_str(name)?
            .ok_or_else(|| MessageError::missing(name))
    }

    /// Free text (a message's `Content`, a `Label`): as sent, if present.
    pub(super) fn optional_string(
        &self,
        name: &'static str,
    ) -> Result<Option<String>, MessageError> {
        Ok(self.optional_str(name)?.map(str::to_owned))
    }

    /// Free text, which must be present.
    pub(super) fn string(&self, name: &'static str) -> Result<String, MessageError> {
        self.str(name).map(str::to_owned)
    }

    /// An identifier, key, code or enumeration value (`EventKey`,
    /// `UserID`, `ChangeType`, `SuiteTicket`…): trimmed of XML whitespace,
    /// if present.
    pub(super) fn optional_token(
        &self,
        name: &'static str,
    ) -> Result<Option<String>, MessageError> {
        Ok(self.optional_str(name)?.map(|t| trim(t).to_owned()))
    }

    /// An identifier that must be present (trimmed).
    pub(super) fn token(&self, name: &'static str) -> Result<String, MessageError> {
        self.str(name).map(|t| trim(t).to_owned())
    }

    /// An identifier that reads as empty when absent (trimmed).
    pub(super) fn token_or_empty(&self, name: &'static str) -> Result<String, MessageError> {
        Ok(self.optional_token(name)?.unwrap_or_default())
    }

    /// A required unsigned decimal integer (see [`parse_unsigned`]).
    pub(super) fn unsigned<T: TryFrom<u64>>(&self, name: &'static str) -> Result<T, MessageError> {
        parse_unsigned(self.str(name)?).ok_or_else(|| MessageError::invalid(name, UNSIGNED))
    }

    /// An optional unsigned decimal integer: absent or empty (after
    /// trimming) is `None`.
    pub(super) fn optional_unsigned<T: TryFrom<u64>>(
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

    /// An optional decimal integer with an optional `-` (error codes):
    /// absent or empty is `None`.
    pub(super) fn optional_signed(&self, name: &'static str) -> Result<Option<i64>, MessageError> {
        match self.optional_str(name)? {
            None => Ok(None),
            Some(text) if trim(text).is_empty() => Ok(None),
            Some(text) => {
                let text = trim(text);
                let digits = text.strip_prefix('-').unwrap_or(text);
                parse_unsigned::<i64>(digits)
                    .and_then(|_| text.parse().ok())
                    .map(Some)
                    .ok_or_else(|| MessageError::invalid(name, SIGNED))
            }
        }
    }

    /// A required decimal number (see [`parse_decimal`]).
    pub(super) fn decimal(&self, name: &'static str) -> Result<f64, MessageError> {
        parse_decimal(self.str(name)?).ok_or_else(|| MessageError::invalid(name, DECIMAL))
    }

    /// An optional decimal number: absent or empty (after trimming) is
    /// `None`.
    pub(super) fn optional_decimal(&self, name: &'static str) -> Result<Option<f64>, MessageError> {
        match self.optional_str(name)? {
            None => Ok(None),
            Some(text) if trim(text).is_empty() => Ok(None),
            Some(text) => parse_decimal(text)
                .map(Some)
                .ok_or_else(|| MessageError::invalid(name, DECIMAL)),
        }
    }

    /// A comma-separated list of unsigned integers (`Department`
    /// `1,2,3`); absent or empty is an empty list.
    pub(super) fn number_list(&self, name: &'static str) -> Result<Vec<u64>, MessageError> {
        let Some(text) = self.optional_str(name)? else {
            return Ok(Vec::new());
        };
        split_list(text)
            .map(|item| parse_unsigned(item).ok_or_else(|| MessageError::invalid(name, LIST)))
            .collect()
    }

    /// A comma-separated list of names (`AddUserItems` `zhangsan,lisi`),
    /// or the texts of `<Item>` children (`MemChangeList`, newer form);
    /// absent or empty is an empty list.
    pub(super) fn name_list(&self, name: &'static str) -> Result<Vec<String>, MessageError> {
        match self.single(name)? {
            None => Ok(Vec::new()),
            Some(child) if child.nested => Ok(child
                .children
                .iter()
                .filter(|c| !c.nested)
                .map(|c| trim(&c.text).to_owned())
                .filter(|c| !c.is_empty())
                .collect()),
            Some(child) => Ok(split_list(&child.text).map(str::to_owned).collect()),
        }
    }

    /// The texts of every element called `name` at this level, in order
    /// (`OptionId`, `PicMd5Sum`), trimmed.
    pub(super) fn tokens(&self, name: &'static str) -> Result<Vec<String>, MessageError> {
        self.named(name)
            .map(|c| {
                if c.nested {
                    Err(MessageError::invalid(name, TEXT))
                } else {
                    Ok(trim(&c.text).to_owned())
                }
            })
            .collect()
    }

    /// The single element called `name` as a group of elements
    /// (`ScanCodeInfo`, `ApprovalInfo`), if present; an element without
    /// children is an empty group.
    pub(super) fn optional_group(
        &self,
        name: &'static str,
    ) -> Result<Option<Fields<'a>>, MessageError> {
        Ok(self.single(name)?.map(|c| Fields::new(&c.children)))
    }

    /// As [`optional_group`](Self::optional_group), required.
    pub(super) fn group(&self, name: &'static str) -> Result<Fields<'a>, MessageError> {
        self.optional_group(name)?
            .ok_or_else(|| MessageError::missing(name))
    }

    /// Every element called `name` at this level, as groups, in order
    /// (`PicList`, `ApprovalNode`, `item`).
    pub(super) fn groups(&self, name: &'static str) -> impl Iterator<Item = Fields<'a>> + 'a {
        let children = self.children;
        children
            .iter()
            .filter(move |c| c.name == name)
            .map(|c| Fields::new(&c.children))
    }

    /// Reads every `name` group with `read`, in order.
    pub(super) fn each<T>(
        &self,
        name: &'static str,
        read: impl Fn(Fields<'a>) -> Result<T, MessageError>,
    ) -> Result<Vec<T>, MessageError> {
        self.groups(name).map(read).collect()
    }
}

/// The non-empty, trimmed items of a comma-separated list.
fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(trim).filter(|item| !item.is_empty())
}

pub(super) fn trim(text: &str) -> &str {
    xml::trim_xml_space(text)
}

/// ASCII digits only (after trimming XML whitespace), at least one, no sign,
/// and within `T`'s range. One pass over the digits (core's `parse` checks
/// for a sign and re-tests each digit for the radix, about three times
/// the work on a 19-digit MsgId).
fn parse_unsigned<T: TryFrom<u64>>(text: &str) -> Option<T> {
    let text = trim(text);
    if text.is_empty() {
        return None;
    }
    let value = text.bytes().try_fold(0u64, |value, b| {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value.checked_mul(10)?.checked_add(u64::from(digit))
    })?;
    T::try_from(value).ok()
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
        assert_eq!(parse_unsigned::<u32>("4294967295"), Some(u32::MAX));
        assert_eq!(parse_unsigned::<u8>("256"), None);
        assert_eq!(parse_unsigned::<i64>("9223372036854775808"), None);
        // Leading zeros, even past 20 digits, as core's `parse` reads them.
        assert_eq!(
            parse_unsigned::<u64>("000000000000000000000000042"),
            Some(42)
        );
        for text in ["0", "7", "1348831860", "18446744073709551615", "0001"] {
            assert_eq!(parse_unsigned::<u64>(text), text.parse().ok(), "{text}");
        }
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
