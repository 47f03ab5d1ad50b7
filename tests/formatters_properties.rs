//! Properties of every formatter over any text from ThreatQ (PRODUCT.md §7.2, §7.3): placed in
//! any field, it cannot mention anyone, make a live link, or leave its code span; it is escaped
//! exactly once; indicator values are defanged in Slack and raw in webhook JSON.

mod formatters_support;

use formatters_support::*;
use proptest::prelude::*;
use tq_alerts::alert::{Alert, Attribute, MessageData, NotificationType, ObjectKind, ThreatObject};
use tq_alerts::config::TemplateOutput;
use tq_alerts::formatter::Formatter;
use tq_alerts::formatters::TemplateFormatter;
use tq_alerts::formatters::untrusted::one_line;
use tq_alerts::slack::mrkdwn::{BACKTICK_STAND_IN, RunKind, parse};
use tq_alerts::slack::validate::validate;
use tq_alerts::text::defang;

/// Pieces that mean something to Slack, to a terminal or to JSON.
fn hostile_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<!channel>".to_owned()),
        Just("<!here|here>".to_owned()),
        Just("<@U024BE7LH>".to_owned()),
        Just("<#C0TQALERTS>".to_owned()),
        Just("<!subteam^S0SOC>".to_owned()),
        Just("<http://aax.me/0b152|ThreatQ>".to_owned()),
        Just("http://usacia.websecexp.com/x".to_owned()),
        Just("sys.firewall-gateway.net".to_owned()),
        Just("andrew.dwight389@outlook.com".to_owned()),
        Just("`".to_owned()),
        Just("```".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("&".to_owned()),
        Just("&amp;".to_owned()),
        Just("&lt;".to_owned()),
        Just("<".to_owned()),
        Just(">".to_owned()),
        Just("|".to_owned()),
        Just("*_~".to_owned()),
        Just("\"},{\"type\":\"divider\"}".to_owned()),
        Just("\\".to_owned()),
        Just("\u{1b}[31m".to_owned()),
        Just("\u{1b}]52;c;ZWNobw==\u{7}".to_owned()),
        Just("\u{202E}".to_owned()),
        Just("\u{200B}".to_owned()),
        Just("{{ object.value }}".to_owned()),
        Just("\u{E000}0\u{E001}".to_owned()),
        Just(" ".to_owned()),
        "[a-zA-Z0-9 .:/-]{1,12}",
        any::<String>().prop_map(|s| s.chars().take(16).collect()),
    ]
}

fn hostile_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(hostile_piece(), 1..8).prop_map(|v| v.concat())
}

/// Which field the text goes into.
#[derive(Debug, Clone, Copy)]
enum Place {
    Value,
    Type,
    Status,
    Source,
    Tag,
    AttributeName,
    AttributeValue,
    Tlp,
    Description,
    Service,
}

const PLACES: [Place; 10] = [
    Place::Value,
    Place::Type,
    Place::Status,
    Place::Source,
    Place::Tag,
    Place::AttributeName,
    Place::AttributeValue,
    Place::Tlp,
    Place::Description,
    Place::Service,
];

/// A real indicator with `text` in `place`.
fn alert_with(kind: ObjectKind, place: Place, text: &str) -> Alert {
    let mut o = ThreatObject::new(kind, 4412, "usacia.websecexp.com");
    o.object_type = Some("FQDN".into());
    o.status = Some("Active".into());
    o.score = Some(8.0);
    o.sources = vec!["Citizen Lab".into()];
    o.tags = vec!["9002".into()];
    o.url = Some("https://threatq.example.net/indicators/4412/details".into());
    let mut service = "watchlist".to_owned();
    match place {
        Place::Value => o.value = text.to_owned(),
        Place::Type => o.object_type = Some(text.to_owned()),
        Place::Status => o.status = Some(text.to_owned()),
        Place::Source => o.sources.push(text.to_owned()),
        Place::Tag => o.tags.push(text.to_owned()),
        Place::AttributeName => o.attributes.push(Attribute {
            name: text.to_owned(),
            value: "c2 server from Palo Alto study".into(),
        }),
        Place::AttributeValue => o.attributes.push(Attribute {
            name: "Comment".into(),
            value: text.to_owned(),
        }),
        Place::Tlp => o.tlp = Some(text.to_owned()),
        Place::Description => o.description = Some(text.to_owned()),
        Place::Service => service = text.to_owned(),
    }
    let mut a = Alert::new(service, NotificationType::Watchlist, o);
    a.detected_at = detected();
    a
}

const OPERATOR_MENTIONS: &[&str] = &["!here", "!channel"];
const OPERATOR_LINK: &str = "https://www.virustotal.com/gui/search/";

fn check_inert(data: &MessageData) -> Result<(), TestCaseError> {
    let links = threatq_links(data);
    for (name, formatter, sink) in all_formatters() {
        let message = formatter
            .format_data(data)
            .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
        let body = match sink {
            Sink::Slack => slack_body(&message),
            // plain text may land in a chat too: read it as Slack would
            Sink::Webhook if message.body.is_none() => serde_json::json!({"text": message.text}),
            Sink::Webhook => continue,
        };
        if sink == Sink::Slack {
            let violations = validate(&body);
            prop_assert!(violations.is_empty(), "{}: {:?}", name, violations);
        }
        let e = effects(&body);
        for m in &e.mentions {
            prop_assert!(
                name.starts_with("template") && OPERATOR_MENTIONS.contains(&m.as_str()),
                "{}: mentions {}",
                name,
                m
            );
        }
        for l in &e.links {
            prop_assert!(
                links.contains(l) || l.starts_with(OPERATOR_LINK),
                "{}: links to {}",
                name,
                l
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn no_text_in_any_field_mentions_links_or_breaks_a_limit(
        text in hostile_text(),
        place in 0usize..PLACES.len(),
        kind in prop_oneof![Just(ObjectKind::Indicator), Just(ObjectKind::Event), Just(ObjectKind::Adversary)],
    ) {
        let alert = alert_with(kind, PLACES[place], &text);
        check_inert(&MessageData::single(alert.clone()))?;
        // and among others in a digest
        let mut second = alert_with(ObjectKind::Indicator, Place::Value, "sys.firewall-gateway.net");
        second.object.id = 4413;
        let digest = tq_alerts::formatters::samples::digest_of(vec![alert, second], 1, 3);
        check_inert(&digest)?;
    }

    #[test]
    fn an_indicator_value_stays_inside_its_code_span(text in hostile_text()) {
        prop_assume!(!text.contains(['\n', '\r']));
        let expected: String = one_line(&defang(&text))
            .trim()
            .chars()
            .map(|c| if c == '`' { BACKTICK_STAND_IN } else { c })
            .collect();
        prop_assume!(!expected.is_empty() && expected.chars().count() < 500);
        let alert = alert_with(ObjectKind::Indicator, Place::Value, text.trim());
        let data = MessageData::single(alert);
        let (_, formatter, _) = all_formatters().into_iter().next().unwrap();
        let body = slack_body(&formatter.format_data(&data).unwrap());
        let lead = body["blocks"][1]["text"]["text"].as_str().unwrap().to_owned();
        let code: Vec<String> = parse(&lead)
            .into_iter()
            .filter_map(|r| match r.kind { RunKind::Code(c) => Some(c), _ => None })
            .collect();
        // the whole value, unescaped once, is one code span: nothing closed it early
        prop_assert_eq!(code, vec![expected]);
    }

    #[test]
    fn values_are_escaped_exactly_once_and_lose_nothing(value in "[a-zA-Z0-9 &<>;!#|^]{1,40}") {
        prop_assume!(!value.trim().is_empty());
        let t = TemplateFormatter::compile("t", TemplateOutput::Mrkdwn, "[{{ object.sources[1] }}]").unwrap();
        let alert = alert_with(ObjectKind::Indicator, Place::Source, &value);
        let text = t.format_data(&MessageData::single(alert)).unwrap().text;
        let runs = parse(&text);
        let shown: String = runs.iter().map(|r| match &r.kind {
            RunKind::Text(t) => t.clone(),
            other => panic!("{value:?} made {other:?}"),
        }).collect();
        prop_assert_eq!(shown, format!("[{value}]"));
    }

    #[test]
    fn indicator_urls_are_defanged_in_slack_and_raw_in_webhook_json(
        scheme in prop_oneof![Just("http"), Just("https"), Just("HTTP")],
        host in "[a-z]{2,10}(\\.[a-z]{2,8}){1,3}",
        path in "(/[a-zA-Z0-9_-]{1,8}){0,3}",
    ) {
        prop_assume!(!"https://threatq.example.net/indicators/4412/details".contains(&host));
        let value = format!("{scheme}://{host}{path}");
        let alert = alert_with(ObjectKind::Indicator, Place::Value, &value);
        let data = MessageData::single(alert);
        for (name, formatter, sink) in all_formatters() {
            let message = formatter.format_data(&data).unwrap();
            match sink {
                Sink::Slack => {
                    let body = serde_json::to_string(&slack_body(&message)).unwrap();
                    prop_assert!(!body.contains(&host), "{}: raw host in {}", name, body);
                    prop_assert!(body.contains(&defang(&value).replace('"', "\\\"")), "{}: {}", name, body);
                }
                Sink::Webhook => {
                    prop_assert!(!message.text.contains(&host), "{}: raw host in plain text", name);
                    let body = tq_alerts::notifiers::webhook::payload(&data, &message);
                    let raw = if name == "template-json" { &body["indicator"] } else { &body["alert"]["value"] };
                    prop_assert_eq!(raw.as_str(), Some(value.as_str()), "{}", name);
                }
            }
        }
    }
}
