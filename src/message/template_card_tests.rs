//! Tests of the typed template card builders.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;
use crate::message::card;

const MIXED: &str = "Hello, 世界! 企业微信回调 test 123. 你好，这是一条消息。abc";

#[test]
fn every_kind_passes_the_raw_check_and_names_its_type() {
    let cards = [
        TemplateCard::text_notice()
            .source("https://example.com/i.png", "企业微信")
            .main_title(MIXED, "")
            .emphasis_content("100", "数据含义")
            .quote_area("引用 quote", "Jack：好用\nBalian：超级好")
            .sub_title_text(MIXED)
            .horizontal_content("邀请人", "张三")
            .horizontal_link("官网", "点击访问", "https://work.weixin.qq.com")
            .jump_url("企业微信官网", "https://work.weixin.qq.com")
            .card_action_url("https://work.weixin.qq.com")
            .action_menu("更多 more", [("接收推送", "k1"), ("不再推送", "k2")])
            .task_id("t1")
            .into_value(),
        TemplateCard::news_notice()
            .main_title("欢迎 welcome", "desc")
            .card_image("https://example.com/c.png", 2.25)
            .image_text_area("标题", MIXED, "https://example.com/i.png", "https://a.b")
            .vertical_content("惊喜 surprise", "下载企业微信")
            .jump_url("跳转", "https://a.b")
            .card_action_url("https://a.b")
            .into_value(),
        TemplateCard::button_interaction("t2")
            .main_title("审批", "")
            .button_selection(
                "q1",
                "你的身份",
                [("a", "企业负责人"), ("b", "企业用户")],
                "a",
            )
            .button("同意", "yes")
            .styled_button("驳回", "no", 2)
            .replace_text("已处理")
            .into_value(),
        TemplateCard::vote_interaction("t3", "q")
            .main_title("投票 vote", "")
            .option("one", "选项1")
            .checked_option("two", "选项2")
            .multiple_choice()
            .submit_button("提交", "submit")
            .into_value(),
        TemplateCard::multiple_interaction("t4")
            .main_title("选择", "")
            .select("q1", "标签1", [("1", "选项1"), ("2", "选项2")], "1")
            .select("q2", "标签2", [("3", "选项3")], "")
            .submit_button("提交", "submit")
            .into_value(),
    ];
    let types = [
        "text_notice",
        "news_notice",
        "button_interaction",
        "vote_interaction",
        "multiple_interaction",
    ];
    for (card, card_type) in cards.iter().zip(types) {
        assert_eq!(card::check(card), Ok(()), "{card}");
        assert_eq!(card["card_type"], card_type);
    }
    assert_eq!(cards[0]["main_title"], json!({"title": MIXED}));
    assert_eq!(cards[0]["action_menu"]["action_list"][1]["key"], "k2");
    assert_eq!(cards[0]["horizontal_content_list"][1]["type"], 1);
    assert_eq!(cards[2]["task_id"], "t2");
    assert_eq!(
        cards[2]["button_list"],
        json!([{"text": "同意", "key": "yes"}, {"text": "驳回", "style": 2, "key": "no"}])
    );
    assert_eq!(
        cards[2]["button_selection"],
        json!({"question_key": "q1", "title": "你的身份", "selected_id": "a", "option_list": [
            {"id": "a", "text": "企业负责人"},
            {"id": "b", "text": "企业用户"}
        ]})
    );
    assert_eq!(
        cards[3]["checkbox"],
        json!({"question_key": "q", "mode": 1, "option_list": [
            {"id": "one", "text": "选项1"},
            {"id": "two", "text": "选项2", "is_checked": true}
        ]})
    );
    assert_eq!(
        cards[4]["select_list"][1],
        json!({"question_key": "q2", "title": "标签2", "option_list": [{"id": "3", "text": "选项3"}]})
    );
}
