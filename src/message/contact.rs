//! Contact and customer-contact events, in a WeCom app's event form
//! (`MsgType` `event`) and a third-party suite's form (`InfoType`, with
//! `AuthCorpId`): WeCom doc 通讯录变更事件 (and its 通讯录事件通知 copy for
//! suites), 客户联系 变更回调 (客户变更, 客户群变更, 企业客户标签变更), 微信客服
//! 接收消息和事件.

use super::error::MessageError;
use super::fields::Fields;
use super::kind::{MessageKind, Read};

/// Defines an enumeration of a `ChangeType`-like element: the known
/// values, and `Other` with the text for any other.
macro_rules! open_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// Any other value, as sent (trimmed).
            Other(String),
        }

        impl $name {
            fn parse(text: String) -> Self {
                $(if text.eq_ignore_ascii_case($text) {
                    return Self::$variant;
                })*
                Self::Other(text)
            }

            /// The value as the vendor spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Other(text) => text,
                }
            }
        }
    };
}

/// `change_contact`: a member, department or tag changed (通讯录变更事件).
/// Since 2022-08-15, newly configured contact callbacks receive only
/// `UserID` and `Department` for members (vendor note); the other member
/// fields are then `None` or empty.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChangeContact {
    /// `AuthCorpId`: the authorized corp (third-party suite form only).
    pub auth_corp_id: Option<String>,
    /// What changed, by `ChangeType`.
    pub change: ContactChange,
}

/// The `ChangeType` of a [`ChangeContact`] with its elements.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ContactChange {
    /// `create_user` (新增成员事件).
    CreateUser(Box<ContactUser>),
    /// `update_user` (更新成员事件).
    UpdateUser(Box<ContactUser>),
    /// `delete_user` (删除成员事件): `UserID`.
    DeleteUser(String),
    /// `create_party` (新增部门事件).
    CreateParty(Party),
    /// `update_party` (更新部门事件).
    UpdateParty(Party),
    /// `delete_party` (删除部门事件): `Id`.
    DeleteParty(u64),
    /// `update_tag` (标签成员变更事件).
    UpdateTag(TagChange),
    /// Any other `ChangeType`, as sent.
    Other(String),
}

/// A member's elements in a [`ContactChange`]; all but `UserID` are
/// optional (only changed or permitted fields are sent).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ContactUser {
    /// `UserID`.
    pub user_id: String,
    /// `NewUserID`: the new UserID when it changed.
    pub new_user_id: Option<String>,
    /// `Name`.
    pub name: Option<String>,
    /// `Department` (`1,2,3`): department ids.
    pub department: Vec<u64>,
    /// `MainDepartment`.
    pub main_department: Option<u64>,
    /// `IsLeaderInDept` (`1,0,0`): whether the member leads each of
    /// `department`, in the same order.
    pub is_leader_in_dept: Vec<bool>,
    /// `Position`.
    pub position: Option<String>,
    /// `Mobile`.
    pub mobile: Option<String>,
    /// `Gender`: 1 male, 2 female, 0 unknown.
    pub gender: Option<u32>,
    /// `Email`.
    pub email: Option<String>,
    /// `BizMail`: the corporate mailbox.
    pub biz_mail: Option<String>,
    /// `Status`: 1 active, 2 disabled, 4 not yet active, 5 left.
    pub status: Option<u32>,
    /// `Avatar`: avatar URL.
    pub avatar: Option<String>,
    /// `Alias`.
    pub alias: Option<String>,
    /// `Telephone`.
    pub telephone: Option<String>,
    /// `Address`.
    pub address: Option<String>,
    /// `ExtAttr.Item`: the extra attributes, in order.
    pub ext_attr: Vec<ExtAttr>,
}

/// One `ExtAttr.Item` of a [`ContactUser`]: a text attribute
/// (`Type` 0, `Text.Value`) or a web link (`Type` 1, `Web.Title`/`Url`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ExtAttr {
    /// `Name`.
    pub name: String,
    /// `Type`: 0 text, 1 web.
    pub attr_type: Option<u32>,
    /// `Text.Value` (or a bare `Value`).
    pub text: Option<String>,
    /// `Web.Title`.
    pub web_title: Option<String>,
    /// `Web.Url`.
    pub web_url: Option<String>,
}

/// A department's elements in a [`ContactChange`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Party {
    /// `Id`.
    pub id: u64,
    /// `Name`.
    pub name: Option<String>,
    /// `ParentId`.
    pub parent_id: Option<u64>,
    /// `Order`: the sort order within the parent.
    pub order: Option<u64>,
}

/// The elements of an `update_tag` [`ContactChange`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TagChange {
    /// `TagId`.
    pub tag_id: u64,
    /// `AddUserItems` (`zhangsan,lisi`): members added to the tag.
    pub add_user_items: Vec<String>,
    /// `DelUserItems`: members removed from the tag.
    pub del_user_items: Vec<String>,
    /// `AddPartyItems` (`1,2`): departments added to the tag.
    pub add_party_items: Vec<u64>,
    /// `DelPartyItems`: departments removed from the tag.
    pub del_party_items: Vec<u64>,
}

open_enum! {
    /// `ChangeType` of a [`ChangeExternalContact`] (客户变更回调).
    ExternalContactChange {
        /// `add_external_contact`: a member added a customer.
        AddExternalContact = "add_external_contact",
        /// `edit_external_contact`: a member edited a customer.
        EditExternalContact = "edit_external_contact",
        /// `add_half_external_contact`: a customer added a member, not yet
        /// accepted.
        AddHalfExternalContact = "add_half_external_contact",
        /// `del_external_contact`: a member removed a customer.
        DelExternalContact = "del_external_contact",
        /// `del_follow_user`: a customer removed a member.
        DelFollowUser = "del_follow_user",
        /// `transfer_fail`: a customer could not be handed over
        /// (`FailReason`).
        TransferFail = "transfer_fail",
    }
}

/// `change_external_contact`: a customer contact changed (客户变更回调).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChangeExternalContact {
    /// `AuthCorpId`: the authorized corp (third-party suite form only).
    pub auth_corp_id: Option<String>,
    /// `ChangeType`.
    pub change: ExternalContactChange,
    /// `UserID`: the member.
    pub user_id: Option<String>,
    /// `ExternalUserID`: the customer.
    pub external_user_id: Option<String>,
    /// `State`: the `state` of the 联系我 configuration the customer used.
    pub state: Option<String>,
    /// `WelcomeCode`: for the 发送新客户欢迎语 API, valid 20 seconds.
    pub welcome_code: Option<String>,
    /// `Source` (`del_follow_user`, …), when sent.
    pub source: Option<String>,
    /// `FailReason` (`transfer_fail`): `customer_refused` or
    /// `customer_limit_exceed`.
    pub fail_reason: Option<String>,
}

open_enum! {
    /// `ChangeType` of a [`ChangeExternalChat`] (客户群变更事件).
    ExternalChatChange {
        /// `create`: the group was created.
        Create = "create",
        /// `update`: the group changed (see `UpdateDetail`).
        Update = "update",
        /// `dismiss`: the group was dismissed.
        Dismiss = "dismiss",
    }
}

/// `change_external_chat`: a customer group changed (客户群变更事件).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChangeExternalChat {
    /// `AuthCorpId`: the authorized corp (third-party suite form only).
    pub auth_corp_id: Option<String>,
    /// `ChatId`: the group.
    pub chat_id: String,
    /// `ChangeType`.
    pub change: ExternalChatChange,
    /// `UpdateDetail` (`update`): `add_member`, `del_member`,
    /// `change_owner`, `change_name`, `change_notice`.
    pub update_detail: Option<String>,
    /// `JoinScene` (`add_member`): 0 invited by a member, 1 by link, 3 by
    /// QR code.
    pub join_scene: Option<u32>,
    /// `QuitScene` (`del_member`): 0 left, 1 removed.
    pub quit_scene: Option<u32>,
    /// `MemChangeCnt`: how many members joined or left.
    pub mem_change_cnt: Option<u32>,
    /// `MemChangeList`: their ids (comma-separated, or `<Item>` children in
    /// newer pushes).
    pub mem_change_list: Vec<String>,
    /// `LastMemVer`: the member list version before the change.
    pub last_mem_ver: Option<String>,
    /// `CurMemVer`: the member list version after the change.
    pub cur_mem_ver: Option<String>,
}

open_enum! {
    /// `ChangeType` of a [`ChangeExternalTag`] (企业客户标签变更事件).
    ExternalTagChange {
        /// `create`.
        Create = "create",
        /// `update`.
        Update = "update",
        /// `delete`.
        Delete = "delete",
        /// `shuffle`: the tags were reordered.
        Shuffle = "shuffle",
    }
}

/// `change_external_tag`: a customer tag or tag group changed
/// (企业客户标签变更事件).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChangeExternalTag {
    /// `AuthCorpId`: the authorized corp (third-party suite form only).
    pub auth_corp_id: Option<String>,
    /// `Id`: the tag or tag group (absent for some `shuffle` pushes).
    pub id: Option<String>,
    /// `TagType`: `tag` or `tag_group`.
    pub tag_type: Option<String>,
    /// `ChangeType`.
    pub change: ExternalTagChange,
    /// `StrategyId`: the rule group, for tags of a rule group.
    pub strategy_id: Option<u64>,
}

/// `kf_msg_or_event`: WeChat customer service (微信客服) has new messages or
/// events; fetch them with the `sync_msg` API and this `Token`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct KfMsgOrEvent {
    /// `Token`: pass it to `sync_msg` (valid 10 minutes).
    pub token: String,
    /// `OpenKfId`: the customer service account.
    pub open_kf_id: Option<String>,
}

/// Reads a contact event for `name` (lower case), from an event or a suite
/// push.
pub(super) fn read(fields: &Fields<'_>, name: &str) -> Read {
    let kind = match name {
        "change_contact" => change_contact(fields).map(MessageKind::ChangeContact),
        "change_external_contact" => {
            external_contact(fields).map(MessageKind::ChangeExternalContact)
        }
        "change_external_chat" => external_chat(fields).map(MessageKind::ChangeExternalChat),
        "change_external_tag" => external_tag(fields).map(MessageKind::ChangeExternalTag),
        "kf_msg_or_event" => kf(fields).map(MessageKind::KfMsgOrEvent),
        _ => return None,
    };
    Some(kind)
}

fn kf(fields: &Fields<'_>) -> Result<KfMsgOrEvent, MessageError> {
    Ok(KfMsgOrEvent {
        token: fields.token("Token")?,
        open_kf_id: fields.optional_token("OpenKfId")?,
    })
}

fn change_contact(fields: &Fields<'_>) -> Result<ChangeContact, MessageError> {
    let change_type = fields.token("ChangeType")?.to_ascii_lowercase();
    let change = match change_type.as_str() {
        "create_user" => ContactChange::CreateUser(Box::new(contact_user(fields)?)),
        "update_user" => ContactChange::UpdateUser(Box::new(contact_user(fields)?)),
        "delete_user" => ContactChange::DeleteUser(fields.token("UserID")?),
        "create_party" => ContactChange::CreateParty(party(fields)?),
        "update_party" => ContactChange::UpdateParty(party(fields)?),
        "delete_party" => ContactChange::DeleteParty(fields.unsigned("Id")?),
        "update_tag" => ContactChange::UpdateTag(TagChange {
            tag_id: fields.unsigned("TagId")?,
            add_user_items: fields.name_list("AddUserItems")?,
            del_user_items: fields.name_list("DelUserItems")?,
            add_party_items: fields.number_list("AddPartyItems")?,
            del_party_items: fields.number_list("DelPartyItems")?,
        }),
        _ => ContactChange::Other(fields.token("ChangeType")?),
    };
    Ok(ChangeContact {
        auth_corp_id: fields.optional_token("AuthCorpId")?,
        change,
    })
}

fn contact_user(fields: &Fields<'_>) -> Result<ContactUser, MessageError> {
    let ext_attr = match fields.optional_group("ExtAttr")? {
        Some(attrs) => attrs.each("Item", |item| {
            let text = match item.optional_group("Text")? {
                Some(text) => text.optional_string("Value")?,
                None => item.optional_string("Value")?,
            };
            let web = item.optional_group("Web")?;
            Ok(ExtAttr {
                name: item.string("Name")?,
                attr_type: item.optional_unsigned("Type")?,
                text,
                web_title: web
                    .map(|w| w.optional_string("Title"))
                    .transpose()?
                    .flatten(),
                web_url: web.map(|w| w.optional_token("Url")).transpose()?.flatten(),
            })
        })?,
        None => Vec::new(),
    };
    Ok(ContactUser {
        user_id: fields.token("UserID")?,
        new_user_id: fields.optional_token("NewUserID")?,
        name: fields.optional_string("Name")?,
        department: fields.number_list("Department")?,
        main_department: fields.optional_unsigned("MainDepartment")?,
        is_leader_in_dept: fields
            .number_list("IsLeaderInDept")?
            .into_iter()
            .map(|flag| flag != 0)
            .collect(),
        position: fields.optional_string("Position")?,
        mobile: fields.optional_token("Mobile")?,
        gender: fields.optional_unsigned("Gender")?,
        email: fields.optional_token("Email")?,
        biz_mail: fields.optional_token("BizMail")?,
        status: fields.optional_unsigned("Status")?,
        avatar: fields.optional_token("Avatar")?,
        alias: fields.optional_string("Alias")?,
        telephone: fields.optional_token("Telephone")?,
        address: fields.optional_string("Address")?,
        ext_attr,
    })
}

fn party(fields: &Fields<'_>) -> Result<Party, MessageError> {
    Ok(Party {
        id: fields.unsigned("Id")?,
        name: fields.optional_string("Name")?,
        parent_id: fields.optional_unsigned("ParentId")?,
        order: fields.optional_unsigned("Order")?,
    })
}

fn external_contact(fields: &Fields<'_>) -> Result<ChangeExternalContact, MessageError> {
    Ok(ChangeExternalContact {
        auth_corp_id: fields.optional_token("AuthCorpId")?,
        change: ExternalContactChange::parse(fields.token("ChangeType")?),
        user_id: fields.optional_token("UserID")?,
        external_user_id: fields.optional_token("ExternalUserID")?,
        state: fields.optional_token("State")?,
        welcome_code: fields.optional_token("WelcomeCode")?,
        source: fields.optional_token("Source")?,
        fail_reason: fields.optional_token("FailReason")?,
    })
}

fn external_chat(fields: &Fields<'_>) -> Result<ChangeExternalChat, MessageError> {
    Ok(ChangeExternalChat {
        auth_corp_id: fields.optional_token("AuthCorpId")?,
        chat_id: fields.token("ChatId")?,
        change: ExternalChatChange::parse(fields.token("ChangeType")?),
        update_detail: fields.optional_token("UpdateDetail")?,
        join_scene: fields.optional_unsigned("JoinScene")?,
        quit_scene: fields.optional_unsigned("QuitScene")?,
        mem_change_cnt: fields.optional_unsigned("MemChangeCnt")?,
        mem_change_list: fields.name_list("MemChangeList")?,
        last_mem_ver: fields.optional_token("LastMemVer")?,
        cur_mem_ver: fields.optional_token("CurMemVer")?,
    })
}

fn external_tag(fields: &Fields<'_>) -> Result<ChangeExternalTag, MessageError> {
    Ok(ChangeExternalTag {
        auth_corp_id: fields.optional_token("AuthCorpId")?,
        id: fields.optional_token("Id")?,
        tag_type: fields.optional_token("TagType")?,
        change: ExternalTagChange::parse(fields.token("ChangeType")?),
        strategy_id: fields.optional_unsigned("StrategyId")?,
    })
}
