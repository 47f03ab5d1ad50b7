//! Digests (PRODUCT.md §7.3): a page of 200 real alerts and a 200-alert poll cut into pages of
//! 20 both give messages Slack accepts, numbered `(i/n)`, where every alert is shown or counted
//! in a `+N more`.

mod formatters_support;

use formatters_support::*;
use tq_alerts::alert::{Alert, MessageData};
use tq_alerts::formatter::Message;
use tq_alerts::formatters::samples::{digest_of, indicator_alerts};
use tq_alerts::slack::validate::validate;

/// How many alerts a message names: each by its own ThreatQ link (a button or a mrkdwn link),
/// plus those counted in `+N more` (in the blocks when there are blocks: the notification text
/// counts the same alerts again).
fn accounted(message: &Message, alerts: &[Alert]) -> (usize, usize) {
    let body = match &message.blocks {
        Some(blocks) => blocks.to_string(),
        None => serde_json::to_string(&message.text).unwrap(),
    };
    let shown = alerts
        .iter()
        .filter(|a| {
            body.contains(&format!("\"{}", a.object.url.as_deref().unwrap()))
                || body.contains(&format!("<{}|", a.object.url.as_deref().unwrap()))
        })
        .count();
    let more = body
        .match_indices('+')
        .filter_map(|(at, _)| {
            let digits: String = body[at + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let rest = &body[at + 1 + digits.len()..];
            (rest.starts_with(" more") && !digits.is_empty())
                .then(|| digits.parse::<usize>().unwrap())
        })
        .sum();
    (shown, more)
}

#[test]
fn a_200_alert_page_is_valid_and_accounts_for_every_alert_in_every_formatter() {
    let alerts = indicator_alerts(None, 200);
    let data = digest_of(alerts.clone(), 2, 3);
    for (name, formatter, sink) in all_formatters() {
        let message = formatter
            .format_data(&data)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        match sink {
            Sink::Slack => {
                let violations = validate(&slack_body(&message));
                assert!(violations.is_empty(), "{name}: {violations:?}");
                let (shown, more) = accounted(&message, &alerts);
                assert!(shown > 0, "{name} shows no alert");
                assert_eq!(shown + more, 200, "{name}: {shown} shown, {more} counted");
                assert!(message.text.contains("(2/3)"), "{name}: {}", message.text);
            }
            Sink::Webhook => {
                // webhooks have no size limit: every alert is in the body
                let body = tq_alerts::notifiers::webhook::payload(&data, &message);
                let listed = match name {
                    "template-json" => body.as_array().map(Vec::len),
                    _ => body["alerts"].as_array().map(Vec::len),
                };
                assert_eq!(listed, Some(200), "{name}");
            }
        }
    }
}

#[test]
fn a_200_alert_poll_in_pages_of_20_lists_every_alert_on_a_numbered_page() {
    let alerts = indicator_alerts(None, 200);
    let pages: Vec<MessageData> = alerts
        .chunks(20)
        .enumerate()
        .map(|(i, chunk)| {
            let mut page = digest_of(chunk.to_vec(), i + 1, 10);
            if let MessageData::Digest(d) = &mut page {
                d.total = 200;
            }
            page
        })
        .collect();
    for (name, formatter, sink) in all_formatters() {
        if sink == Sink::Webhook {
            continue;
        }
        let mut total = 0;
        for (i, page) in pages.iter().enumerate() {
            let message = formatter.format_data(page).unwrap();
            assert!(
                validate(&slack_body(&message)).is_empty(),
                "{name} page {i}"
            );
            assert!(
                message.text.contains(&format!("({}/10)", i + 1)),
                "{name}: page {} is not numbered: {}",
                i + 1,
                message.text
            );
            let (shown, more) = accounted(&message, page.alerts());
            assert_eq!(
                shown + more,
                20,
                "{name}: page {}: {shown} shown, {more} counted",
                i + 1
            );
            if name.starts_with("slack-blocks") {
                assert_eq!(shown, 20, "{name}: a page of 20 fits in its blocks");
            }
            total += shown + more;
        }
        assert_eq!(total, 200, "{name}");
    }
}

#[test]
fn a_digest_header_counts_the_poll_and_numbers_the_page() {
    let data = digest_of(indicator_alerts(None, 3), 1, 2);
    let (_, formatter, _) = all_formatters().into_iter().next().unwrap();
    let body = slack_body(&formatter.format_data(&data).unwrap());
    assert_eq!(
        body["blocks"][0]["text"]["text"],
        ":eyes: Watchlist: 3 alerts (1/2)"
    );
}
