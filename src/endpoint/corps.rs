//! [`SharedCorpList`]: the authorized corps of a WeCom third-party data
//! callback as a list that changes while the server runs.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

/// A list of corp ids shared between a data callback's endpoint
/// ([`AuthorizedCorps::shared`](super::AuthorizedCorps::shared)) and the
/// code that learns of installs and removals, e.g. the handler of the
/// suite's instruction callback on `create_auth` (once the permanent code
/// is exchanged) and `cancel_auth`. Clones share one list; adding or
/// removing a corp takes effect on the next POST, with no lock of yours.
///
/// The ids are WeCom corp ids (`ww…`/`wx…`): the receive id a data
/// callback's POST is encrypted with is the authorized corp's corpid
/// (WeCom staff answer on the data callback URL, 数据回调URL, quoted in
/// [`Endpoint::wecom_suite_data`](super::Endpoint::wecom_suite_data)).
/// Installs and removals arrive as the suite's `create_auth` and
/// `cancel_auth` pushes (WeCom doc 授权成功通知, 取消授权通知).
///
/// Reads and writes go through a `std::sync::RwLock`; a poisoned lock
/// (a panic elsewhere while writing) is used as it is, never a panic here.
///
/// ```
/// use wecom_callback::endpoint::SharedCorpList;
/// use wecom_callback::{AuthorizedCorps, Endpoint};
///
/// let corps = SharedCorpList::new();
/// let data = Endpoint::wecom_suite_data(
///     "QDG6eK",
///     "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
///     "wwprovider",
///     AuthorizedCorps::shared(&corps),
/// )?;
/// // Later, in the instruction callback's handler:
/// assert!(corps.add("wwcorp1"));
/// assert!(corps.contains("wwcorp1"));
/// assert!(corps.remove("wwcorp1"));
/// # Ok::<(), wecom_callback::ConfigError>(())
/// ```
#[derive(Clone, Default)]
pub struct SharedCorpList {
    ids: Arc<RwLock<BTreeSet<String>>>,
}

impl SharedCorpList {
    /// An empty list: no corp may send data callbacks until one is added.
    pub fn new() -> Self {
        Self::default()
    }

    /// A list holding `ids` (e.g. the corps loaded from your database at
    /// start).
    pub fn with_ids<I, S>(ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let list = Self::new();
        for id in ids {
            list.add(id);
        }
        list
    }

    /// Adds `corp_id`; `false` if it was there already. An empty id is
    /// never added (no POST carries one).
    pub fn add(&self, corp_id: impl Into<String>) -> bool {
        let corp_id = corp_id.into();
        if corp_id.is_empty() {
            return false;
        }
        self.ids
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(corp_id)
    }

    /// Removes `corp_id`; `false` if it was not there.
    pub fn remove(&self, corp_id: &str) -> bool {
        self.ids
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(corp_id)
    }

    /// Whether `corp_id` is in the list.
    pub fn contains(&self, corp_id: &str) -> bool {
        self.ids
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(corp_id)
    }

    /// The corp ids, sorted.
    pub fn ids(&self) -> Vec<String> {
        self.ids
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// How many corps the list holds.
    pub fn len(&self) -> usize {
        self.ids
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for SharedCorpList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedCorpList").field(&self.ids()).finish()
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_list() {
        let list = SharedCorpList::with_ids(["ww1", "ww2"]);
        let other = list.clone();
        assert!(other.add("ww3"));
        assert!(!other.add("ww3"));
        assert!(!other.add(""));
        assert!(list.contains("ww3"));
        assert!(list.remove("ww1"));
        assert!(!other.contains("ww1"));
        assert_eq!(other.ids(), ["ww2", "ww3"]);
        assert_eq!(list.len(), 2);
        assert_eq!(format!("{list:?}"), r#"SharedCorpList(["ww2", "ww3"])"#);
    }

    #[test]
    fn a_poisoned_lock_is_still_read_and_written() {
        let list = SharedCorpList::with_ids(["ww1"]);
        let poisoner = list.clone();
        let _ = std::thread::spawn(move || {
            let _guard = poisoner.ids.write().unwrap_or_else(PoisonError::into_inner);
            panic!("poison the lock");
        })
        .join();
        assert!(list.ids.is_poisoned());
        assert!(list.contains("ww1"));
        assert!(list.add("ww2"));
        assert_eq!(list.len(), 2);
    }
}
