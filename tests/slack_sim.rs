//! The Slack simulator is strict like Slack (PRODUCT.md §9): raw HTTP requests, as any client
//! could send them, get Slack's answers — bearer token, JSON with a charset, unknown channels,
//! membership, archived channels, missing text, every Block Kit limit of §6.4 as
//! `invalid_blocks` with `[ERROR] … [json-pointer:…]`, cursors, and the fault switches.

mod slack_common;

use std::time::Duration;

use rstest::rstest;
use serde_json::{Value, json};
use slack_common::{options, sim};
use tq_alerts::sim::slack::{Fault, FaultRule, SlackSim, SlackSimOptions};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

async fn post(sim: &SlackSim, method: &str, body: &Value) -> (u16, Value) {
    let r = client()
        .post(format!("{}/{method}", sim.api_url()))
        .bearer_auth(sim.token())
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(sim: &SlackSim, method: &str, query: &[(&str, &str)]) -> Value {
    client()
        .get(format!("{}/{method}", sim.api_url()))
        .bearer_auth(sim.token())
        .query(query)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn message(blocks: Value) -> Value {
    json!({
        "channel": "C0TQALERT1",
        "text": "Indicator `hxxp://redcrossworld[.]com` on the watchlist",
        "blocks": blocks,
        "unfurl_links": false,
        "unfurl_media": false,
    })
}

fn section(text: String) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

fn button(text: &str, url: String) -> Value {
    json!({ "type": "actions", "elements": [
        { "type": "button", "text": { "type": "plain_text", "text": text }, "url": url }
    ]})
}

#[rstest]
#[case::fifty_blocks(json!(vec![json!({"type": "divider"}); 51]), "must have at most 50 items [json-pointer:/blocks]")]
#[case::section_text(json!([section("a".repeat(3001))]), "must be at most 3000 characters [json-pointer:/blocks/0/text/text]")]
#[case::ten_fields(json!([{ "type": "section", "fields": vec![json!({"type": "mrkdwn", "text": "x"}); 11] }]), "must have at most 10 items [json-pointer:/blocks/0/fields]")]
#[case::field_text(json!([{ "type": "section", "fields": [{"type": "mrkdwn", "text": "é".repeat(2001)}] }]), "must be at most 2000 characters [json-pointer:/blocks/0/fields/0/text]")]
#[case::header(json!([{ "type": "header", "text": { "type": "plain_text", "text": "h".repeat(151) } }]), "must be at most 150 characters [json-pointer:/blocks/0/text/text]")]
#[case::context(json!([{ "type": "context", "elements": vec![json!({"type": "mrkdwn", "text": "c"}); 11] }]), "must have at most 10 items [json-pointer:/blocks/0/elements]")]
#[case::block_id(json!([{ "type": "divider", "block_id": "b".repeat(256) }]), "must be at most 255 characters [json-pointer:/blocks/0/block_id]")]
#[case::button_text(json!([button(&"t".repeat(76), "https://threatq.example.net/indicators/1/details".into())]), "must be at most 75 characters [json-pointer:/blocks/0/elements/0/text/text]")]
#[case::button_url(json!([button("Open in ThreatQ", format!("https://threatq.example.net/{}", "u".repeat(3000)))]), "must be at most 3000 characters [json-pointer:/blocks/0/elements/0/url]")]
#[tokio::test]
async fn every_block_kit_limit_is_answered_with_invalid_blocks_and_a_pointer(
    #[case] blocks: Value,
    #[case] expected: &str,
) {
    let sim = sim(options()).await;
    let (status, answer) = post(&sim, "chat.postMessage", &message(blocks)).await;
    assert_eq!(status, 200);
    assert_eq!(answer["ok"], json!(false));
    assert_eq!(answer["error"], json!("invalid_blocks"));
    assert_eq!(answer["errors"], json!([expected]));
    assert_eq!(
        answer["response_metadata"]["messages"],
        json!([format!("[ERROR] {expected}")])
    );
    assert!(sim.accepted().is_empty());
}

#[tokio::test]
async fn limits_count_code_points_not_bytes() {
    let sim = sim(options()).await;
    // 3000 characters of 2 bytes each: within the limit.
    let (_, answer) = post(
        &sim,
        "chat.postMessage",
        &message(json!([section("é".repeat(3000))])),
    )
    .await;
    assert_eq!(answer["ok"], json!(true), "{answer}");
    assert_eq!(sim.accepted().len(), 1);
}

#[tokio::test]
async fn messages_are_refused_as_slack_refuses_them() {
    let sim = sim(options()).await;
    let cases = [
        (
            json!({ "channel": "C0NOSUCH01", "text": "x" }),
            "channel_not_found",
        ),
        (json!({ "text": "x" }), "channel_not_found"),
        (
            json!({ "channel": "C0GENERAL1", "text": "x" }),
            "not_in_channel",
        ),
        (
            json!({ "channel": "G0EXECBRF1", "text": "x" }),
            "channel_not_found",
        ),
        (
            json!({ "channel": "C0OLDALRT1", "text": "x" }),
            "is_archived",
        ),
        (json!({ "channel": "C0TQALERT1" }), "no_text"),
        (json!({ "channel": "C0TQALERT1", "text": "  " }), "no_text"),
        (
            json!({ "channel": "C0TQALERT1", "text": "x".repeat(40_001) }),
            "msg_too_long",
        ),
        (
            json!({ "channel": "D0NOSUCH01", "text": "x" }),
            "channel_not_found",
        ),
        (
            json!({ "channel": "#tq-alerts", "text": "x" }),
            "channel_not_found",
        ),
    ];
    for (body, word) in cases {
        let (_, answer) = post(&sim, "chat.postMessage", &body).await;
        assert_eq!(answer["error"], json!(word), "{body}");
    }
    assert!(sim.accepted().is_empty());
}

#[tokio::test]
async fn the_token_goes_in_a_bearer_header_and_json_says_its_charset() {
    let sim = sim(options()).await;
    let url = format!("{}/chat.postMessage", sim.api_url());
    let body = json!({ "channel": "C0TQALERT1", "text": "x", "unfurl_links": false, "unfurl_media": false }).to_string();
    let send = |auth: Option<String>, content_type: &'static str| {
        let mut r = client()
            .post(&url)
            .header("content-type", content_type)
            .body(body.clone());
        if let Some(auth) = auth {
            r = r.header("authorization", auth);
        }
        async move { r.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let utf8 = "application/json; charset=utf-8";
    assert_eq!(send(None, utf8).await["error"], json!("not_authed"));
    assert_eq!(
        send(Some("Bearer xoxb-wrong".into()), utf8).await["error"],
        json!("invalid_auth")
    );
    let ok = Some(format!("Bearer {}", sim.token()));
    assert_eq!(
        send(ok.clone(), "application/json; charset=iso-8859-1").await["error"],
        json!("invalid_charset")
    );
    assert_eq!(
        send(ok.clone(), "application/x-www-form-urlencoded").await["error"],
        json!("invalid_post_type")
    );
    assert!(
        sim.violations()
            .iter()
            .any(|v| v.contains("writes are application/json"))
    );
    // Without a charset Slack takes it with a warning; the simulator notes the slip.
    assert_eq!(
        send(ok.clone(), "application/json").await["ok"],
        json!(true)
    );
    assert!(
        sim.violations()
            .iter()
            .any(|v| v.contains("without `charset=utf-8`"))
    );
    // Garbage bodies are refused, not crashed on.
    let garbage = client()
        .post(&url)
        .bearer_auth(sim.token())
        .header("content-type", utf8)
        .body(vec![0xff, 0xfe, b'{', 0x00])
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(garbage["error"], json!("invalid_json"));
}

#[tokio::test]
async fn listings_page_by_cursor_and_refuse_a_forged_cursor() {
    let sim = sim(options()).await;
    let mut names = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let mut query = vec![
            ("types", "public_channel,private_channel"),
            ("limit", "200"),
        ];
        if !cursor.is_empty() {
            query.push(("cursor", cursor.as_str()));
        }
        let page = get(&sim, "conversations.list", &query).await;
        assert_eq!(page["ok"], json!(true), "{page}");
        let channels = page["channels"].as_array().unwrap();
        assert!(channels.len() <= 2);
        names.extend(
            channels
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_string()),
        );
        pages += 1;
        cursor = page["response_metadata"]["next_cursor"]
            .as_str()
            .unwrap()
            .to_string();
        if cursor.is_empty() {
            break;
        }
    }
    assert_eq!(pages, 4);
    // Every public channel and the private one the bot is in; not the one it cannot see.
    assert!(names.contains(&"ir-private".to_string()));
    assert!(!names.contains(&"exec-briefings".to_string()));
    assert_eq!(names.len(), 8);
    let forged = get(
        &sim,
        "conversations.list",
        &[("cursor", "dXNlcjpVMEc5V0ZYTlo=")],
    )
    .await;
    assert_eq!(forged["error"], json!("invalid_cursor"));
    let bad_limit = get(&sim, "users.list", &[("limit", "0")]).await;
    assert_eq!(bad_limit["error"], json!("invalid_limit"));
    assert_eq!(sim.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn a_method_switch_answers_the_word_a_correct_client_never_provokes() {
    let sim = sim(options()).await;
    sim.inject(FaultRule::on("chat.postMessage", Fault::Error("missing_scope".into())).times(1));
    sim.inject(FaultRule::on(
        "auth.test",
        Fault::Error("token_revoked".into()),
    ));
    let body = json!({ "channel": "C0TQALERT1", "text": "x", "unfurl_links": false, "unfurl_media": false });
    let (_, first) = post(&sim, "chat.postMessage", &body).await;
    assert_eq!(first["error"], json!("missing_scope"));
    assert_eq!(first["needed"], json!("chat:write"));
    let (_, second) = post(&sim, "chat.postMessage", &body).await;
    assert_eq!(second["ok"], json!(true), "the switch was for one request");
    assert_eq!(
        get(&sim, "auth.test", &[]).await["error"],
        json!("token_revoked")
    );
    assert_eq!(
        get(&sim, "auth.test", &[]).await["error"],
        json!("token_revoked")
    );
    sim.clear_faults();
    assert_eq!(get(&sim, "auth.test", &[]).await["ok"], json!(true));
}

#[tokio::test]
async fn the_simulator_listens_on_loopback_only() {
    let e = SlackSim::start("0.0.0.0:0".parse().unwrap(), SlackSimOptions::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("loopback only"), "{e}");
    let e = SlackSim::start_local(SlackSimOptions {
        webhook_channel: "no-such-channel".into(),
        ..SlackSimOptions::default()
    })
    .await
    .unwrap_err();
    assert!(e.to_string().contains("#no-such-channel"), "{e}");
}

#[tokio::test]
async fn an_unknown_webhook_path_is_no_service() {
    let sim = sim(options()).await;
    let r = client()
        .post(format!(
            "http://{}/services/T0TQSIM001/B0SIMHOOK1/guessed",
            sim.addr()
        ))
        .header("content-type", "application/json")
        .body(r#"{"text":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(r.text().await.unwrap(), "no_service");
    assert!(sim.accepted().is_empty());
}
