//! The two cookies of web login, both in the `cookie` crate's private jar
//! (AES-256-GCM: encrypted and authenticated, the cookie's name bound as
//! associated data, so a value cannot be moved to the other cookie):
//!
//! * the **session** cookie: the signed-in user as compact JSON with its
//!   expiry (Unix seconds) inside, so a browser that keeps the cookie past
//!   its `Max-Age` still gets no session;
//! * the **nonce** cookie: 16 random bytes that every `state` this browser
//!   starts is bound to (see [`state`](super::state)).
//!
//! Both are `HttpOnly`, `SameSite=Lax` (the vendor's redirect back is a
//! cross-site top-level navigation: `Strict` cookies would not come back)
//! and `Path=/`; with `Secure` on (the default) they are also `Secure`
//! and named with the `__Host-` prefix, which browsers only accept from a
//! secure origin, without `Domain`, on `/` (RFC 6265bis, cookie prefixes).
//! A cookie that does not decrypt, is not ours, or has expired is ignored:
//! no session, never an error.

use std::fmt;

use cookie::{Cookie, CookieJar, Key, SameSite};
use http::HeaderMap;
use http::header::{COOKIE, HeaderValue};

use super::identity::SignedInUser;
use super::state::BrowserNonce;

const SESSION: &str = "wecom_oauth_session";
const NONCE: &str = "wecom_oauth_nonce";
const SECURE_SESSION: &str = "__Host-wecom_oauth_session";
const SECURE_NONCE: &str = "__Host-wecom_oauth_nonce";

/// The cookie settings and key. `Debug` prints no key byte.
#[derive(Clone)]
pub(crate) struct Cookies {
    key: Key,
    pub(crate) secure: bool,
    pub(crate) session_ttl_secs: u64,
    pub(crate) nonce_ttl_secs: u64,
}

impl fmt::Debug for Cookies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cookies")
            .field("key", &"..")
            .field("secure", &self.secure)
            .field("session_ttl_secs", &self.session_ttl_secs)
            .field("nonce_ttl_secs", &self.nonce_ttl_secs)
            .finish()
    }
}

/// What the request's cookies say.
#[derive(Debug, Default)]
pub(crate) struct Read {
    pub(crate) user: Option<SignedInUser>,
    pub(crate) nonce: Option<BrowserNonce>,
}

impl Cookies {
    pub(crate) fn new(key: Key) -> Self {
        Self {
            key,
            secure: true,
            session_ttl_secs: 8 * 3600,
            nonce_ttl_secs: 600,
        }
    }

    fn names(&self) -> (&'static str, &'static str) {
        if self.secure {
            (SECURE_SESSION, SECURE_NONCE)
        } else {
            (SESSION, NONCE)
        }
    }

    /// Reads the session (valid at `now`, Unix seconds) and the nonce
    /// from the `Cookie` headers; anything that does not decrypt is
    /// skipped.
    pub(crate) fn read(&self, headers: &HeaderMap, now: u64) -> Read {
        let (session_name, nonce_name) = self.names();
        let jar = CookieJar::new();
        let private = jar.private(&self.key);
        let mut read = Read::default();
        let values = headers.get_all(COOKIE).iter();
        for cookie in values
            .filter_map(|v| v.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
        {
            let name = cookie.name();
            if name != session_name && name != nonce_name {
                continue;
            }
            let is_session = name == session_name;
            let Some(plain) = private.decrypt(cookie.into_owned()) else {
                continue;
            };
            if is_session {
                if read.user.is_none() {
                    read.user = SignedInUser::from_json(plain.value())
                        .filter(|user| user.expires_at() > now);
                }
            } else if read.nonce.is_none() {
                read.nonce = decode_nonce(plain.value());
            }
        }
        read
    }

    fn build(&self, name: &'static str, value: String, max_age: u64) -> Cookie<'static> {
        let max_age = i64::try_from(max_age).unwrap_or(i64::MAX);
        Cookie::build((name, value))
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .max_age(cookie::time::Duration::seconds(max_age))
            .build()
    }

    fn sealed(&self, cookie: Cookie<'static>) -> Option<HeaderValue> {
        let mut jar = CookieJar::new();
        jar.private_mut(&self.key).add(cookie);
        let sealed = jar.delta().next()?.to_string();
        HeaderValue::from_str(&sealed).ok()
    }

    /// `Set-Cookie` for the session of `user` (expires at its
    /// `expires_at`, `now` being the current Unix time).
    pub(crate) fn session(&self, user: &SignedInUser, now: u64) -> Option<HeaderValue> {
        let (name, _) = self.names();
        let max_age = user.expires_at().saturating_sub(now);
        self.sealed(self.build(name, user.to_json(), max_age))
    }

    /// `Set-Cookie` headers that remove the session and the nonce cookie
    /// (empty value, `Max-Age=0`, an expiry in the past, the same name,
    /// path and attributes as when they were set).
    pub(crate) fn removals(&self) -> impl Iterator<Item = HeaderValue> {
        let (session, nonce) = self.names();
        [session, nonce].into_iter().filter_map(|name| {
            let mut cookie = self.build(name, String::new(), 0);
            cookie.make_removal();
            HeaderValue::from_str(&cookie.to_string()).ok()
        })
    }

    /// `Set-Cookie` for the nonce.
    pub(crate) fn nonce(&self, nonce: &BrowserNonce) -> Option<HeaderValue> {
        let (_, name) = self.names();
        self.sealed(self.build(name, encode_nonce(nonce), self.nonce_ttl_secs))
    }
}

fn encode_nonce(nonce: &BrowserNonce) -> String {
    hex::encode(nonce.0)
}

fn decode_nonce(text: &str) -> Option<BrowserNonce> {
    let mut out = [0u8; 16];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(BrowserNonce(out))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::oauth::flow::Flow;
    use crate::oauth::identity::{Identity, Profile};

    fn cookies() -> Cookies {
        Cookies::new(Key::from(&[42; 64]))
    }

    fn user(expires_at: u64) -> SignedInUser {
        Identity {
            app_id: "wwcorp".into(),
            user_id: Some("lisi".into()),
            open_id: None,
            union_id: None,
            profile: Profile::default(),
        }
        .into_user(Flow::WeComWeb, expires_at)
    }

    /// The `name=value` part of a `Set-Cookie`.
    fn pair(set_cookie: &HeaderValue) -> String {
        set_cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    }

    fn request(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(cookie).unwrap());
        headers
    }

    #[test]
    fn attributes() {
        let set = cookies().session(&user(2000), 1000).unwrap();
        let text = set.to_str().unwrap();
        assert!(text.starts_with("__Host-wecom_oauth_session="), "{text}");
        for attribute in [
            "HttpOnly",
            "SameSite=Lax",
            "Secure",
            "Path=/",
            "Max-Age=1000",
        ] {
            assert!(text.contains(attribute), "{attribute} in {text}");
        }
        assert!(!text.contains("lisi"), "encrypted: {text}");
        let mut dev = cookies();
        dev.secure = false;
        let text = dev.session(&user(2000), 1000).unwrap();
        let text = text.to_str().unwrap();
        assert!(
            text.starts_with("wecom_oauth_session=") && !text.contains("Secure"),
            "{text}"
        );
        assert!(text.contains("HttpOnly") && text.contains("SameSite=Lax"));
    }

    #[test]
    fn round_trip_expiry_and_tampering() {
        let c = cookies();
        let session = pair(&c.session(&user(2000), 1000).unwrap());
        let nonce = pair(&c.nonce(&BrowserNonce([5; 16])).unwrap());
        let both = format!("other=1; {session}; {nonce}");
        let read = c.read(&request(&both), 1500);
        assert_eq!(read.user, Some(user(2000)));
        assert_eq!(read.nonce, Some(BrowserNonce([5; 16])));
        // Expired inside, whatever the browser kept.
        assert_eq!(c.read(&request(&session), 2000).user, None);
        // Every altered character, and another key: no session, no panic.
        for i in session.find('=').unwrap() + 1..session.len() {
            let mut bytes = session.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let forged = String::from_utf8(bytes).unwrap();
            assert_eq!(c.read(&request(&forged), 1500).user, None, "position {i}");
        }
        let other = Cookies::new(Key::from(&[43; 64]));
        assert_eq!(other.read(&request(&session), 1500).user, None);
        // A sealed nonce does not pass as a session (name bound in).
        let moved = nonce.replace("wecom_oauth_nonce", "wecom_oauth_session");
        assert_eq!(c.read(&request(&moved), 1500).user, None);
        // Garbage.
        for junk in [
            "__Host-wecom_oauth_session=",
            "__Host-wecom_oauth_session=%%%",
            "=;;=",
            "a",
        ] {
            assert_eq!(c.read(&request(junk), 1500).user, None);
        }
    }

    #[test]
    fn debug_hides_key() {
        let text = format!("{:?}", cookies());
        assert!(!text.contains("42"), "{text}");
    }
}
