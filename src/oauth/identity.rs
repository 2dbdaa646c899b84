//! [`SignedInUser`]: who signed in, as the layer hands it to handlers.

use std::fmt;

use serde_json::{Map, Value};

use super::flow::Flow;

/// The user a request is signed in as, read from the session cookie by
/// [`OAuthLayer`](super::OAuthLayer) and put into the request extensions.
/// With the `axum` feature it is also an extractor.
///
/// Holds identifiers and, when the scope gave them, profile fields; never a
/// code or a token. `Debug` prints the identifiers but none of the profile
/// fields (mobile, email: personal data).
#[derive(Clone, PartialEq, Eq)]
pub struct SignedInUser {
    pub(crate) flow: Flow,
    pub(crate) app_id: String,
    pub(crate) user_id: Option<String>,
    pub(crate) open_id: Option<String>,
    pub(crate) union_id: Option<String>,
    pub(crate) profile: Profile,
    pub(crate) expires_at: u64,
}

/// Profile fields, present when the login's scope gave them
/// (`snsapi_privateinfo`: WeCom doc 获取访问用户敏感信息;
/// `snsapi_userinfo`: WeChat doc 网页授权, 拉取用户信息).
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Profile {
    /// WeChat `nickname`; WeCom `name` where getuserdetail gives one.
    pub nickname: Option<String>,
    /// Avatar URL (WeCom `avatar`, WeChat `headimgurl`).
    pub avatar: Option<String>,
    /// WeCom `mobile`.
    pub mobile: Option<String>,
    /// WeCom `email`.
    pub email: Option<String>,
    /// WeCom `gender` (`"0"` undefined, `"1"` male, `"2"` female); WeChat
    /// `sex` as a string.
    pub gender: Option<String>,
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields = [
            ("nickname", self.nickname.is_some()),
            ("avatar", self.avatar.is_some()),
            ("mobile", self.mobile.is_some()),
            ("email", self.email.is_some()),
            ("gender", self.gender.is_some()),
        ];
        let mut list = f.debug_list();
        for (name, present) in fields {
            if present {
                list.entry(&format_args!("{name}"));
            }
        }
        list.finish()
    }
}

impl SignedInUser {
    /// Who signed in: `userid` for a WeCom member, else `openid`. The
    /// identifier the vendor gave for this app; never empty.
    #[must_use]
    pub fn id(&self) -> &str {
        self.user_id
            .as_deref()
            .or(self.open_id.as_deref())
            .unwrap_or_default()
    }

    /// The flow the user signed in through.
    #[must_use]
    pub fn flow(&self) -> Flow {
        self.flow
    }

    /// The corp id (WeCom) or the Official Account's `appid`.
    #[must_use]
    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// WeCom member `userid` (WeCom doc 获取访问用户身份).
    #[must_use]
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// `openid`: a WeChat user of an Official Account, or a WeCom visitor
    /// who is not a member.
    #[must_use]
    pub fn open_id(&self) -> Option<&str> {
        self.open_id.as_deref()
    }

    /// `unionid` when the vendor gave one (WeChat, Open Platform bound).
    #[must_use]
    pub fn union_id(&self) -> Option<&str> {
        self.union_id.as_deref()
    }

    /// Profile fields the scope gave.
    #[must_use]
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// When the session ends, Unix seconds.
    #[must_use]
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// The session cookie's plaintext (before encryption): compact JSON.
    pub(crate) fn to_json(&self) -> String {
        let mut map = Map::new();
        map.insert("v".into(), Value::from(1));
        map.insert("f".into(), Value::from(self.flow.tag()));
        map.insert("a".into(), Value::from(self.app_id.as_str()));
        map.insert("x".into(), Value::from(self.expires_at));
        let optional = [
            ("u", &self.user_id),
            ("o", &self.open_id),
            ("n", &self.union_id),
            ("nick", &self.profile.nickname),
            ("img", &self.profile.avatar),
            ("tel", &self.profile.mobile),
            ("mail", &self.profile.email),
            ("g", &self.profile.gender),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                map.insert(key.into(), Value::from(value.as_str()));
            }
        }
        Value::Object(map).to_string()
    }

    /// Reads [`to_json`](Self::to_json)'s output; `None` for anything else
    /// or a session without an identifier.
    pub(crate) fn from_json(text: &str) -> Option<Self> {
        let value: Value = serde_json::from_str(text).ok()?;
        let map = value.as_object()?;
        if map.get("v")?.as_u64()? != 1 {
            return None;
        }
        let flow = Flow::from_tag(u8::try_from(map.get("f")?.as_u64()?).ok()?)?;
        let text = |key: &str| map.get(key).and_then(Value::as_str).map(str::to_owned);
        let user = Self {
            flow,
            app_id: text("a")?,
            expires_at: map.get("x")?.as_u64()?,
            user_id: text("u"),
            open_id: text("o"),
            union_id: text("n"),
            profile: Profile {
                nickname: text("nick"),
                avatar: text("img"),
                mobile: text("tel"),
                email: text("mail"),
                gender: text("g"),
            },
        };
        (!user.id().is_empty()).then_some(user)
    }
}

impl fmt::Debug for SignedInUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedInUser")
            .field("flow", &self.flow)
            .field("app_id", &self.app_id)
            .field("user_id", &self.user_id)
            .field("open_id", &self.open_id)
            .field("union_id", &self.union_id)
            .field("profile", &self.profile)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Who the vendor says signed in, before the layer gives the session its
/// expiry: what a [`LoginProvider`](super::LoginProvider) returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The app the user signed in to: corp id or `appid`.
    pub app_id: String,
    /// WeCom member `userid`.
    pub user_id: Option<String>,
    /// `openid`.
    pub open_id: Option<String>,
    /// `unionid`.
    pub union_id: Option<String>,
    /// Profile fields.
    pub profile: Profile,
}

impl Identity {
    pub(crate) fn into_user(self, flow: Flow, expires_at: u64) -> SignedInUser {
        SignedInUser {
            flow,
            app_id: self.app_id,
            user_id: self.user_id.filter(|s| !s.is_empty()),
            open_id: self.open_id.filter(|s| !s.is_empty()),
            union_id: self.union_id.filter(|s| !s.is_empty()),
            profile: self.profile,
            expires_at,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn json_round_trip_and_debug() {
        let user = Identity {
            app_id: "wwcorp".into(),
            user_id: Some("zhangsan 张三".into()),
            open_id: None,
            union_id: None,
            profile: Profile {
                mobile: Some("13800000000".into()),
                ..Profile::default()
            },
        }
        .into_user(Flow::WeComApp, 1_800_000_000);
        let back = SignedInUser::from_json(&user.to_json()).unwrap();
        assert_eq!(back, user);
        assert_eq!(back.id(), "zhangsan 张三");
        let debug = format!("{user:?}");
        assert!(!debug.contains("13800000000"), "{debug}");
        assert!(debug.contains("mobile"));
        assert_eq!(SignedInUser::from_json("{}"), None);
        assert_eq!(
            SignedInUser::from_json(r#"{"v":1,"f":1,"a":"w","x":1}"#),
            None
        );
    }
}
