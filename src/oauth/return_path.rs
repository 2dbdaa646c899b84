//! [`ReturnPath`]: where the browser goes after signing in, checked so that
//! it can only be a page of this site (no open redirect).

use std::fmt;

/// A same-origin relative URL (`/path?query`), the only kind of place the
/// layer sends a browser back to after signing in.
///
/// Accepted: a `/` followed by printable ASCII other than `\`, where the
/// second character is not `/`. Refused, since a browser would leave the
/// site or read it differently than this check:
///
/// * absolute URLs (`https://evil.example/`), scheme-relative ones
///   (`//evil.example`) and anything not starting with `/`;
/// * `/\evil.example` and any `\` (browsers read `\` as `/` in special
///   URLs, WHATWG URL Standard, "special authority slashes" state);
/// * control characters, spaces, non-ASCII bytes (a path from a request URI
///   is percent-encoded already) and `#`;
/// * more than [`MAX_LEN`](Self::MAX_LEN) bytes (the path rides inside the
///   128-character `state`).
///
/// ```
/// use wecom_callback::oauth::ReturnPath;
///
/// assert_eq!(ReturnPath::parse("/orders/42?tab=%E8%AF%A6").unwrap().as_str(), "/orders/42?tab=%E8%AF%A6");
/// for evil in ["//evil.example", "/\\evil.example", "https://evil.example/", "evil", "/a\r\nb", ""] {
///     assert!(ReturnPath::parse(evil).is_none(), "{evil:?}");
/// }
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ReturnPath(String);

impl ReturnPath {
    /// The longest accepted return path in bytes: what is left of the
    /// 128-character `state` after its fixed fields (see the `state`
    /// layout in [`oauth`](crate::oauth)).
    pub const MAX_LEN: usize = 68;

    /// `path` if it is a same-origin relative path (see the type's docs),
    /// else `None`.
    #[must_use]
    pub fn parse(path: &str) -> Option<Self> {
        let bytes = path.as_bytes();
        let ok = bytes.len() <= Self::MAX_LEN
            && bytes.first() == Some(&b'/')
            && !matches!(bytes.get(1), Some(b'/' | b'\\'))
            && bytes
                .iter()
                .all(|&b| b.is_ascii_graphic() && b != b'\\' && b != b'#');
        ok.then(|| Self(path.to_owned()))
    }

    /// The site's root, `/`.
    #[must_use]
    pub fn root() -> Self {
        Self("/".to_owned())
    }

    /// Where to return after a login started by a request for
    /// `path_and_query`: that URL if it is a valid return path, else its
    /// path alone, else `/` (a longer URL cannot ride in `state`).
    #[must_use]
    pub fn for_request(path_and_query: &str) -> Self {
        Self::parse(path_and_query)
            .or_else(|| {
                path_and_query
                    .split_once('?')
                    .and_then(|(path, _)| Self::parse(path))
            })
            .unwrap_or_else(Self::root)
    }

    /// The path as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ReturnPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReturnPath").field(&self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn open_redirects_are_refused() {
        for evil in [
            "//evil.example",
            "//evil.example/path",
            "/\\evil.example",
            "\\\\evil.example",
            "/a\\b",
            "https://evil.example/",
            "http:/evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
            " /x",
            "/x y",
            "/a\tb",
            "/a\r\nLocation: https://evil.example",
            "/a\0",
            "/a\x7f",
            "/你好",
            "/x#frag",
        ] {
            assert_eq!(ReturnPath::parse(evil), None, "{evil:?}");
        }
    }

    #[test]
    fn site_paths_are_kept() {
        for good in [
            "/",
            "/me",
            "/a/b?c=d&e=%2F%2Fevil",
            "/%E4%BD%A0%E5%A5%BD",
            "/./x",
        ] {
            assert_eq!(ReturnPath::parse(good).unwrap().as_str(), good);
        }
    }

    proptest::proptest! {
        /// Whatever is accepted stays on this site: it starts with one `/`
        /// not followed by `/` or `\`, and holds only visible ASCII without
        /// `\` or `#`.
        #[test]
        fn accepted_paths_are_same_origin(path in "[/\\\\]{0,3}(?s:.{0,80})") {
            if let Some(accepted) = ReturnPath::parse(&path) {
                let text = accepted.as_str();
                proptest::prop_assert!(text.starts_with('/'));
                proptest::prop_assert!(!text.starts_with("//") && !text.starts_with("/\\"));
                proptest::prop_assert!(text.bytes().all(|b| b.is_ascii_graphic() && b != b'\\' && b != b'#'));
                proptest::prop_assert!(text.len() <= ReturnPath::MAX_LEN);
            }
            let fallback = ReturnPath::for_request(&path);
            proptest::prop_assert!(fallback.as_str().starts_with('/'));
            proptest::prop_assert!(ReturnPath::parse(fallback.as_str()).is_some());
        }
    }

    #[test]
    fn long_requests_fall_back() {
        let long_query = format!("/me?{}", "q".repeat(100));
        assert_eq!(ReturnPath::for_request(&long_query).as_str(), "/me");
        let long_path = format!("/{}", "p".repeat(100));
        assert_eq!(ReturnPath::for_request(&long_path).as_str(), "/");
        assert_eq!(ReturnPath::for_request("//evil").as_str(), "/");
        let max = format!("/{}", "m".repeat(ReturnPath::MAX_LEN - 1));
        assert_eq!(ReturnPath::for_request(&max).as_str(), max);
    }
}
