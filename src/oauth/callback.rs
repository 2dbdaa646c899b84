//! The callback's steps as types, so that a `code` whose `state` was not
//! checked cannot reach the exchange (the model is oauth2-rs's typed flow):
//!
//! ```text
//! CallbackQuery ──verify(state, nonce cookie, clock)──▶ VerifiedState
//!     ──claim(dedup store)──▶ FreshLogin { VerifiedCode, LoginState }
//! ```
//!
//! Only [`FreshLogin`] hands out the [`VerifiedCode`] that
//! [`LoginProvider::exchange`](super::LoginProvider::exchange) takes, and
//! its constructor is private to this module.

use std::time::Duration;

use super::exchange::VerifiedCode;
use super::rejection::OAuthRejectionKind;
use super::state::{BrowserNonce, LoginState, StateSigner};
use crate::dedup::{Claim, DedupKey, DedupStore};

/// The longest `code` accepted: WeCom's documented maximum ("code长度最大为512字节",
/// doc 构造网页授权链接).
pub(crate) const MAX_CODE_LEN: usize = 512;

/// The dedup store's app names for used states and codes.
const STATE_APP: &str = "oauth-state";
const CODE_APP: &str = "oauth-code";

/// The callback's query, unchecked.
#[derive(Debug)]
pub(crate) struct CallbackQuery {
    code: Option<String>,
    state: String,
}

impl CallbackQuery {
    /// Reads `code` and `state`, each at most once. Other parameters (the
    /// QR login adds `appid`) are ignored.
    pub(crate) fn parse(query: Option<&str>) -> Result<Self, OAuthRejectionKind> {
        let mut code = None;
        let mut state = None;
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let slot = match &*name {
                "code" => &mut code,
                "state" => &mut state,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(OAuthRejectionKind::BadCallback);
            }
        }
        let code = code.filter(|c| !c.is_empty());
        if let Some(code) = &code {
            if code.len() > MAX_CODE_LEN || !code.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(OAuthRejectionKind::BadCallback);
            }
        }
        let state = state.ok_or(OAuthRejectionKind::BadCallback)?;
        Ok(Self { code, state })
    }

    /// Checks the `state` against this browser's nonce cookie and the
    /// clock; then requires a `code` (its absence after a valid state is a
    /// declined consent).
    pub(crate) fn verify(
        self,
        signer: &StateSigner,
        nonce: Option<&BrowserNonce>,
        now: u64,
        ttl: Duration,
    ) -> Result<VerifiedState, OAuthRejectionKind> {
        let opened = signer
            .open(&self.state, nonce, now, ttl.as_secs())
            .map_err(OAuthRejectionKind::State)?;
        let code = self.code.ok_or(OAuthRejectionKind::ConsentDenied)?;
        Ok(VerifiedState {
            code,
            state: opened.state,
            tag: opened.tag,
        })
    }
}

/// A callback whose `state` verified, not yet known to be its first use.
#[derive(Debug)]
pub(crate) struct VerifiedState {
    code: String,
    state: LoginState,
    tag: [u8; 16],
}

impl VerifiedState {
    /// Marks the state and the code as used in `store`, for `ttl` (the
    /// state lifetime; a code lives about five minutes, WeChat doc
    /// 网页授权). Fails with [`OAuthRejectionKind::Replayed`] when either
    /// was used before, here or on any instance sharing the store.
    pub(crate) async fn claim(
        self,
        store: &dyn DedupStore,
        ttl: Duration,
    ) -> Result<FreshLogin, OAuthRejectionKind> {
        let name = hex::encode(self.tag);
        let state_key =
            DedupKey::msg_id(STATE_APP, &name).ok_or(OAuthRejectionKind::BadCallback)?;
        let code_key = DedupKey::digest(CODE_APP, self.code.as_bytes());
        for key in [&state_key, &code_key] {
            match store.claim(key, ttl).await {
                Ok(Claim::New(_)) => {}
                Ok(_) => return Err(OAuthRejectionKind::Replayed),
                Err(_) => return Err(OAuthRejectionKind::StoreUnavailable),
            }
        }
        Ok(FreshLogin {
            code: VerifiedCode(self.code),
            state: self.state,
        })
    }
}

/// A first use of a verified state: the code may be exchanged, once.
#[derive(Debug)]
pub(crate) struct FreshLogin {
    pub(crate) code: VerifiedCode,
    pub(crate) state: LoginState,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::dedup::MemoryDedupStore;
    use crate::oauth::flow::Flow;
    use crate::oauth::return_path::ReturnPath;

    const NOW: u64 = 1_796_000_000;
    const TTL: Duration = Duration::from_secs(600);

    fn state(nonce: &BrowserNonce, salt: u8) -> String {
        let login = LoginState {
            flow: Flow::OfficialAccount,
            issued_at: NOW,
            return_path: ReturnPath::root(),
        };
        StateSigner::new(&[1; 32])
            .unwrap()
            .seal(&login, [salt; 4], nonce)
    }

    #[test]
    fn query_shapes() {
        assert_eq!(
            CallbackQuery::parse(Some("code=a&code=b&state=s")).unwrap_err(),
            OAuthRejectionKind::BadCallback
        );
        assert_eq!(
            CallbackQuery::parse(Some("code=a")).unwrap_err(),
            OAuthRejectionKind::BadCallback
        );
        assert_eq!(
            CallbackQuery::parse(None).unwrap_err(),
            OAuthRejectionKind::BadCallback
        );
        let long = format!("code={}&state=s", "c".repeat(513));
        assert_eq!(
            CallbackQuery::parse(Some(&long)).unwrap_err(),
            OAuthRejectionKind::BadCallback
        );
        assert_eq!(
            CallbackQuery::parse(Some("code=a%0Ab&state=s")).unwrap_err(),
            OAuthRejectionKind::BadCallback
        );
        assert!(CallbackQuery::parse(Some("code=abc&state=s&appid=ww")).is_ok());
    }

    #[tokio::test]
    async fn single_use_of_state_and_code() {
        let signer = StateSigner::new(&[1; 32]).unwrap();
        let nonce = BrowserNonce::from_bytes([3; 16]);
        let store = MemoryDedupStore::new();
        let s1 = state(&nonce, 1);
        let query = format!("code=CODE1&state={s1}");
        let step = |q: &str| {
            CallbackQuery::parse(Some(q))
                .unwrap()
                .verify(&signer, Some(&nonce), NOW, TTL)
                .unwrap()
        };
        let fresh = step(&query).claim(&store, TTL).await.unwrap();
        assert_eq!(fresh.code.secret(), "CODE1");
        // The same state again: replayed.
        assert_eq!(
            step(&query).claim(&store, TTL).await.unwrap_err(),
            OAuthRejectionKind::Replayed
        );
        // The same code with a fresh state: replayed (a code is exchanged once).
        let s2 = state(&nonce, 2);
        let again = format!("code=CODE1&state={s2}");
        assert_eq!(
            step(&again).claim(&store, TTL).await.unwrap_err(),
            OAuthRejectionKind::Replayed
        );
        // No code after a valid state: consent denied.
        let denied = CallbackQuery::parse(Some(&format!("state={s2}"))).unwrap();
        assert_eq!(
            denied.verify(&signer, Some(&nonce), NOW, TTL).unwrap_err(),
            OAuthRejectionKind::ConsentDenied
        );
    }
}
