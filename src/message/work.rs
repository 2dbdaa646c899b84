//! WeCom work events: asynchronous jobs, approvals, task cards and template
//! cards (WeCom doc 事件格式 and the pages it links: 异步任务完成事件推送,
//! 审批状态通知事件, 审批申请状态变化回调通知, 模板卡片事件推送).

use super::error::MessageError;
use super::fields::Fields;
use super::kind::{MessageKind, Read};

/// `batch_job_result`: an asynchronous contact job finished (异步任务完成事件推送).
/// Fetch the outcome with the 获取异步任务结果 API.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BatchJobResult {
    /// `BatchJob.JobId`: the job's id.
    pub job_id: String,
    /// `BatchJob.JobType`: `sync_user`, `replace_user`, `invite_user` or
    /// `replace_party`, as sent.
    pub job_type: String,
    /// `BatchJob.ErrCode`: 0 on success; `None` when absent or empty.
    pub err_code: Option<i64>,
    /// `BatchJob.ErrMsg`, when present.
    pub err_msg: Option<String>,
}

/// `open_approval_change`: a third-party approval changed state
/// (审批状态通知事件). Elements of `ApprovalInfo`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OpenApprovalChange {
    /// `ThirdNo`: the approval's number in the third-party system.
    pub third_no: String,
    /// `OpenSpName`: the approval template's name.
    pub open_sp_name: Option<String>,
    /// `OpenTemplateId`: the approval template's id.
    pub open_template_id: Option<String>,
    /// `OpenSpStatus`: 1 in review, 2 approved, 3 rejected, 4 withdrawn, …
    pub open_sp_status: u32,
    /// `ApplyTime`: when it was submitted, unix seconds.
    pub apply_time: Option<u64>,
    /// `ApplyUserName`: the applicant's name.
    pub apply_user_name: Option<String>,
    /// `ApplyUserId`: the applicant's UserID.
    pub apply_user_id: Option<String>,
    /// `ApplyUserParty`: the applicant's department.
    pub apply_user_party: Option<String>,
    /// `ApplyUserImage`: the applicant's avatar URL.
    pub apply_user_image: Option<String>,
    /// `ApprovalNodes.ApprovalNode`, in order.
    pub approval_nodes: Vec<ApprovalNode>,
    /// `NotifyNodes.NotifyNode`: who is copied.
    pub notify_nodes: Vec<NotifyNode>,
    /// `approverstep`: the current node, counting from 0.
    pub approver_step: Option<u32>,
}

/// One `ApprovalNode` of an [`OpenApprovalChange`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApprovalNode {
    /// `NodeStatus`: 1 in review, 2 approved, 3 rejected, …
    pub node_status: Option<u32>,
    /// `NodeAttr`: 1 one of the approvers suffices, 2 all must approve.
    pub node_attr: Option<u32>,
    /// `NodeType`: 1 fixed approvers, 2 the applicant's leader, …
    pub node_type: Option<u32>,
    /// `Items.Item`: the approvers of the node.
    pub items: Vec<ApprovalItem>,
}

/// One approver (`Items.Item`) of an [`ApprovalNode`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApprovalItem {
    /// `ItemName`: the approver's name.
    pub item_name: Option<String>,
    /// `ItemUserId`: the approver's UserID.
    pub item_user_id: Option<String>,
    /// `ItemImage`: the approver's avatar URL.
    pub item_image: Option<String>,
    /// `ItemStatus`: 1 in review, 2 approved, 3 rejected, …
    pub item_status: Option<u32>,
    /// `ItemSpeech`: the approver's comment (not trimmed).
    pub item_speech: Option<String>,
    /// `ItemOpTime`: when the approver acted, unix seconds (0: not yet).
    pub item_op_time: Option<u64>,
}

/// One copied member (`NotifyNodes.NotifyNode`) of an [`OpenApprovalChange`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NotifyNode {
    /// `ItemName`: the member's name.
    pub item_name: Option<String>,
    /// `ItemUserId`: the member's UserID.
    pub item_user_id: Option<String>,
    /// `ItemImage`: the member's avatar URL.
    pub item_image: Option<String>,
}

/// `sys_approval_change`: an approval of the built-in approval app changed
/// state (审批申请状态变化回调通知). Elements of `ApprovalInfo`; the form's
/// contents are fetched with the 获取审批申请详情 API (`SpNo`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SysApprovalChange {
    /// `SpNo`: the approval's number.
    pub sp_no: String,
    /// `SpName`: the template's name.
    pub sp_name: Option<String>,
    /// `SpStatus`: 1 in review, 2 approved, 3 rejected, 4 withdrawn, …
    pub sp_status: u32,
    /// `TemplateId`: the template's id.
    pub template_id: Option<String>,
    /// `ApplyTime`: when it was submitted, unix seconds.
    pub apply_time: Option<u64>,
    /// `Applyer.UserId`: the applicant.
    pub applyer_user_id: Option<String>,
    /// `Applyer.Party`: the applicant's department id.
    pub applyer_party: Option<String>,
    /// `SpRecord`: the approval steps, in order.
    pub sp_records: Vec<SpRecord>,
    /// `Notifyer.UserId` of every copied member.
    pub notifyer_user_ids: Vec<String>,
    /// `StatuChangeEvent` (spelled so by the vendor): what happened, 1
    /// submitted, 2 approved, 3 rejected, 4 withdrawn, …
    pub statu_change_event: Option<u32>,
}

/// One step (`SpRecord`) of a [`SysApprovalChange`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SpRecord {
    /// `SpStatus`: the step's state.
    pub sp_status: Option<u32>,
    /// `ApproverAttr`: 1 one approver suffices, 2 all must approve.
    pub approver_attr: Option<u32>,
    /// `Details`: one per approver.
    pub details: Vec<SpDetail>,
}

/// One approver (`Details`) of an [`SpRecord`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SpDetail {
    /// `Approver.UserId`.
    pub approver_user_id: Option<String>,
    /// `Speech`: the approver's comment (not trimmed).
    pub speech: Option<String>,
    /// `SpStatus`: the approver's decision.
    pub sp_status: Option<u32>,
    /// `SpTime`: when the approver acted, unix seconds (0: not yet).
    pub sp_time: Option<u64>,
}

/// `taskcard_click`: a button of a (legacy) task card was tapped
/// (任务卡片事件推送); answer with
/// [`Reply::update_taskcard`](super::Reply::update_taskcard).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TaskcardClick {
    /// `EventKey`: the tapped button's key.
    pub event_key: String,
    /// `TaskId`: the task card's `task_id`.
    pub task_id: String,
}

/// `template_card_event`: a button of a template card was tapped
/// (模板卡片事件推送).
///
/// The passive reply may update the card for the member who tapped it
/// ([`Reply::update_button`](super::Reply::update_button),
/// [`Reply::update_template_card`](super::Reply::update_template_card));
/// `response_code` lets the 更新模版卡片消息 API update it later, once, within
/// 72 hours (WeCom doc 更新模版卡片消息).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TemplateCardEvent {
    /// `EventKey`: the tapped button's `key`.
    pub event_key: String,
    /// `TaskId`: the card's `task_id`.
    pub task_id: String,
    /// `CardType`: `text_notice`, `news_notice`, `button_interaction`,
    /// `vote_interaction` or `multiple_interaction`, when sent.
    pub card_type: Option<String>,
    /// `ResponseCode`: the code for one later update, when sent.
    pub response_code: Option<String>,
    /// `SelectedItems.SelectedItem`: the choices of selection and vote
    /// cards, in order.
    pub selected_items: Vec<SelectedItem>,
}

/// One `SelectedItem` of a [`TemplateCardEvent`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SelectedItem {
    /// `QuestionKey`: the question's key.
    pub question_key: String,
    /// `OptionIds.OptionId`: the chosen options, in order.
    pub option_ids: Vec<String>,
}

/// `template_card_menu_event`: an entry of a template card's menu (the
/// card's top-right menu) was tapped (通用模板卡片右上角菜单事件推送).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TemplateCardMenuEvent {
    /// `EventKey`: the menu entry's `key`.
    pub event_key: String,
    /// `TaskId`: the card's `task_id`.
    pub task_id: String,
    /// `CardType`, when sent.
    pub card_type: Option<String>,
    /// `ResponseCode`: the code for one later update, when sent.
    pub response_code: Option<String>,
}

/// Reads a work event for `event` (lower case).
pub(super) fn read_event(fields: &Fields<'_>, event: &str) -> Read {
    let kind = match event {
        "batch_job_result" => batch_job(fields).map(MessageKind::BatchJobResult),
        "open_approval_change" => open_approval(fields).map(MessageKind::OpenApprovalChange),
        "sys_approval_change" => sys_approval(fields).map(MessageKind::SysApprovalChange),
        "taskcard_click" => taskcard_click(fields).map(MessageKind::TaskcardClick),
        "template_card_event" => template_card(fields).map(MessageKind::TemplateCardEvent),
        "template_card_menu_event" => {
            template_card_menu(fields).map(MessageKind::TemplateCardMenuEvent)
        }
        _ => return None,
    };
    Some(kind)
}

fn batch_job(fields: &Fields<'_>) -> Result<BatchJobResult, MessageError> {
    let job = fields.group("BatchJob")?;
    Ok(BatchJobResult {
        job_id: job.token("JobId")?,
        job_type: job.token("JobType")?,
        err_code: job.optional_signed("ErrCode")?,
        err_msg: job.optional_string("ErrMsg")?,
    })
}

fn open_approval(fields: &Fields<'_>) -> Result<OpenApprovalChange, MessageError> {
    let info = fields.group("ApprovalInfo")?;
    let approval_nodes = match info.optional_group("ApprovalNodes")? {
        Some(nodes) => nodes.each("ApprovalNode", approval_node)?,
        None => Vec::new(),
    };
    let notify_nodes = match info.optional_group("NotifyNodes")? {
        Some(nodes) => nodes.each("NotifyNode", |node| {
            Ok(NotifyNode {
                item_name: node.optional_string("ItemName")?,
                item_user_id: node.optional_token("ItemUserId")?,
                item_image: node.optional_token("ItemImage")?,
            })
        })?,
        None => Vec::new(),
    };
    Ok(OpenApprovalChange {
        third_no: info.token("ThirdNo")?,
        open_sp_name: info.optional_string("OpenSpName")?,
        open_template_id: info.optional_token("OpenTemplateId")?,
        open_sp_status: info.unsigned("OpenSpStatus")?,
        apply_time: info.optional_unsigned("ApplyTime")?,
        apply_user_name: info.optional_string("ApplyUserName")?,
        apply_user_id: info.optional_token("ApplyUserId")?,
        apply_user_party: info.optional_string("ApplyUserParty")?,
        apply_user_image: info.optional_token("ApplyUserImage")?,
        approval_nodes,
        notify_nodes,
        approver_step: info.optional_unsigned("approverstep")?,
    })
}

fn approval_node(node: Fields<'_>) -> Result<ApprovalNode, MessageError> {
    let items = match node.optional_group("Items")? {
        Some(items) => items.each("Item", |item| {
            Ok(ApprovalItem {
                item_name: item.optional_string("ItemName")?,
                item_user_id: item.optional_token("ItemUserId")?,
                item_image: item.optional_token("ItemImage")?,
                item_status: item.optional_unsigned("ItemStatus")?,
                item_speech: item.optional_string("ItemSpeech")?,
                item_op_time: item.optional_unsigned("ItemOpTime")?,
            })
        })?,
        None => Vec::new(),
    };
    Ok(ApprovalNode {
        node_status: node.optional_unsigned("NodeStatus")?,
        node_attr: node.optional_unsigned("NodeAttr")?,
        node_type: node.optional_unsigned("NodeType")?,
        items,
    })
}

fn sys_approval(fields: &Fields<'_>) -> Result<SysApprovalChange, MessageError> {
    let info = fields.group("ApprovalInfo")?;
    let applyer = info.optional_group("Applyer")?;
    let sp_records = info.each("SpRecord", |record| {
        Ok(SpRecord {
            sp_status: record.optional_unsigned("SpStatus")?,
            approver_attr: record.optional_unsigned("ApproverAttr")?,
            details: record.each("Details", |detail| {
                Ok(SpDetail {
                    approver_user_id: match detail.optional_group("Approver")? {
                        Some(approver) => approver.optional_token("UserId")?,
                        None => None,
                    },
                    speech: detail.optional_string("Speech")?,
                    sp_status: detail.optional_unsigned("SpStatus")?,
                    sp_time: detail.optional_unsigned("SpTime")?,
                })
            })?,
        })
    })?;
    let mut notifyer_user_ids = Vec::new();
    for notifyer in info.groups("Notifyer") {
        notifyer_user_ids.extend(notifyer.optional_token("UserId")?);
    }
    Ok(SysApprovalChange {
        sp_no: info.token("SpNo")?,
        sp_name: info.optional_string("SpName")?,
        sp_status: info.unsigned("SpStatus")?,
        template_id: info.optional_token("TemplateId")?,
        apply_time: info.optional_unsigned("ApplyTime")?,
        applyer_user_id: match applyer {
            Some(applyer) => applyer.optional_token("UserId")?,
            None => None,
        },
        applyer_party: match applyer {
            Some(applyer) => applyer.optional_token("Party")?,
            None => None,
        },
        sp_records,
        notifyer_user_ids,
        statu_change_event: info.optional_unsigned("StatuChangeEvent")?,
    })
}

fn taskcard_click(fields: &Fields<'_>) -> Result<TaskcardClick, MessageError> {
    Ok(TaskcardClick {
        event_key: fields.token("EventKey")?,
        task_id: fields.token("TaskId")?,
    })
}

fn template_card(fields: &Fields<'_>) -> Result<TemplateCardEvent, MessageError> {
    let selected_items = match fields.optional_group("SelectedItems")? {
        Some(items) => items.each("SelectedItem", |item| {
            let option_ids = match item.optional_group("OptionIds")? {
                Some(ids) => ids.tokens("OptionId")?,
                None => Vec::new(),
            };
            Ok(SelectedItem {
                question_key: item.token("QuestionKey")?,
                option_ids,
            })
        })?,
        None => Vec::new(),
    };
    Ok(TemplateCardEvent {
        event_key: fields.token("EventKey")?,
        task_id: fields.token("TaskId")?,
        card_type: fields.optional_token("CardType")?,
        response_code: fields.optional_token("ResponseCode")?,
        selected_items,
    })
}

fn template_card_menu(fields: &Fields<'_>) -> Result<TemplateCardMenuEvent, MessageError> {
    Ok(TemplateCardMenuEvent {
        event_key: fields.token("EventKey")?,
        task_id: fields.token("TaskId")?,
        card_type: fields.optional_token("CardType")?,
        response_code: fields.optional_token("ResponseCode")?,
    })
}
