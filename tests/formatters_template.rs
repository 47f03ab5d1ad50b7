//! The `template` formatter as an operator meets it: their own Slack markup works, values
//! beside it are escaped, a misspelt name is an error that says where and what was meant, and
//! each output (`mrkdwn`, `blocks`, `json`) makes the message it promises or none.

mod formatters_support;

use formatters_support::*;
use tq_alerts::alert::{Alert, Attribute, MessageData, NotificationType, ObjectKind, ThreatObject};
use tq_alerts::config::{FormatterConfig, FormatterKind, TemplateOutput};
use tq_alerts::formatter::{FormatError, Formatter};
use tq_alerts::formatters::TemplateFormatter;
use tq_alerts::formatters::samples::{digest_of, indicator_alerts};
use tq_alerts::worker::from_config::{BuildError, build_formatter};

/// A Citizen Lab indicator with hostile text in its value and sources.
fn alert(value: &str) -> Alert {
    let mut o = ThreatObject::new(ObjectKind::Indicator, 4412, value);
    o.object_type = Some("FQDN".into());
    o.score = Some(8.0);
    o.sources = vec!["Citizen Lab".into(), "R&D <!channel>".into()];
    o.attributes = vec![Attribute {
        name: "Comment".into(),
        value: "c2 server from Palo Alto study".into(),
    }];
    o.url = Some("https://threatq.example.net/indicators/4412/details".into());
    o.updated_at = Some("2016-06-05T09:05:00Z".parse().unwrap());
    let mut a = Alert::new("watchlist", NotificationType::Watchlist, o);
    a.detected_at = detected();
    a
}

fn render(
    output: TemplateOutput,
    template: &str,
    value: &str,
) -> Result<tq_alerts::Message, FormatError> {
    TemplateFormatter::compile("compact", output, template)?
        .format_data(&MessageData::single(alert(value)))
}

#[test]
fn operator_markup_passes_unchanged_while_the_value_beside_it_is_escaped() {
    let template =
        "<!here> <@U123> <https://citizenlab.ca/2016/05/stealth-falcon/|label> {{ object.value }}";
    let text = render(
        TemplateOutput::Mrkdwn,
        template,
        "<!channel> <@U024BE7LH> R&D",
    )
    .unwrap()
    .text;
    assert_eq!(
        text,
        "<!here> <@U123> <https://citizenlab.ca/2016/05/stealth-falcon/|label> &lt;!channel&gt; &lt;[@]U024BE7LH&gt; R&amp;D"
    );
    let e = effects(&serde_json::json!({ "text": text }));
    assert_eq!(e.mentions, vec!["!here", "@U123"]);
    assert_eq!(
        e.links,
        vec!["https://citizenlab.ca/2016/05/stealth-falcon/"]
    );
}

#[test]
fn the_same_holds_inside_block_kit_json() {
    let template = r#"[{"type": "section", "text": {"type": "mrkdwn", "text": "<!here> <https://citizenlab.ca/2016/05/stealth-falcon/|report> {{ object.value }}"}}]"#;
    let message = render(TemplateOutput::Blocks, template, "<!channel> \"},{\"x\":1").unwrap();
    let blocks = message.blocks.unwrap();
    assert_eq!(
        blocks[0]["text"]["text"],
        "<!here> <https://citizenlab.ca/2016/05/stealth-falcon/|report> &lt;!channel&gt; \"},{\"x\":1"
    );
    assert_eq!(
        blocks.as_array().unwrap().len(),
        1,
        "the value added no block"
    );
    assert!(
        message.text.contains("&lt;!channel&gt;"),
        "a fallback text is always there"
    );
}

#[test]
fn a_misspelt_field_names_the_template_line_column_and_what_was_meant() {
    let err = TemplateFormatter::compile("compact", TemplateOutput::Mrkdwn, "{{ object.sourse }}")
        .unwrap_err();
    assert_eq!(
        err,
        FormatError::Template {
            template: "compact".into(),
            line: 1,
            column: Some(11),
            message: "`object` has no field `sourse` — did you mean `sources`?".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "template 'compact' line 1, column 11: `object` has no field `sourse` — did you mean `sources`?"
    );
    // the config build reports it the same way, so `check` and the console do too
    let config = FormatterConfig {
        name: "compact".into(),
        kind: FormatterKind::Template {
            output: TemplateOutput::Mrkdwn,
            template: "{{ object.sourse }}".into(),
        },
    };
    match build_formatter(&config) {
        Err(BuildError::Template(e)) => assert_eq!(e, err),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("a misspelt field must not build"),
    }
}

#[test]
fn names_are_checked_on_every_line_and_inside_loops_when_they_render() {
    let err = TemplateFormatter::compile(
        "t",
        TemplateOutput::Mrkdwn,
        "first line\n  {{ alert.objekt.value }}",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "template 't' line 2, column 12: `alert` has no field `objekt` — did you mean `object`?"
    );
    let err =
        TemplateFormatter::compile("t", TemplateOutput::Mrkdwn, "{{ objekt.value }}").unwrap_err();
    assert!(
        err.to_string()
            .contains("`objekt` is not defined — did you mean `object`?"),
        "{err}"
    );
    // a loop variable's fields are only known when the loop runs
    let t = TemplateFormatter::compile(
        "t",
        TemplateOutput::Mrkdwn,
        "{% for a in object.attributes %}\n{{ a.nmae }}{% endfor %}",
    )
    .unwrap();
    let err = t
        .format_data(&MessageData::single(alert("usacia.websecexp.com")))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "template 't' line 2, column 6: `attribute` has no field `nmae` — did you mean `name`?"
    );
}

#[test]
fn a_syntax_error_says_where() {
    let err = TemplateFormatter::compile("t", TemplateOutput::Mrkdwn, "score {{ object.score ")
        .unwrap_err();
    let FormatError::Template {
        line,
        column,
        message,
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(line, 1);
    assert!(column.is_some());
    assert!(message.starts_with("syntax error"), "{message}");
}

#[test]
fn safe_is_refused_so_no_value_escapes_escaping() {
    let err = render(
        TemplateOutput::Mrkdwn,
        "{{ object.value|safe }}",
        "<!channel>",
    )
    .unwrap_err();
    assert!(err.to_string().contains("`safe` is not available"), "{err}");
}

#[test]
fn a_field_a_kind_does_not_have_is_none() {
    let mut a = alert("Stealth Falcon");
    a.object.kind = ObjectKind::Adversary;
    a.object.score = None;
    let t = TemplateFormatter::compile(
        "t",
        TemplateOutput::Mrkdwn,
        "{{ object.kind }} {{ object.value }}: {% if object.score is none %}no score{% endif %} ({{ object.score|severity }})",
    )
    .unwrap();
    assert_eq!(
        t.format_data(&MessageData::single(a)).unwrap().text,
        "adversary Stealth Falcon: no score (unscored)"
    );
}

#[test]
fn filters_defang_cut_encode_rate_and_date() {
    let t = TemplateFormatter::compile(
        "t",
        TemplateOutput::Json,
        r#"{"d": "{{ object.value|defang }}", "t": "{{ object.value|truncate(8) }}", "u": "{{ object.value|url }}",
            "s": "{{ object.score|severity }}", "a": "{{ object.updated_at|ago }}", "raw": "{{ object.value }}"}"#,
    )
    .unwrap();
    let body = t
        .format_data(&MessageData::single(alert("http://aax.me/0b152")))
        .unwrap()
        .body
        .unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "d": "hxxp://aax[.]me/0b152",
            "t": "http://…",
            "u": "http%3A%2F%2Faax%2Eme%2F0b152",
            "s": "high",
            "a": "3 hours ago",
            "raw": "http://aax.me/0b152"
        })
    );
}

#[test]
fn json_output_places_values_as_json_wherever_they_land() {
    let t = TemplateFormatter::compile(
        "soar",
        TemplateOutput::Json,
        r#"{"value": "{{ object.value }}", "score": {{ object.score }}, "tlp": {{ object.tlp }}, "sources": {{ object.sources }}, "n": {{ object.sources|length }}}"#,
    )
    .unwrap();
    let message = t
        .format_data(&MessageData::single(alert("\"},\"admin\":true,\"x\":{\"")))
        .unwrap();
    assert_eq!(
        message.body.unwrap(),
        serde_json::json!({
            "value": "\"},\"admin\":true,\"x\":{\"",
            "score": 8,
            "tlp": null,
            "sources": ["Citizen Lab", "R&D <!channel>"],
            "n": 2
        })
    );
}

#[test]
fn output_that_is_not_json_is_an_error_at_the_template_line_that_wrote_it() {
    let err = render(
        TemplateOutput::Json,
        "{\n  \"value\": \"{{ object.value }}\"\n  \"score\": {{ object.score }}\n}",
        "usacia.websecexp.com",
    )
    .unwrap_err();
    let FormatError::Template {
        template,
        line,
        message,
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(template, "compact");
    assert_eq!(line, 2, "{message}");
    assert!(
        message.starts_with("the output is not valid JSON"),
        "{message}"
    );
}

#[test]
fn blocks_beyond_slack_limits_are_an_error_never_a_message() {
    let template = r#"[{% for i in range(60) %}{"type": "divider"}{% if not loop.last %},{% endif %}{% endfor %}]"#;
    let err = render(TemplateOutput::Blocks, template, "usacia.websecexp.com").unwrap_err();
    assert!(err.to_string().contains("/blocks"), "{err}");
    let err = render(TemplateOutput::Blocks, "{\"type\": \"divider\"}", "x").unwrap_err();
    assert!(err.to_string().contains("array of blocks"), "{err}");
}

#[test]
fn long_values_are_cut_with_an_ellipsis_and_template_text_is_kept() {
    let long = format!("http://www.hjclub.info/{}", "a".repeat(10_000));
    let text = render(
        TemplateOutput::Mrkdwn,
        "<!here> `{{ object.value }}` end",
        &long,
    )
    .unwrap()
    .text;
    assert_eq!(text.chars().count(), 4000);
    assert!(text.starts_with("<!here> `hxxp://www[.]hjclub[.]info/aaa"));
    assert!(text.ends_with("…` end"), "{}", &text[text.len() - 20..]);
}

#[test]
fn a_digest_template_loops_over_alerts_and_a_single_alert_one_renders_each() {
    let digest = digest_of(indicator_alerts(None, 5), 2, 4);
    let aware = TemplateFormatter::compile(
        "d",
        TemplateOutput::Mrkdwn,
        "{{ digest.total }} alerts ({{ digest.page }}/{{ digest.pages }})\n{% for a in alerts %}• `{{ a.object.value }}`\n{% endfor %}",
    )
    .unwrap();
    let text = aware.format_data(&digest).unwrap().text;
    assert!(
        text.starts_with("5 alerts (2/4)\n• `usacia[.]websecexp[.]com`"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 6);

    let single =
        TemplateFormatter::compile("s", TemplateOutput::Mrkdwn, "`{{ object.value }}`").unwrap();
    let text = single.format_data(&digest).unwrap().text;
    assert!(
        text.starts_with(
            "*Watchlist: 5 alerts (2/4) from watchlist*\n\n`usacia[.]websecexp[.]com`"
        ),
        "{text}"
    );

    let err = TemplateFormatter::compile(
        "m",
        TemplateOutput::Mrkdwn,
        "{{ digest.page }} {{ object.value }}",
    )
    .unwrap()
    .format_data(&digest)
    .unwrap_err();
    assert!(err.to_string().contains("loop over `alerts`"), "{err}");
}

#[test]
fn half_typed_templates_compile_to_errors_with_a_place_never_a_panic() {
    // the console's editor compiles the text being edited on every key
    let text = MRKDWN_TEMPLATE;
    let mut errors = 0;
    for end in (0..text.len()).filter(|&i| text.is_char_boundary(i)) {
        if let Err(e) = TemplateFormatter::compile("editing", TemplateOutput::Mrkdwn, &text[..end])
        {
            let FormatError::Template { template, line, .. } = e else {
                panic!("{e:?}")
            };
            assert_eq!(template, "editing");
            assert!(line >= 1 && line <= text[..end].lines().count().max(1));
            errors += 1;
        }
    }
    assert!(errors > 100, "only {errors} prefixes failed to compile");
    assert!(TemplateFormatter::compile("editing", TemplateOutput::Mrkdwn, text).is_ok());
}

#[test]
fn a_runaway_template_fails_its_message_instead_of_stalling_the_sender() {
    use tq_alerts::config::TemplateOutput;
    use tq_alerts::formatter::Formatter;
    use tq_alerts::formatters::template::TemplateFormatter;
    let formatter = TemplateFormatter::compile(
        "runaway",
        TemplateOutput::Mrkdwn,
        "{% for i in range(100000) %}{% for j in range(100000) %}.{% endfor %}{% endfor %}",
    )
    .unwrap();
    let alert = tq_alerts::formatters::samples::indicator_alerts(None, 1).remove(0);
    let started = std::time::Instant::now();
    let err = formatter
        .format_data(&tq_alerts::alert::MessageData::single(alert))
        .unwrap_err();
    assert!(err.to_string().contains("fuel"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}
