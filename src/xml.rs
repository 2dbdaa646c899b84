//! A strict, flat reader for the small XML documents of the callback protocol,
//! and the CDATA writer used for replies.
//!
//! Both the outer envelope (`<xml><ToUserName/><AgentID/><Encrypt/></xml>`) and
//! the decrypted messages are one root element `xml` whose direct children
//! carry the data. [`parse`] walks the whole document with quick-xml's pull
//! reader, validates it and returns the root's direct children with their
//! text; [`parse_tree`] does the same and also keeps the elements nested in
//! them (`SendPicsInfo/PicList/item`, `ApprovalInfo/…`), built with an
//! explicit stack rather than recursion. The returned text borrows from the
//! input wherever it can (names, CDATA, plain text without references), so
//! reading allocates little beyond the list of children.
//!
//! Documents in the vendor's own flat shape (`<xml>`, then children that
//! each hold one CDATA section or plain text without references, and
//! nothing else) are read by [`read_canonical`], a single forward scan; any
//! other document, and any document the scan is not sure about, goes to
//! the general reader on quick-xml. The scan accepts a strict subset of
//! what the general reader accepts and returns the same document for it
//! (a property test checks this on generated documents).
//!
//! Both refuse what a callback never needs and an attacker might use:
//! a DOCTYPE (XXE, entity expansion), processing instructions, entity
//! references other than the five predefined ones and character references,
//! a second root, text after the root, and nesting deeper than [`MAX_DEPTH`].
//!
//! Pure code: no HTTP types.

use std::borrow::Cow;
use std::fmt;

use quick_xml::Reader;
use quick_xml::escape::resolve_xml_entity;
use quick_xml::events::Event;

/// Deepest element nesting accepted (the root counts as depth 1).
pub(crate) const MAX_DEPTH: usize = 32;

/// A parsed document: the root's name and its direct children, in order.
/// Text borrows from the input where it can (`'a`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Document<'a> {
    /// Name of the root element as written (the protocol's is `xml`).
    pub(crate) root: Cow<'a, str>,
    /// The root's direct child elements, in document order.
    pub(crate) children: Vec<Child<'a>>,
}

/// One element below the root: a direct child of the root, or (with
/// [`parse_tree`]) an element nested in one.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Child<'a> {
    /// Element name as written, e.g. `MsgType`.
    pub(crate) name: Cow<'a, str>,
    /// The element's text: CDATA sections verbatim, plain text with the
    /// predefined and character references resolved; plain text at either
    /// end is trimmed of XML whitespace. Empty when the element has element
    /// children.
    pub(crate) text: Cow<'a, str>,
    /// `true` when the element has element children.
    pub(crate) nested: bool,
    /// `true` when the element's own text used an entity or character
    /// reference (`&amp;`, `&#65;`).
    pub(crate) has_ref: bool,
    /// The element's own child elements, in document order: filled by
    /// [`parse_tree`] (and the JSON reading of messages); always empty from
    /// [`parse`], which only flags them with [`nested`](Self::nested).
    pub(crate) children: Vec<Child<'a>>,
}

/// Whether element names `a` and `b` are the same. Lengths and last bytes
/// are compared inline first: element names of one document mostly differ
/// there, so the full comparison (a `memcmp` call) runs about once per
/// match instead of once per candidate.
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.as_bytes().last() == b.as_bytes().last() && a == b
}

impl Child<'_> {
    /// The same element owning its text.
    pub(crate) fn into_owned(self) -> Child<'static> {
        Child {
            name: Cow::Owned(self.name.into_owned()),
            text: Cow::Owned(self.text.into_owned()),
            nested: self.nested,
            has_ref: self.has_ref,
            children: self.children.into_iter().map(Child::into_owned).collect(),
        }
    }
}

impl Document<'_> {
    /// The first direct child called `name` (the tests' reader; messages
    /// go through `message::fields`).
    #[cfg(test)]
    pub(crate) fn get(&self, name: &str) -> Option<&Child<'_>> {
        self.children.iter().find(|c| c.name == name)
    }

    /// How many direct children are called `name` (the tests' counter).
    #[cfg(test)]
    pub(crate) fn count(&self, name: &str) -> usize {
        self.children.iter().filter(|c| c.name == name).count()
    }
}

/// Why a document was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum XmlErrorKind {
    /// Not well-formed (mismatched or unclosed tags, bad syntax).
    Malformed,
    /// A `<!DOCTYPE …>` declaration.
    Doctype,
    /// A processing instruction other than the `<?xml …?>` declaration.
    ProcessingInstruction,
    /// An entity reference other than `lt gt amp apos quot`, or a bad
    /// character reference.
    UnknownEntity,
    /// No root element.
    NoRoot,
    /// A second root element.
    SecondRoot,
    /// Non-whitespace text outside the root or between the root's children.
    StrayText,
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A character XML 1.0 forbids (a C0 control other than tab, LF, CR;
    /// U+FFFE; U+FFFF).
    InvalidChar,
}

/// A refused document. Its `Display` names the reason, never the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct XmlError {
    kind: XmlErrorKind,
}

impl XmlError {
    fn new(kind: XmlErrorKind) -> Self {
        Self { kind }
    }

    /// The reason.
    #[cfg(test)]
    pub(crate) fn kind(&self) -> XmlErrorKind {
        self.kind
    }
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            XmlErrorKind::Malformed => "XML is not well-formed",
            XmlErrorKind::Doctype => "XML contains a DOCTYPE",
            XmlErrorKind::ProcessingInstruction => "XML contains a processing instruction",
            XmlErrorKind::UnknownEntity => {
                "XML uses an unknown entity or a bad character reference"
            }
            XmlErrorKind::NoRoot => "XML has no root element",
            XmlErrorKind::SecondRoot => "XML has a second root element",
            XmlErrorKind::StrayText => "XML has text outside the elements",
            XmlErrorKind::TooDeep => "XML nesting is too deep",
            XmlErrorKind::InvalidChar => "XML contains a character XML 1.0 forbids",
        })
    }
}

impl std::error::Error for XmlError {}

/// An element being read: its text pieces (plain text may be trimmed at the
/// ends, CDATA and resolved references never are) and, for [`parse_tree`],
/// its finished child elements.
#[derive(Default)]
struct Pending {
    name: String,
    pieces: Vec<(bool, String)>,
    nested: bool,
    has_ref: bool,
    children: Vec<Child<'static>>,
}

impl Pending {
    fn finish(mut self) -> Child<'static> {
        while let Some((true, first)) = self.pieces.first_mut() {
            let trimmed = trim_start_xml_space(first);
            if trimmed.is_empty() {
                self.pieces.remove(0);
            } else {
                *first = trimmed.to_owned();
                break;
            }
        }
        while let Some((true, last)) = self.pieces.last_mut() {
            let trimmed = trim_end_xml_space(last);
            if trimmed.is_empty() {
                self.pieces.pop();
            } else {
                *last = trimmed.to_owned();
                break;
            }
        }
        let text = if self.nested {
            String::new()
        } else if self.pieces.len() == 1 {
            // The usual case (one CDATA section or one run of text): move it.
            self.pieces.pop().map(|(_, s)| s).unwrap_or_default()
        } else {
            self.pieces.into_iter().map(|(_, s)| s).collect()
        };
        Child {
            name: Cow::Owned(self.name),
            text: Cow::Owned(text),
            nested: self.nested,
            has_ref: self.has_ref,
            children: self.children,
        }
    }
}

/// A start tag must be well-formed on its own: quick-xml reads anything
/// after the name as "attributes" and only parses them when asked, and it
/// accepts an empty name. A strict parser refuses `<Encrypt ]>` and `< />`,
/// so this one does too (no differential, SECURITY.md T27 of this project).
fn check_tag(start: &quick_xml::events::BytesStart<'_>) -> Result<(), XmlError> {
    let name = start.name();
    if !is_xml_name(name.as_ref().as_bytes()) {
        return Err(XmlError::new(XmlErrorKind::Malformed));
    }
    for attribute in start.attributes().with_checks(true) {
        let attribute = attribute.map_err(|_| XmlError::new(XmlErrorKind::Malformed))?;
        if !is_xml_name(attribute.key.as_ref().as_bytes()) {
            return Err(XmlError::new(XmlErrorKind::Malformed));
        }
    }
    Ok(())
}

/// XML 1.0 production `Name`, byte-wise: a first byte that is a letter,
/// `_`, `:` or part of a non-ASCII character, then also digits, `-` and `.`.
fn is_xml_name(name: &[u8]) -> bool {
    let Some((&first, rest)) = name.split_first() else {
        return false;
    };
    is_name_start_byte(first) && rest.iter().all(|&b| is_name_byte(b))
}

/// A byte that may start an XML name: a letter, `_`, `:` or a byte of a
/// non-ASCII character.
const fn is_name_start_byte(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80
}

/// A byte that may follow in an XML name: a start byte, a digit, `-`, `.`.
const fn is_name_byte(b: u8) -> bool {
    is_name_start_byte(b) || b.is_ascii_digit() || b == b'-' || b == b'.'
}

/// Whether `b` is an XML whitespace byte (production `S`: space, tab, CR,
/// LF). Every such character is one ASCII byte, so text can be trimmed of
/// it byte-wise: the first or last other byte is always at a character
/// boundary.
fn is_xml_space_byte(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// `s` without leading XML whitespace.
fn trim_start_xml_space(s: &str) -> &str {
    let start = s
        .bytes()
        .position(|b| !is_xml_space_byte(&b))
        .unwrap_or(s.len());
    s.get(start..).unwrap_or_default()
}

/// `s` without trailing XML whitespace.
fn trim_end_xml_space(s: &str) -> &str {
    let end = s
        .bytes()
        .rposition(|b| !is_xml_space_byte(&b))
        .map_or(0, |i| i + 1);
    s.get(..end).unwrap_or_default()
}

/// `s` without leading and trailing XML whitespace.
pub(crate) fn trim_xml_space(s: &str) -> &str {
    trim_end_xml_space(trim_start_xml_space(s))
}

fn is_blank(s: &str) -> bool {
    trim_start_xml_space(s).is_empty()
}

/// Parses and validates `input`; see the module docs for what is refused.
/// Returns the root's direct children only (nested elements are flagged,
/// not kept).
pub(crate) fn parse(input: &str) -> Result<Document<'_>, XmlError> {
    read(input, false)
}

/// As [`parse`], for a document whose element `verbatim` the caller
/// refuses unless its text is of a set that holds neither a character XML
/// cannot carry nor a carriage return (the envelope's base64 `Encrypt`).
/// The character check then covers every other element's text only: on a
/// document in the vendor's flat shape, the only place such a character can
/// sit is an element's text, since the scan admits nothing else but ASCII
/// names and XML whitespace. When another text fails the check, or the scan
/// declines, this is [`parse`].
///
/// So whenever the caller's check of `verbatim` passes, the result is
/// [`parse`]'s; when it fails, the caller refuses either way.
pub(crate) fn parse_trusting<'a>(input: &'a str, verbatim: &str) -> Result<Document<'a>, XmlError> {
    if let Some(document) = read_canonical(input, false) {
        let checked = document
            .children
            .iter()
            .all(|c| c.name == verbatim || check_chars(&c.text) == Some(false));
        if checked {
            return Ok(document);
        }
    }
    parse(input)
}

/// As [`parse`], and keeps every nested element in
/// [`Child::children`] (at most [`MAX_DEPTH`] levels, so the tree is small
/// and shallow).
pub(crate) fn parse_tree(input: &str) -> Result<Document<'_>, XmlError> {
    read(input, true)
}

/// The reader behind [`parse`] and [`parse_tree`]: the character check,
/// then [`read_canonical`] or, when that declines, [`read_general`].
fn read(input: &str, keep_nested: bool) -> Result<Document<'_>, XmlError> {
    // XML 1.0 documents cannot hold these characters; quick-xml does not
    // check, so a strict parser and this one would read such input
    // differently (and a reply that echoes it could not be parsed).
    let Some(carriage_return) = check_chars(input) else {
        return Err(XmlError::new(XmlErrorKind::InvalidChar));
    };
    match read_canonical(input, carriage_return) {
        Some(document) => Ok(document),
        None => read_general(input, keep_nested),
    }
}

/// Reads a document in the vendor's flat shape in one forward scan, with
/// every name and text borrowed from `input`; `None` when the document is
/// not exactly of that shape (the caller then uses [`read_general`]).
///
/// The shape: optional XML whitespace, `<xml>`, then any number of
/// children separated by XML whitespace, each `<Name>` + either one
/// `<![CDATA[…]]>` section or plain text without `&` and `]]>` + `</Name>`
/// (same name, no space before `>`), then `</xml>` and optional whitespace.
/// Names are ASCII XML names. For such a document the general reader
/// returns the same children: CDATA verbatim, plain text trimmed of XML
/// whitespace, nothing nested, no references, and line ends normalised.
///
/// `line_ends`: whether `input` holds a carriage return. Then a text that
/// holds one is normalised as the general reader does (XML 1.0 §2.11
/// "End-of-Line Handling": CR LF and a lone CR become LF) into an owned
/// copy; every other text stays borrowed. Without it the texts are taken as
/// they are, so a caller that passes `false` for an input with a carriage
/// return must refuse or re-read any text holding one (as
/// [`parse_trusting`] does). `input` must already have passed
/// [`check_chars`], or (as [`parse_trusting`] does) the children's texts
/// must be checked afterwards: outside them the scan admits only ASCII name
/// bytes, markup and XML whitespace, where a carriage return reads as
/// whitespace in both readers.
fn read_canonical(input: &str, line_ends: bool) -> Option<Document<'_>> {
    let mut children = Vec::with_capacity(8);
    scan_canonical(input, |name, text| {
        children.push(Child {
            name: Cow::Borrowed(name),
            text: Cow::Borrowed(text),
            ..Child::default()
        });
        true
    })?;
    // Apart from the texts, the document is only names, markup and XML
    // whitespace, where a CR is whitespace to both readers.
    if line_ends {
        for child in &mut children {
            if child.text.contains('\r') {
                child.text = Cow::Owned(normalize_line_ends(&child.text));
            }
        }
    }
    Some(Document {
        root: Cow::Borrowed("xml"),
        children,
    })
}

/// The scan of [`read_canonical`] without the list: calls `child` with
/// the name and the text (CDATA verbatim, plain text trimmed, line ends
/// as they are) of each of the root's children in document order, and
/// returns `None` as soon as the document is not of the vendor's flat
/// shape or `child` returns `false`. For readers that keep only a few
/// elements (the envelope) and need no list of them.
///
/// As for [`read_canonical`] with `line_ends` false, the texts are
/// neither checked for characters XML forbids nor normalised: the caller
/// checks them, or `input` has passed [`check_chars`].
pub(crate) fn scan_canonical<'a>(
    input: &'a str,
    mut child: impl FnMut(&'a str, &'a str) -> bool,
) -> Option<()> {
    let mut rest = trim_xml_space(input)
        .strip_prefix("<xml>")?
        .strip_suffix("</xml>")?;
    loop {
        rest = trim_start_xml_space(rest);
        if rest.is_empty() {
            return Some(());
        }
        let open = rest.strip_prefix('<')?;
        let name_len = open.bytes().position(|b| !is_ascii_name_byte(b))?;
        let (name, after_name) = open.split_at_checked(name_len)?;
        // The scan admits only ASCII name bytes; the first must also be a
        // name's first byte (and the name not empty).
        if !name
            .as_bytes()
            .first()
            .is_some_and(|&b| is_name_start_byte(b))
        {
            return None;
        }
        let content = after_name.strip_prefix('>')?;
        let (text, after) = match content.strip_prefix("<![CDATA[") {
            Some(cdata) => {
                let (text, tail) = cdata.split_at_checked(find_cdata_end(cdata)?)?;
                (text, tail.strip_prefix("]]>")?)
            }
            None => {
                let (text, tail) =
                    content.split_at_checked(memchr::memchr(b'<', content.as_bytes())?)?;
                if text.contains('&') || find_cdata_end(text).is_some() {
                    return None;
                }
                (trim_xml_space(text), tail)
            }
        };
        rest = after
            .strip_prefix("</")?
            .strip_prefix(name)?
            .strip_prefix('>')?;
        if !child(name, text) {
            return None;
        }
    }
}

/// `text` with XML 1.0's end-of-line handling (§2.11): each CR LF pair and
/// each other CR becomes one LF (so CR CR LF is two line ends, as the
/// general reader reads it). One pass, from CR to CR.
fn normalize_line_ends(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = memchr::memchr(b'\r', rest.as_bytes()) {
        // A CR is one byte, so both cuts fall on character boundaries.
        out.push_str(rest.get(..at).unwrap_or_default());
        out.push('\n');
        let after = rest.get(at + 1..).unwrap_or_default();
        rest = after.strip_prefix('\n').unwrap_or(after);
    }
    out.push_str(rest);
    out
}

/// Whether `b` is an ASCII byte of an XML name (letter, digit, `_`, `:`,
/// `-`, `.`): [`is_name_byte`]'s set less non-ASCII.
fn is_ascii_name_byte(b: u8) -> bool {
    /// The set as a table: one load per byte instead of five range tests
    /// (names are most of the bytes the scan looks at one by one).
    // Built at compile time: an out-of-range index here would fail the
    // build, never a request.
    #[allow(clippy::indexing_slicing)]
    const TABLE: [bool; 256] = {
        let mut table = [false; 256];
        let mut b = 0;
        while b < 128 {
            table[b] = is_name_byte(b as u8);
            b += 1;
        }
        table
    };
    TABLE.get(usize::from(b)).copied().unwrap_or(false)
}

/// Where the first `]]>` of `text` starts. Looks for `>` (memchr's
/// vectorised byte search) and checks the two bytes before it, which is
/// much faster on long text than a substring search.
fn find_cdata_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    loop {
        let at = from + memchr::memchr(b'>', bytes.get(from..)?)?;
        if at >= 2 && bytes.get(at - 2..at) == Some(b"]]") {
            return Some(at - 2);
        }
        from = at + 1;
    }
}

/// The general reader, on quick-xml's pull parser. `open` is the stack of
/// elements below the root that are being read (never deeper than
/// [`MAX_DEPTH`]); text always goes to the innermost one. `input` must
/// already have passed [`check_chars`].
fn read_general(input: &str, keep_nested: bool) -> Result<Document<'static>, XmlError> {
    use XmlErrorKind::*;
    let mut reader = Reader::from_str(input);
    let mut root: Option<String> = None;
    let mut root_closed = false;
    let mut depth = 0usize;
    let mut children = Vec::new();
    let mut open: Vec<Pending> = Vec::new();

    // A finished element goes to its parent (or, below the root, to the
    // document's children); nested ones are dropped unless kept.
    let mut close = |open: &mut Vec<Pending>, done: Pending| {
        let child = done.finish();
        match open.last_mut() {
            Some(parent) => {
                if keep_nested {
                    parent.children.push(child);
                }
            }
            None => children.push(child),
        }
    };

    loop {
        let event = reader.read_event().map_err(|_| XmlError::new(Malformed))?;
        if let Event::Start(ref start) | Event::Empty(ref start) = event {
            check_tag(start)?;
        }
        match event {
            Event::Decl(_) => {
                if root.is_some() {
                    return Err(XmlError::new(ProcessingInstruction));
                }
            }
            Event::PI(_) => return Err(XmlError::new(ProcessingInstruction)),
            Event::DocType(_) => return Err(XmlError::new(Doctype)),
            Event::Comment(_) => {}
            Event::Start(ref start) | Event::Empty(ref start) if depth == 0 => {
                if root.is_some() {
                    return Err(XmlError::new(SecondRoot));
                }
                root = Some(start.name().as_ref().to_owned());
                if matches!(event, Event::Empty(_)) {
                    root_closed = true;
                } else {
                    depth = 1;
                }
            }
            Event::Start(start) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(XmlError::new(TooDeep));
                }
                if let Some(parent) = open.last_mut() {
                    parent.nested = true;
                }
                open.push(Pending {
                    name: start.name().as_ref().to_owned(),
                    ..Pending::default()
                });
            }
            Event::Empty(start) => {
                if depth + 1 > MAX_DEPTH {
                    return Err(XmlError::new(TooDeep));
                }
                if let Some(parent) = open.last_mut() {
                    parent.nested = true;
                }
                let empty = Pending {
                    name: start.name().as_ref().to_owned(),
                    ..Pending::default()
                };
                close(&mut open, empty);
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    root_closed = true;
                } else if let Some(done) = open.pop() {
                    close(&mut open, done);
                }
            }
            Event::Text(text) => {
                // `]]>` may not appear in character data (XML 1.0 §2.4):
                // `<A><![CDATA[a]]>b]]></A>` is not well-formed.
                if text.contains("]]>") {
                    return Err(XmlError::new(Malformed));
                }
                let content = text.xml10_content();
                match open.last_mut() {
                    Some(p) => p.pieces.push((true, content.into_owned())),
                    None if !is_blank(&content) => return Err(XmlError::new(StrayText)),
                    None => {}
                }
            }
            Event::CData(cdata) => match open.last_mut() {
                Some(p) => p.pieces.push((false, cdata.xml10_content().into_owned())),
                None => return Err(XmlError::new(StrayText)),
            },
            Event::GeneralRef(reference) => {
                let resolved = if reference.is_char_ref() {
                    match reference.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => return Err(XmlError::new(UnknownEntity)),
                    }
                } else {
                    match resolve_xml_entity(&reference.xml10_content()) {
                        Some(s) => s.to_owned(),
                        None => return Err(XmlError::new(UnknownEntity)),
                    }
                };
                match open.last_mut() {
                    Some(p) => {
                        p.has_ref = true;
                        p.pieces.push((false, resolved));
                    }
                    None => return Err(XmlError::new(StrayText)),
                }
            }
            Event::Eof => break,
        }
    }

    match root {
        None => Err(XmlError::new(NoRoot)),
        Some(_) if !root_closed || depth != 0 || !open.is_empty() => Err(XmlError::new(Malformed)),
        Some(root) => Ok(Document {
            root: Cow::Owned(root),
            children,
        }),
    }
}

/// Appends `text` as CDATA: `<![CDATA[…]]>`.
///
/// One pass over the bytes, in this order for each character:
/// 1. characters XML 1.0 cannot carry (C0 controls other than tab, CR, LF;
///    U+FFFE, U+FFFF) are dropped, since no XML parser would accept them;
/// 2. a `>` that follows two *kept* `]` closes the section and reopens it
///    (`]]` + `]]><![CDATA[` + `>`), so the text cannot end the CDATA early.
///
/// Dropping before looking for `]]>` is what makes this safe: a writer that
/// splits `]]>` first and drops afterwards turns `]]\u{FFFF}>` into a live
/// `]]>` (SECURITY.md T28 of this project).
pub(crate) fn push_cdata(out: &mut String, text: &str) {
    out.reserve(text.len() + 12);
    out.push_str("<![CDATA[");
    let bytes = text.as_bytes();
    // `start..i` is the run of kept bytes not yet copied; every index at
    // which a run starts or ends is an ASCII byte or the first byte of
    // U+FFFE/U+FFFF, so always a character boundary.
    let mut start = 0;
    let mut i = 0;
    let mut brackets = 0usize;
    // Below this index, bytes are looked at one by one (a chunk that was
    // checked and holds something to act on).
    let mut slow_until = 0;
    while let Some(&b) = bytes.get(i) {
        // Fast path: with no `]` pending, a chunk that holds nothing this
        // loop acts on (`]`, a C0 control other than tab, LF and CR, a
        // U+FFFE or U+FFFF) leaves every state as it was: skip it whole.
        // The test is branch-free, so the compiler vectorises it, and it
        // finds U+FFFE/U+FFFF by their first two bytes (EF BF), so other
        // characters (Chinese, the full-width `，` whose lead byte 0xEF
        // they share) stay on this path. The last, shorter chunk is tested
        // the same way, padded with spaces.
        if brackets == 0 && i >= slow_until {
            let rest = bytes.get(i..).unwrap_or_default();
            let (flagged, step) = match rest.first_chunk::<WINDOW>() {
                Some(window) => (
                    chunk_may_have(window, |c| (c == b']') | is_forbidden_control(c)),
                    CHUNK,
                ),
                // The end, shorter than a window: all of it at once.
                None => (tail_may_have(rest, true), rest.len()),
            };
            if !flagged {
                i += step;
                continue;
            }
            slow_until = i + step;
        }
        match b {
            b']' => {
                brackets += 1;
                i += 1;
            }
            b'>' if brackets >= 2 => {
                out.push_str(text.get(start..i).unwrap_or_default());
                out.push_str("]]><![CDATA[");
                start = i;
                brackets = 0;
                i += 1;
            }
            _ => match non_xml_len(bytes, i) {
                0 => {
                    brackets = 0;
                    i += 1;
                }
                dropped => {
                    out.push_str(text.get(start..i).unwrap_or_default());
                    i += dropped;
                    start = i;
                }
            },
        }
    }
    out.push_str(text.get(start..).unwrap_or_default());
    out.push_str("]]>");
}

/// Bytes [`push_cdata`] and [`check_chars`] test at once. Skipping a chunk
/// in [`push_cdata`] moves `i` past bytes that are never cut points, so
/// every cut still falls on an ASCII byte or on 0xEF (a lead byte): always
/// a character boundary.
const CHUNK: usize = 32;

/// A chunk and the two bytes after it, so that a U+FFFE or U+FFFF that
/// starts in the chunk is seen whole.
const WINDOW: usize = CHUNK + 2;

/// Whether, at some position of the first [`CHUNK`] bytes of `window`,
/// `single` holds for the byte or a U+FFFE/U+FFFF (EF BF BE, EF BF BF)
/// starts. Branch-free over three shifted views of the window, which the
/// compiler vectorises. In valid UTF-8, 0xEF is always a lead byte, so the
/// three bytes are the character itself, never the tail of another one.
#[inline(always)]
fn chunk_has(window: &[u8; WINDOW], single: impl Fn(u8) -> bool) -> bool {
    let (Some(first), Some(second), Some(third)) = (
        window.first_chunk::<CHUNK>(),
        window.get(1..).and_then(<[u8]>::first_chunk::<CHUNK>),
        window.last_chunk::<CHUNK>(),
    ) else {
        // Unreachable (WINDOW = CHUNK + 2); answer "look closer".
        return true;
    };
    first
        .iter()
        .zip(second)
        .zip(third)
        .fold(false, |flag, ((&a, &b), &c)| {
            flag | single(a) | ((a == 0xEF) & (b == 0xBF) & ((c | 1) == 0xBF))
        })
}

/// A cheaper, looser [`chunk_has`] for the fast paths: whether `single`
/// holds for a byte of the chunk or EF BF (the first two bytes of
/// U+FFFE/U+FFFF, and of the rare U+FFC0–U+FFFD) starts in it. Never
/// false where [`chunk_has`] is true.
#[inline(always)]
fn chunk_may_have(window: &[u8; WINDOW], single: impl Fn(u8) -> bool) -> bool {
    let (Some(first), Some(second)) = (
        window.first_chunk::<CHUNK>(),
        window.get(1..).and_then(<[u8]>::first_chunk::<CHUNK>),
    ) else {
        // Unreachable (WINDOW = CHUNK + 2); answer "look closer".
        return true;
    };
    first.iter().zip(second).fold(false, |flag, (&a, &b)| {
        flag | single(a) | ((a == 0xEF) & (b == 0xBF))
    })
}

/// The fast test of a text's end, shorter than a [`WINDOW`] (and of short
/// texts: names, ids, numbers): whether `tail` may hold a byte below 0x20,
/// EF BF (the start of U+FFFE/U+FFFF) or, with `bracket`, a `]`. Never
/// false where [`chunk_may_have`]'s tests would flag (tab, LF and CR are
/// flagged too). Eight bytes at a time as words where they lie, then the
/// last few one by one: the test these ends used to take, on a copy padded
/// to a window, cost a `memcpy` call and then stalled the vector loads of
/// the copy (they wait for its stores), on every call.
fn tail_may_have(tail: &[u8], bracket: bool) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // A byte of `v` is zero / below `n` (n <= 0x80): exact as to whether
    // one is (the borrows can only mark bytes above a true one).
    let below = |v: u64, n: u64| v.wrapping_sub(n * ONES) & !v & HIGHS != 0;
    let mut flag = false;
    let mut words = tail.chunks_exact(8);
    for (at, word) in (&mut words).enumerate() {
        let v = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
        // Each byte's follower, the next word's first byte last (none: 0).
        let next = tail.get(at * 8 + 8).copied().map_or(0, u64::from);
        let followers = (v >> 8) | (next << 56);
        // Zero where a byte is EF and its follower BF.
        let pair = (v ^ (0xEF * ONES)) | (followers ^ (0xBF * ONES));
        flag |= below(v, 0x20) | below(pair, 1) | (bracket & below(v ^ (0x5D * ONES), 1));
    }
    let mut lead = false;
    for &b in words.remainder() {
        flag |= (b < 0x20) | (bracket & (b == b']')) | (lead & (b == 0xBF));
        lead = b == 0xEF;
    }
    flag
}

/// A C0 control XML 1.0 cannot carry: below 0x20, other than tab, LF and
/// CR. Such a byte is always a whole character in UTF-8.
fn is_forbidden_control(b: u8) -> bool {
    (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r')
}

/// Appends `text` as escaped character data (`&`, `<`, `>` escaped),
/// dropping the characters XML cannot carry, like [`push_cdata`].
pub(crate) fn push_text(out: &mut String, text: &str) {
    let bytes = text.as_bytes();
    // The usual text (a timestamp): nothing to escape or drop.
    if bytes
        .iter()
        .all(|&b| b >= 0x20 && !matches!(b, b'&' | b'<' | b'>' | 0xEF))
    {
        out.push_str(text);
        return;
    }
    let mut i = 0;
    for (at, c) in text.char_indices() {
        if at < i {
            continue;
        }
        i = at + c.len_utf8();
        if non_xml_len(bytes, at) > 0 {
            continue;
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
}

/// Appends `<name><![CDATA[text]]></name>` (see [`push_cdata`]). `name` is
/// one of the crate's own element names, never input.
pub(crate) fn push_element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    push_cdata(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// If the UTF-8 character starting at `bytes[i]` is one XML 1.0 cannot carry
/// (production `Char`: C0 controls other than tab, LF, CR; U+FFFE, U+FFFF;
/// surrogates cannot occur in a `str`), its length in bytes; otherwise 0.
fn non_xml_len(bytes: &[u8], i: usize) -> usize {
    match bytes.get(i) {
        Some(0x00..=0x08 | 0x0B | 0x0C | 0x0E..=0x1F) => 1,
        Some(0xEF) if matches!(bytes.get(i + 1..i + 3), Some([0xBF, 0xBE | 0xBF])) => 3,
        _ => 0,
    }
}

/// Whether every character of `text` is one XML 1.0 can carry.
#[cfg(test)]
fn all_xml_chars(text: &str) -> bool {
    check_chars(text).is_some()
}

/// Whether every character of `text` is one XML 1.0 can carry (the
/// production `Char`): the check the JSON paths share with the XML reader,
/// so that both refuse the same characters.
pub(crate) fn is_xml_text(text: &str) -> bool {
    check_chars(text).is_some()
}

/// Whether `text` holds neither a character XML 1.0 cannot carry nor a
/// carriage return: a text that [`scan_canonical`] returns as the general
/// reader would (no line end to normalise), for callers that check texts
/// after the scan instead of the whole input before it.
pub(crate) fn is_plain_xml_text(text: &str) -> bool {
    check_chars(text) == Some(false)
}

/// `None` if `text` holds a character XML 1.0 cannot carry; otherwise
/// whether it holds a carriage return (whose line ends [`read`] then
/// normalises). One pass.
fn check_chars(text: &str) -> Option<bool> {
    let bytes = text.as_bytes();
    // Chunks are tested without branching (`chunk_may_have`) for a byte
    // below 0x20 other than tab and LF, and for EF BF, the start of
    // U+FFFE/U+FFFF, so that Chinese text, like ASCII, is one quiet test
    // per chunk. A flagged chunk is tested again, exactly (`chunk_has`: C0
    // controls are single bytes, and EF BF BE/BF is always U+FFFE/U+FFFF),
    // for a forbidden character, and for a CR, which is allowed; so text
    // with CR LF line ends stays on the chunked path and a hit is final.
    let mut carriage_return = false;
    let mut at = 0;
    while let Some(window) = bytes.get(at..).and_then(<[u8]>::first_chunk::<WINDOW>) {
        if chunk_may_have(window, |b| (b < 0x20) & (b != b'\t') & (b != b'\n')) {
            if chunk_has(window, is_forbidden_control) {
                return None;
            }
            carriage_return |= window
                .first_chunk::<CHUNK>()
                .is_some_and(|chunk| chunk.iter().fold(false, |cr, &b| cr | (b == b'\r')));
        }
        at += CHUNK;
    }
    let tail = check_tail(bytes.get(at..).unwrap_or_default())?;
    Some(carriage_return | tail)
}

/// [`check_chars`] of the end of a text, shorter than a [`WINDOW`]:
/// tested where it lies ([`tail_may_have`]), then, if flagged, character
/// by character. Apart from the chunk loop, so that the loop's code stays
/// as tight as it is without it.
#[inline(never)]
fn check_tail(rest: &[u8]) -> Option<bool> {
    if !tail_may_have(rest, false) {
        return Some(false);
    }
    if (0..rest.len()).any(|at| non_xml_len(rest, at) > 0) {
        return None;
    }
    Some(rest.contains(&b'\r'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn kind(input: &str) -> XmlErrorKind {
        parse(input).unwrap_err().kind()
    }

    #[test]
    fn reads_children_in_order_with_and_without_cdata() {
        let doc = parse(
            "<?xml version=\"1.0\"?>\n<xml>\n <A><![CDATA[ x ]]></A>\n<B> 12 </B><C/><D> <![CDATA[t]]></D ></xml >\n",
        )
        .unwrap();
        assert_eq!(doc.root, "xml");
        let names: Vec<_> = doc.children.iter().map(|c| &*c.name).collect();
        assert_eq!(names, ["A", "B", "C", "D"]);
        assert_eq!(doc.get("A").unwrap().text, " x ");
        assert_eq!(doc.get("B").unwrap().text, "12");
        assert_eq!(doc.get("C").unwrap().text, "");
        assert_eq!(doc.get("D").unwrap().text, "t");
        assert!(!doc.get("B").unwrap().has_ref);
    }

    #[test]
    fn resolves_predefined_and_char_refs_and_marks_them() {
        let doc = parse("<xml><A>a &amp; b&#x4e2d;&#25991; &lt;</A></xml>").unwrap();
        let a = doc.get("A").unwrap();
        assert_eq!(a.text, "a & b中文 <");
        assert!(a.has_ref);
    }

    #[test]
    fn nested_children_are_flagged_and_counted() {
        let doc = parse("<xml><P><i>1</i></P><P><i>2</i></P><Count>2</Count></xml>").unwrap();
        assert_eq!(doc.count("P"), 2);
        assert!(doc.get("P").unwrap().nested);
        assert_eq!(doc.get("P").unwrap().text, "");
        assert_eq!(doc.get("Count").unwrap().text, "2");
    }

    #[test]
    fn tree_keeps_nested_elements_in_order() {
        let doc = parse_tree(
            "<xml><E>k</E><S><PicList><item><M><![CDATA[a]]></M></item></PicList>\
             <PicList><item><M> b </M></item></PicList><Count>2</Count><Z/></S></xml>",
        )
        .unwrap();
        let names: Vec<_> = doc.children.iter().map(|c| &*c.name).collect();
        assert_eq!(names, ["E", "S"]);
        let s = doc.get("S").unwrap();
        assert!(s.nested);
        assert_eq!(s.text, "");
        let inner: Vec<_> = s.children.iter().map(|c| &*c.name).collect();
        assert_eq!(inner, ["PicList", "PicList", "Count", "Z"]);
        let m: Vec<_> = s
            .children
            .iter()
            .filter(|c| c.name == "PicList")
            .map(|p| p.children[0].children[0].text.as_ref())
            .collect();
        assert_eq!(m, ["a", "b"]);
        assert_eq!(s.children[2].text, "2");
        assert!(!s.children[3].nested);
        // The flat reader flags, but does not keep, nested elements.
        let flat = parse("<xml><S><A>1</A></S></xml>").unwrap();
        assert!(flat.get("S").unwrap().nested);
        assert!(flat.get("S").unwrap().children.is_empty());
    }

    #[test]
    fn tree_refuses_what_the_flat_reader_refuses() {
        for bad in [
            "<!DOCTYPE x><xml/>",
            "<xml><A><B>&xxe;</B></A></xml>",
            "<xml><A><B><![CDATA[a]]>b]]></B></A></xml>",
            "<xml><A><B>\u{1}</B></A></xml>",
            "<xml><A><B></A></B></xml>",
            "<xml><A><B></B></A>",
        ] {
            assert_eq!(parse_tree(bad).is_err(), parse(bad).is_err(), "{bad}");
            assert!(parse_tree(bad).is_err(), "{bad}");
        }
        // The root is level 1: 31 levels below it fit, 32 do not.
        let below = MAX_DEPTH - 1;
        let deep = format!(
            "<xml>{}{}</xml>",
            "<a>".repeat(below + 1),
            "</a>".repeat(below + 1)
        );
        assert_eq!(parse_tree(&deep).unwrap_err().kind(), XmlErrorKind::TooDeep);
        let ok = format!("<xml>{}{}</xml>", "<a>".repeat(below), "</a>".repeat(below));
        let mut node = &parse_tree(&ok).unwrap().children[0];
        let mut levels = 1;
        while let Some(next) = node.children.first() {
            node = next;
            levels += 1;
        }
        assert_eq!(levels, below);
        let deep = format!("<xml><E>x</E>{}</xml>", "<a>".repeat(200_000));
        assert_eq!(parse_tree(&deep).unwrap_err().kind(), XmlErrorKind::TooDeep);
    }

    #[test]
    fn refuses_dangerous_or_ambiguous_documents() {
        assert_eq!(
            kind(
                "<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><xml><A>&xxe;</A></xml>"
            ),
            XmlErrorKind::Doctype
        );
        assert_eq!(kind("<xml><A>&xxe;</A></xml>"), XmlErrorKind::UnknownEntity);
        assert_eq!(kind("<xml><A>&#0;</A></xml>"), XmlErrorKind::UnknownEntity);
        assert_eq!(
            kind("<xml><?pi x?></xml>"),
            XmlErrorKind::ProcessingInstruction
        );
        assert_eq!(kind("<xml></xml><xml></xml>"), XmlErrorKind::SecondRoot);
        assert_eq!(kind("<xml></xml>junk"), XmlErrorKind::StrayText);
        assert_eq!(kind("<xml>junk<A/></xml>"), XmlErrorKind::StrayText);
        assert_eq!(kind("<xml><A></B></xml>"), XmlErrorKind::Malformed);
        assert_eq!(kind("<xml><A>"), XmlErrorKind::Malformed);
        assert_eq!(kind(""), XmlErrorKind::NoRoot);
        assert_eq!(kind("   "), XmlErrorKind::NoRoot);
        let deep = format!("<xml>{}{}</xml>", "<a>".repeat(40), "</a>".repeat(40));
        assert_eq!(kind(&deep), XmlErrorKind::TooDeep);
    }

    #[test]
    fn very_deep_nesting_fails_fast_without_recursion() {
        let deep = format!("<xml><Encrypt>x</Encrypt>{}</xml>", "<a>".repeat(200_000));
        assert_eq!(kind(&deep), XmlErrorKind::TooDeep);
    }

    #[test]
    fn cdata_writer_round_trips_terminators() {
        for text in ["", "plain", "]]>", "a]]>b]]>", "]]]]>>", "<&>\"'\n中"] {
            let mut out = String::from("<xml><A>");
            push_cdata(&mut out, text);
            out.push_str("</A></xml>");
            assert_eq!(parse(&out).unwrap().get("A").unwrap().text, text, "{out}");
        }
    }

    #[test]
    fn cdata_writer_drops_before_splitting_so_no_terminator_survives() {
        // SECURITY.md T28: the dropped character must not hide a `]]>`.
        for (text, kept) in [
            ("]]\u{FFFF}>", "]]>"),
            ("]\u{FFFF}]>", "]]>"),
            ("]]\u{1}\u{FFFE}\u{b}>x", "]]>x"),
            (
                "]]\u{FFFF}></Content><MsgType>image</MsgType><Content><![CDATA[",
                "]]></Content><MsgType>image</MsgType><Content><![CDATA[",
            ),
        ] {
            let mut out = String::from("<xml><A>");
            push_cdata(&mut out, text);
            out.push_str("</A></xml>");
            let doc = parse(&out).unwrap();
            assert_eq!(doc.children.len(), 1, "{out}");
            assert_eq!(doc.get("A").unwrap().text, kept, "{out}");
        }
    }

    #[test]
    fn forbidden_characters_are_found_at_every_chunk_position() {
        for at in 0..70 {
            for bad in ["\u{1}", "\u{ffff}", "\u{fffe}"] {
                let text = format!("{}{bad}{}", "a".repeat(at), "b".repeat(40));
                assert!(!all_xml_chars(&text), "{at} {bad:?}");
            }
            let fine = format!("{}\t\u{fffd}\u{efbf}{}", "a".repeat(at), "b".repeat(40));
            assert!(all_xml_chars(&fine), "{at}");
        }
    }

    #[test]
    fn chinese_text_is_checked_and_written_exactly_at_every_position() {
        // The chunked tests match U+FFFE/U+FFFF by their three bytes: the
        // full-width `，` (EF BC 8C) shares their lead byte and `￥` (U+FFE5,
        // EF BF A5) their first two, and neither may be taken for them, at
        // any position, across chunk ends, or at the very end of the text.
        for lead in ["a", "你", "，", "￥"] {
            for at in 0..40 {
                for tail in 0..4 {
                    let (before, after) = (lead.repeat(at), "，".repeat(tail));
                    for bad in ["\u{1}", "\u{1f}", "\u{ffff}", "\u{fffe}"] {
                        let text = format!("{before}{bad}{after}");
                        assert_eq!(check_chars(&text), None, "{text:?}");
                    }
                    let fine = format!("{before}\u{fffd}\u{ffe5}\u{efbf}{after}");
                    assert_eq!(check_chars(&fine), Some(false), "{fine:?}");
                    let crlf = format!("{before}\r\n{after}");
                    assert_eq!(check_chars(&crlf), Some(true), "{crlf:?}");
                    let mut out = String::new();
                    push_cdata(&mut out, &format!("{before}\u{ffff}]]\u{fffe}>{after}"));
                    assert_eq!(out, format!("<![CDATA[{before}]]]]><![CDATA[>{after}]]>"));
                    out.clear();
                    push_cdata(&mut out, &fine);
                    assert_eq!(out, format!("<![CDATA[{fine}]]>"));
                }
            }
        }
    }

    #[test]
    fn refuses_terminator_in_text_and_forbidden_characters() {
        assert_eq!(
            kind("<xml><A><![CDATA[a]]>b]]></A></xml>"),
            XmlErrorKind::Malformed
        );
        assert_eq!(kind("<xml><A>b]]></A></xml>"), XmlErrorKind::Malformed);
        for bad in ["\u{0}", "\u{8}", "\u{b}", "\u{1f}", "\u{fffe}", "\u{ffff}"] {
            assert_eq!(
                kind(&format!("<xml><A>{bad}</A></xml>")),
                XmlErrorKind::InvalidChar
            );
        }
        // Allowed neighbours of the forbidden ranges.
        let ok = "<xml><A>\t\u{fffd}\u{10000}\u{efbf}</A></xml>";
        assert!(parse(ok).is_ok());
    }

    /// What the canonical scan returns, the general reader returns too; an
    /// input it declines goes to the general reader anyway.
    fn scan_agrees(input: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        let Some(carriage_return) = check_chars(input) else {
            return Ok(());
        };
        if let Some(fast) = read_canonical(input, carriage_return) {
            proptest::prop_assert_eq!(read_general(input, true), Ok(fast.clone()), "{:?}", input);
            proptest::prop_assert_eq!(read_general(input, false), Ok(fast), "{:?}", input);
        }
        Ok(())
    }

    const PIECES: &[&str] = &[
        "<xml>",
        "</xml>",
        "<A>",
        "</A>",
        "<B>",
        "</B>",
        "<A >",
        "</A >",
        "<A/>",
        "<a.b>",
        "</a.b>",
        "<1>",
        "</1>",
        "<:x>",
        "</:x>",
        "<xml a=\"1\">",
        "<![CDATA[",
        "]]>",
        "]]",
        "]",
        ">",
        "<",
        "&amp;",
        "&#65;",
        "&",
        "x",
        "中",
        " ",
        "\n",
        "\r",
        "\t",
        "<?xml version=\"1.0\"?>",
        "<!-- c -->",
        "<!DOCTYPE x>",
        "\u{feff}",
        "\u{1}",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// The word-wise test of short ends flags every byte sequence the
        /// byte-wise rule flags (a byte below 0x20, `]` when asked, EF BF),
        /// at every position and length, across the 8-byte words.
        #[test]
        fn tail_test_misses_nothing(
            tail in proptest::collection::vec(
                proptest::sample::select(vec![b'a', b']', b'\t', b'\r', 0x01, 0x1f, 0x20, 0xEF, 0xBF, 0xBE, 0xE4]),
                0..34,
            ),
            bracket in proptest::bool::ANY,
        ) {
            let rule = tail.iter().any(|&b| b < 0x20 || (bracket && b == b']'))
                || tail.windows(2).any(|w| w == [0xEF, 0xBF]);
            proptest::prop_assert_eq!(tail_may_have(&tail, bracket), rule, "{:?}", tail);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        #[test]
        fn canonical_scan_agrees_on_token_soup(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 0..28)
        ) {
            scan_agrees(&pieces.concat())?;
        }

        #[test]
        fn canonical_scan_reads_vendor_shaped_documents(
            lead in proptest::sample::select(&["", " ", "\n", "\t "][..]),
            children in proptest::collection::vec(
                (
                    proptest::sample::select(&["A", "MsgType", "a-b.c", ":x", "_1", "Content"][..]),
                    "[ a-z\\]>&<\r\n\t中]{0,10}",
                    proptest::bool::ANY,
                    proptest::sample::select(&["", " ", "\n  "][..]),
                ),
                0..6,
            ),
        ) {
            let mut input = format!("{lead}<xml>");
            let mut clean = true;
            for (name, text, cdata, gap) in &children {
                input.push_str(gap);
                if *cdata {
                    input.push_str(&format!("<{name}><![CDATA[{text}]]></{name}>"));
                    clean &= !text.contains("]]>");
                } else {
                    input.push_str(&format!("<{name}>{text}</{name}>"));
                    clean &= !text.contains(['&', '<']) && !text.contains("]]>");
                }
            }
            input.push_str("</xml>");
            input.push_str(lead);
            scan_agrees(&input)?;
            // The scan is what reads such documents (the fast path fires),
            // carriage returns included.
            let scanned = check_chars(&input)
                .is_some_and(|carriage_return| read_canonical(&input, carriage_return).is_some());
            proptest::prop_assert_eq!(scanned, clean, "{:?}", input);
        }
    }

    #[test]
    fn trims_only_xml_whitespace_and_keeps_characters_whole() {
        assert_eq!(trim_xml_space(" \t\r\n中文 é\n "), "中文 é");
        assert_eq!(trim_xml_space("\u{a0}x\u{c}"), "\u{a0}x\u{c}");
        assert_eq!(trim_xml_space(" \n\t "), "");
        assert_eq!(trim_xml_space(""), "");
        assert_eq!(trim_start_xml_space("  a b  "), "a b  ");
    }

    #[test]
    fn text_writer_escapes_and_drops_as_before_on_every_path() {
        let mut out = String::new();
        push_text(&mut out, "1409659813");
        push_text(&mut out, "a<b&c>d\u{1}e\u{FFFE}f\tg");
        assert_eq!(out, "1409659813a&lt;b&amp;c&gt;def\tg");
    }

    #[test]
    fn line_ends_normalise_as_xml_says() {
        for (text, normalised) in [
            ("", ""),
            ("a", "a"),
            ("\r", "\n"),
            ("\r\n", "\n"),
            ("\n\r", "\n\n"),
            ("\r\r\n", "\n\n"),
            ("a\r\nb\rc\n", "a\nb\nc\n"),
            ("中\r文\r\n", "中\n文\n"),
        ] {
            assert_eq!(normalize_line_ends(text), normalised, "{text:?}");
        }
    }

    #[test]
    fn cdata_end_is_the_first_terminator() {
        for (text, end) in [
            ("", None),
            ("]]>", Some(0)),
            ("a]]>b]]>", Some(1)),
            ("]]]]>", Some(2)),
            ("]>]]>", Some(2)),
            ("> ]> ]]", None),
            ("中]]>", Some(3)),
        ] {
            assert_eq!(find_cdata_end(text), end, "{text:?}");
            assert_eq!(find_cdata_end(text), text.find("]]>"), "{text:?}");
        }
    }

    #[test]
    fn canonical_scan_borrows_and_declines_what_it_does_not_read() {
        let input = "<xml><ToUserName><![CDATA[ww1]]></ToUserName>\n<AgentID> 1 </AgentID></xml>";
        let doc = read_canonical(input, false).unwrap();
        assert!(
            doc.children
                .iter()
                .all(|c| matches!(c.text, Cow::Borrowed(_)))
        );
        assert_eq!(doc, read_general(input, false).unwrap());
        // Carriage returns: the scan normalises line ends as the general
        // reader does, copying only the texts that hold one.
        let crlf = "<xml>\r\n<A>a\r\nb</A>\r\n<B><![CDATA[c\rd\r\r\ne]]></B><C>f</C></xml>\r\n";
        assert_eq!(check_chars(crlf), Some(true));
        let doc = read_canonical(crlf, true).unwrap();
        let texts: Vec<&str> = doc.children.iter().map(|c| &*c.text).collect();
        assert_eq!(texts, ["a\nb", "c\nd\n\ne", "f"]);
        let owned: Vec<bool> = doc
            .children
            .iter()
            .map(|c| matches!(c.text, Cow::Owned(_)))
            .collect();
        assert_eq!(owned, [true, true, false]);
        assert_eq!(doc, read_general(crlf, false).unwrap());
        assert_eq!(parse(crlf).unwrap(), doc);
        for declined in [
            "<?xml version=\"1.0\"?><xml><A>1</A></xml>",
            "<xml><A>a &amp; b</A></xml>",
            "<xml><A><B>1</B></A></xml>",
            "<xml><A/></xml>",
            "<xml><A>1</A ></xml>",
            "<xml><A> <![CDATA[1]]></A></xml>",
            "<xml><A><![CDATA[1]]> </A></xml>",
            "<xml><A>1</A><!-- c --></xml>",
            "<root><A>1</A></root>",
            "<xml><A>1</B></xml>",
            "<xml><A>b]]></A></xml>",
        ] {
            assert!(read_canonical(declined, false).is_none(), "{declined}");
            assert!(read_canonical(declined, true).is_none(), "{declined}");
        }
    }

    #[test]
    fn cdata_writer_drops_characters_xml_cannot_carry() {
        let mut out = String::new();
        push_cdata(&mut out, "a\u{0}b\u{1b}c\u{fffe}");
        assert_eq!(out, "<![CDATA[abc]]>");
    }
}
