//! The mrkdwn parser against cases derived from public Slack message parsers' test suites, and
//! the safety properties of the value helpers (escape once, code spans that hold).
//!
//! Each case names the suite it comes from. Outputs are written in a small HTML-like notation
//! (that of most of those suites): `<b>`, `<i>`, `<s>`, `<code>`, `<pre>`, `<blockquote>`,
//! `<a href="…">`, and `<@U1>`, `<#C1|name>`, `<!here>`, `<!subteam^S1|label>`,
//! `<!date^ts^format^link|fallback>`, `<!name>`, `<:name::skin-tone-N:>` for the rest; text is
//! HTML-escaped. Where suites disagree, `chose` says which behaviour we follow and why.

use proptest::prelude::*;
use tq_alerts::slack::mrkdwn::{self, Run, RunKind, RunStyle, code_span, escape, parse, unescape};
use tq_alerts::text::defang;

const POCKA: &str = "pocka/slack-message-parser mod_test.ts";
const POCKA_ISSUES: &str = "pocka/slack-message-parser tests/issues.test.ts";
const RUTAN: &str = "rutan/slack_markdown spec/slack_markdown/filters";
const RUTAN_PROCESSOR: &str = "rutan/slack_markdown spec/slack_markdown/processor_spec.rb";
const SORUNOME: &str = "Sorunome/slack-markdown test/single.test.js";
const SORUNOME_SLACK: &str = "Sorunome/slack-markdown test/slack.test.js";
const SORUNOME_ESCAPE: &str = "Sorunome/slack-markdown test/escape.test.js";
const MERCURY: &str = "MercuryTechnologies/slack-web tests/Web/Slack/MessageParserSpec.hs";
const SLACK_DOCS: &str = "Slack docs, Formatting text for app surfaces (docs.slack.dev/messaging/formatting-message-text)";

struct Case {
    from: &'static str,
    input: &'static str,
    expect: &'static str,
    /// Where suites disagree: the behaviour we chose, and why.
    chose: Option<&'static str>,
}

const fn case(from: &'static str, input: &'static str, expect: &'static str) -> Case {
    Case {
        from,
        input,
        expect,
        chose: None,
    }
}

const fn chose(
    from: &'static str,
    input: &'static str,
    expect: &'static str,
    why: &'static str,
) -> Case {
    Case {
        from,
        input,
        expect,
        chose: Some(why),
    }
}

#[rustfmt::skip]
const CASES: &[Case] = &[
    // --- text, code, code blocks
    case(POCKA, "foo bar", "foo bar"),
    case(POCKA, "`foo`", "<code>foo</code>"),
    case(POCKA, "` foo `", "<code> foo </code>"),
    case(POCKA, "```foo```", "<pre>foo</pre>"),
    case(POCKA, "``` foo ```", "<pre> foo </pre>"),
    case(POCKA, "``` foo ``` bar ``` baz ```", "<pre> foo </pre> bar <pre> baz </pre>"),
    case(POCKA, "``` ```", "``` ```"),
    case(POCKA, "foo```bar```baz", "foo```bar```baz"),
    // --- bold and its word boundaries
    case(POCKA, "*foo*", "<b>foo</b>"),
    case(POCKA, "foo *bar* baz", "foo <b>bar</b> baz"),
    case(POCKA, "foo*bar*baz", "foo*bar*baz"),
    case(POCKA, "*foo*bar", "*foo*bar"),
    case(POCKA, "foo * bar * baz", "foo * bar * baz"),
    case(POCKA, "*foo*?", "<b>foo</b>?"),
    case(POCKA, "*foo*!", "<b>foo</b>!"),
    case(POCKA, "*foo*.", "<b>foo</b>."),
    case(POCKA, "(*foo*)", "(<b>foo</b>)"),
    case(POCKA, ")*foo*(", ")*foo*("),
    case(POCKA, "[*foo*]", "[<b>foo</b>]"),
    case(POCKA, "]*foo*[", "]*foo*["),
    case(POCKA, "{*foo*}", "{<b>foo</b>}"),
    case(POCKA, "}*foo*{", "}*foo*{"),
    case(POCKA, "-*foo*=", "-<b>foo</b>="),
    // --- mentions, commands, links
    case(POCKA, "Hey, <@FOO>!", "Hey, <@FOO>!"),
    case(POCKA, "Goto <#FOO>?", "Goto <#FOO>?"),
    case(POCKA, "foo <!bar> baz", "foo <!bar> baz"),
    chose(POCKA, "<!foo^bar>", "<!foo>",
        "pocka keeps the arguments of unknown commands; Slack draws none of them, so we keep only the name"),
    case(POCKA, "Visit <http://foo.bar> or email to <mailto:foo@bar>",
        "Visit <a href=\"http://foo.bar\">http://foo.bar</a> or email to <a href=\"mailto:foo@bar\">mailto:foo@bar</a>"),
    chose(POCKA, "<http://foo|<http://bar>>",
        "&lt;<a href=\"http://foo\">http://foo</a>|<a href=\"http://bar\">http://bar</a>&gt;",
        "no nested links, as pocka; but bare URLs are linked as Slack does in messages we send \
         (pocka parses messages Slack has already linked)"),
    case(POCKA, "<http://foo|bar>", "<a href=\"http://foo\">bar</a>"),
    case(POCKA, "<http://foo|*bar ~baz~*>", "<a href=\"http://foo\"><b>bar <s>baz</s></b></a>"),
    // --- emoji
    case(POCKA, "foo :bar: baz", "foo <:bar:> baz"),
    case(POCKA, ":foo::skin-tone-1:", "<:foo::skin-tone-1:>"),
    case(POCKA, "ab:cd::ef::skin-tone-1:g:h::i:jk", "ab<:cd:><:ef::skin-tone-1:>g<:h:><:i:>jk"),
    case(POCKA, "foo:bar:baz", "foo<:bar:>baz"),
    case(POCKA, "(11/3 - 4:30pm): ok", "(11/3 - 4:30pm): ok"),
    // --- quotes
    chose(POCKA, "&gt; foo *bar*", "<blockquote>foo <b>bar</b></blockquote>",
        "pocka keeps the space after `>` (a lossless parse); rutan and Sorunome drop it, as Slack draws it"),
    case(POCKA, "foo\n&gt;bar", "foo\n<blockquote>bar</blockquote>"),
    case(POCKA, "foo\n&gt;&gt;&gt;bar\n\nbaz", "foo\n<blockquote>bar\n\nbaz</blockquote>"),
    case(POCKA, "foo&gt;bar", "foo&gt;bar"),
    case(POCKA, "&gt;&gt;&gt;", "<blockquote>&gt;&gt;</blockquote>"),
    chose(POCKA, "<@FOO|abc ~def _ghi *jkl :+1:* mno_ pqr~ stu ```vwx```>",
        "<@FOO|abc ~def _ghi *jkl :+1:* mno_ pqr~ stu ```vwx```>",
        "pocka parses a mention's label as mrkdwn; Sorunome reads it as the name to show. Slack \
         shows a name, never formatting, so the label stays plain"),
    // --- pocka's issues
    case(POCKA_ISSUES, "<http://foo/bar_baz>", "<a href=\"http://foo/bar_baz\">http://foo/bar_baz</a>"),
    case(POCKA_ISSUES,
        "This is _the_ *first* ~program~ `code of the rest of this` *file*, err, _file_, and by ~file~, I mean *file*.",
        "This is <i>the</i> <b>first</b> <s>program</s> <code>code of the rest of this</code> <b>file</b>, err, <i>file</i>, and by <s>file</s>, I mean <b>file</b>."),
    case(POCKA_ISSUES, ":a::b:", "<:a:><:b:>"),
    case(POCKA_ISSUES, "<mailto:foo@bar.baz?subject=Hello, World&body=https://foo.bar>",
        "<a href=\"mailto:foo@bar.baz?subject=Hello, World&amp;body=https://foo.bar\">mailto:foo@bar.baz?subject=Hello, World&amp;body=https://foo.bar</a>"),
    case(POCKA_ISSUES, "Test:\nTest 2:\nTest 3:", "Test:\nTest 2:\nTest 3:"),
    case(POCKA_ISSUES,
        "*Y*~ *N*` *Y*! *N*@ *Y*# *Y*$ *Y*% *Y*^ *N*& *N** *N*( *Y*) *N*_ *Y*- *Y*+ *Y*= *Y*{ *Y*} *Y*[ *Y*] *N*| *N*\\ *Y*; *Y*: *Y*' *Y*\" *N*< *Y*, *N*> *Y*. *Y*? *Y*/ *Y*",
        "<b>Y</b>~ *N*` <b>Y</b>! *N*@ <b>Y</b># <b>Y</b>$ <b>Y</b>% <b>Y</b>^ *N*&amp; *N** *N*( <b>Y</b>) *N*_ <b>Y</b>- <b>Y</b>+ <b>Y</b>= <b>Y</b>{ <b>Y</b>} <b>Y</b>[ <b>Y</b>] *N*| *N*\\ <b>Y</b>; <b>Y</b>: <b>Y</b>' <b>Y</b>\" *N*&lt; <b>Y</b>, *N*&gt; <b>Y</b>. <b>Y</b>? <b>Y</b>/ <b>Y</b>"),
    case(POCKA_ISSUES,
        "This is unquoted text\n&gt; This is quoted text\n&gt; This is still quoted text\nThis is unquoted text again",
        "This is unquoted text\n<blockquote>This is quoted text\nThis is still quoted text\n</blockquote>This is unquoted text again"),
    // --- rutan/slack_markdown filters
    case(RUTAN, "*hoge*", "<b>hoge</b>"),
    case(RUTAN, "hoge*fuga*poyo", "hoge*fuga*poyo"),
    case(RUTAN, "hoge *fuga* poyo", "hoge <b>fuga</b> poyo"),
    case(RUTAN, "_hoge_", "<i>hoge</i>"),
    case(RUTAN, "hoge_fuga_poyo", "hoge_fuga_poyo"),
    case(RUTAN, "hoge _fuga_ poyo", "hoge <i>fuga</i> poyo"),
    case(RUTAN, "~hoge~", "<s>hoge</s>"),
    case(RUTAN, "hoge~fuga~poyo", "hoge~fuga~poyo"),
    case(RUTAN, "hoge ~fuga~ poyo", "hoge <s>fuga</s> poyo"),
    case(RUTAN, "`hoge`", "<code>hoge</code>"),
    chose(RUTAN, "```\ndef hoge\n  1 + 1\nend\n```", "<pre>def hoge\n  1 + 1\nend</pre>",
        "rutan keeps the newline before the closing fence; Slack draws no empty last line in the block, \
         so one newline after the opening and one before the closing fence are dropped"),
    case(RUTAN, "&gt;&gt;&gt; hoge", "<blockquote>hoge</blockquote>"),
    case(RUTAN, "&gt;&gt;&gt;\nhoge\nfuga", "<blockquote>hoge\nfuga</blockquote>"),
    case(RUTAN, "&gt; hoge", "<blockquote>hoge</blockquote>"),
    case(RUTAN, "&gt; hoge\n&gt; fuga", "<blockquote>hoge\nfuga</blockquote>"),
    case(RUTAN, "&gt; hoge\n&gt; fuga\ntext\n&gt; hai", "<blockquote>hoge\nfuga\n</blockquote>text\n<blockquote>hai</blockquote>"),
    case(RUTAN, "Hello :smile:", "Hello <:smile:>"),
    case(RUTAN, ":ru_shalm: is my avatar", "<:ru_shalm:> is my avatar"),
    case(RUTAN_PROCESSOR,
        "<@U12345> <@U23456> <#C01S1JQMYKV|ru_shalm> *SlackMarkdown* is `text formatter` ~package~ _gem_ .\n> :ru_shalm: is <http://toripota.com/img/ru_shalm.png>",
        "<@U12345> <@U23456> <#C01S1JQMYKV|ru_shalm> <b>SlackMarkdown</b> is <code>text formatter</code> <s>package</s> <i>gem</i> .\n<blockquote><:ru_shalm:> is <a href=\"http://toripota.com/img/ru_shalm.png\">http://toripota.com/img/ru_shalm.png</a></blockquote>"),
    // --- Sorunome/slack-markdown (URLs replaced by a real published one)
    case(SORUNOME, "This is a *test* with *some bold* text in it", "This is a <b>test</b> with <b>some bold</b> text in it"),
    case(SORUNOME, "This is a _test_ with _some italicized_ text in it", "This is a <i>test</i> with <i>some italicized</i> text in it"),
    case(SORUNOME, "This is a _test_ with some_italicized_text in it", "This is a <i>test</i> with some_italicized_text in it"),
    case(SORUNOME, "Code: `1 + 1 = 2`", "Code: <code>1 + 1 = 2</code>"),
    chose(SORUNOME, "~this~that", "~this~that",
        "Sorunome strikes through without a boundary after the closing `~`; pocka and rutan require one, \
         and so does Slack for every marker (`hoge~fuga~poyo` stays literal)"),
    case(SORUNOME, "this ~ is a ~ test", "this ~ is a ~ test"),
    case(SORUNOME, "https://citizenlab.ca", "<a href=\"https://citizenlab.ca\">https://citizenlab.ca</a>"),
    case(SORUNOME, "<https://citizenlab.ca>", "<a href=\"https://citizenlab.ca\">https://citizenlab.ca</a>"),
    case(SORUNOME, "<https://citizenlab.ca|example>", "<a href=\"https://citizenlab.ca\">example</a>"),
    case(SORUNOME, "<https://citizenlab.ca|this is *awesome*>", "<a href=\"https://citizenlab.ca\">this is <b>awesome</b></a>"),
    case(SORUNOME, "new\nline", "new\nline"),
    case(SORUNOME, "text\n```code\nblock```\nmore text", "text\n<pre>code\nblock</pre>\nmore text"),
    case(SORUNOME, "```test```", "<pre>test</pre>"),
    case(SORUNOME, "```codeblock `backtick````", "<pre>codeblock `backtick`</pre>"),
    case(SORUNOME, "`test`\n\n```<>```", "<code>test</code>\n\n<pre>&lt;&gt;</pre>"),
    chose(SORUNOME, "Code: \\`1 + 1` = 2`", "Code: \\`1 + 1` = 2`",
        "Sorunome opens a code span right after `\\`; pocka opens markers only at a word boundary, \
         which is how Slack treats `*`, `_` and `~` too"),
    chose(SORUNOME, "> text\n > here", "<blockquote>text\n</blockquote> &gt; here",
        "Sorunome quotes a line whose `>` follows a space; pocka quotes only a `>` that starts the line"),
    case(SORUNOME, "hey\n> text\nhere", "hey\n<blockquote>text\n</blockquote>here"),
    case(SORUNOME, "> text\n> \n> here", "<blockquote>text\n\nhere</blockquote>"),
    case(SORUNOME, "blah :fox: blah", "blah <:fox:> blah"),
    chose(SORUNOME, "blah :asdf: blah", "blah <:asdf:> blah",
        "Sorunome leaves unknown emoji as text in its parser; ours parses every `:name:` and the renderer \
         shows unknown names as written, which draws the same"),
    case(SORUNOME, "_this is italic_regular", "_this is italic_regular"),
    case(SORUNOME_SLACK, "hey <@ID|user>!", "hey <@ID|user>!"),
    case(SORUNOME_SLACK, "hey <#ID|chan>!", "hey <#ID|chan>!"),
    case(SORUNOME_SLACK, "hey <!subteam^ID|usergroup>!", "hey <!subteam^ID|usergroup>!"),
    case(SORUNOME_SLACK, "hey <!here>!", "hey <!here>!"),
    case(SORUNOME_SLACK, "hey <!channel>!", "hey <!channel>!"),
    case(SORUNOME_SLACK, "hey <!everyone>!", "hey <!everyone>!"),
    chose(SORUNOME_ESCAPE, "<b>test</b>", "&lt;b&gt;test&lt;/b&gt;",
        "angle brackets around something that is no URL, mention or command stay literal text"),
    case(SORUNOME_ESCAPE, "¯\\_(ツ)_/¯", "¯\\_(ツ)_/¯"),
    case(SORUNOME_ESCAPE, "<https://citizenlab.ca?a&b>", "<a href=\"https://citizenlab.ca?a&amp;b\">https://citizenlab.ca?a&amp;b</a>"),
    // --- MercuryTechnologies/slack-web
    case(MERCURY, "hello", "hello"),
    case(MERCURY, "_hello_ *world* <http://www.google.com|google> `code` ```longer\ncode```",
        "<i>hello</i> <b>world</b> <a href=\"http://www.google.com\">google</a> <code>code</code> <pre>longer\ncode</pre>"),
    case(MERCURY, "link not closed <bad", "link not closed &lt;bad"),
    case(MERCURY, "false_positive", "false_positive"),
    case(MERCURY, "*_both_*", "<b><i>both</i></b>"),
    case(MERCURY, "inter *sper_ *sed_", "inter *sper_ *sed_"),
    case(MERCURY, "look at this:\n> test *wow*", "look at this:\n<blockquote>test <b>wow</b></blockquote>"),
    case(MERCURY, "look at this:\n```test *wow*```", "look at this:\n<pre>test *wow*</pre>"),
    // --- Slack's own documentation
    case(SLACK_DOCS, "<!date^1392734382^Posted {date_num} {time_secs}|Posted 2014-02-18 6:39:42 AM PST>",
        "<!date^1392734382^Posted {date_num} {time_secs}|Posted 2014-02-18 6:39:42 AM PST>"),
    case(SLACK_DOCS, "<!date^1392734382^{date} at {time}^https://citizenlab.ca|February 18th, 2014 at 6:39 AM PST>",
        "<!date^1392734382^{date} at {time}^https://citizenlab.ca|February 18th, 2014 at 6:39 AM PST>"),
    case(SLACK_DOCS, ":wave::skin-tone-3:", "<:wave::skin-tone-3:>"),
    case(SLACK_DOCS, "Why not join <#C024BE7LR>?", "Why not join <#C024BE7LR>?"),
    case(SLACK_DOCS, "Hey <@U024BE7LH>, thanks for submitting your report.", "Hey <@U024BE7LH>, thanks for submitting your report."),
    case(SLACK_DOCS, "<!subteam^SAZ94GDB8> on call", "<!subteam^SAZ94GDB8> on call"),
    case(SLACK_DOCS, "&lt;@U024BE7LH&gt; is no mention once escaped", "&lt;@U024BE7LH&gt; is no mention once escaped"),
    case(SLACK_DOCS, "R&amp;D &lt;3", "R&amp;D &lt;3"),
    case(SLACK_DOCS, "*bold* _italic_ ~strike~ `code` but **bold** __italic__ ~~strike~~ stay literal",
        "<b>bold</b> <i>italic</i> <s>strike</s> <code>code</code> but **bold** __italic__ ~~strike~~ stay literal"),
    case(SLACK_DOCS, "> raw quote marker", "<blockquote>raw quote marker</blockquote>"),
    chose(SLACK_DOCS, "So does this one: www.citizenlab.ca", "So does this one: www.citizenlab.ca",
        "Slack also links bare domains; we link only URLs with a scheme, since the domain rule needs \
         Slack's list of top-level domains — defanged values are never linked either way"),
    case(SLACK_DOCS, "<https://citizenlab.ca|Stealth Falcon report>, and <mailto:andrew.dwight389@outlook.com|mail>",
        "<a href=\"https://citizenlab.ca\">Stealth Falcon report</a>, and <a href=\"mailto:andrew.dwight389@outlook.com\">mail</a>"),
];

/// The runs in the notation of the case table.
fn html(runs: &[Run]) -> String {
    let mut out = String::new();
    let mut open: Vec<&'static str> = Vec::new();
    write_runs(&mut out, &mut open, runs);
    close_to(&mut out, &mut open, 0);
    out
}

fn tags(style: RunStyle) -> Vec<&'static str> {
    let mut tags = Vec::new();
    for (on, tag) in [
        (style.quote, "blockquote"),
        (style.bold, "b"),
        (style.italic, "i"),
        (style.strike, "s"),
    ] {
        if on {
            tags.push(tag);
        }
    }
    tags
}

fn close_to(out: &mut String, open: &mut Vec<&'static str>, keep: usize) {
    while open.len() > keep {
        let tag = open.pop().expect("len > keep");
        out.push_str(&format!("</{tag}>"));
    }
}

fn transition(out: &mut String, open: &mut Vec<&'static str>, style: RunStyle) {
    let want = tags(style);
    let common = open.iter().zip(&want).take_while(|(a, b)| a == b).count();
    close_to(out, open, common);
    for tag in &want[common..] {
        out.push_str(&format!("<{tag}>"));
        open.push(tag);
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn label(label: &Option<String>) -> String {
    label
        .as_ref()
        .map(|l| format!("|{}", esc(l)))
        .unwrap_or_default()
}

fn write_runs(out: &mut String, open: &mut Vec<&'static str>, runs: &[Run]) {
    for run in runs {
        transition(out, open, run.style);
        match &run.kind {
            RunKind::Text(t) => out.push_str(&esc(t)),
            RunKind::Newline => out.push('\n'),
            RunKind::Code(c) => out.push_str(&format!("<code>{}</code>", esc(c))),
            RunKind::Pre(p) => out.push_str(&format!("<pre>{}</pre>", esc(p))),
            RunKind::Link { url, label } => {
                out.push_str(&format!("<a href=\"{}\">", esc(url)));
                let keep = open.len();
                write_runs(out, open, label);
                transition(out, open, run.style);
                close_to(out, open, keep);
                out.push_str("</a>");
            }
            RunKind::User { id, label: l } => out.push_str(&format!("<@{}{}>", esc(id), label(l))),
            RunKind::Channel { id, label: l } => {
                out.push_str(&format!("<#{}{}>", esc(id), label(l)))
            }
            RunKind::Broadcast(b) => out.push_str(&format!("<!{}>", b.name())),
            RunKind::Subteam { id, label: l } => {
                out.push_str(&format!("<!subteam^{}{}>", esc(id), label(l)))
            }
            RunKind::Date {
                timestamp,
                format,
                link,
                fallback,
            } => {
                let link = link
                    .as_ref()
                    .map(|l| format!("^{}", esc(l)))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "<!date^{timestamp}^{}{link}|{}>",
                    esc(format),
                    esc(fallback)
                ));
            }
            RunKind::Command { name, label: l } => {
                out.push_str(&format!("<!{}{}>", esc(name), label(l)))
            }
            RunKind::Emoji { name, skin_tone } => {
                let tone = skin_tone
                    .map(|t| format!(":skin-tone-{t}:"))
                    .unwrap_or_default();
                out.push_str(&format!("<:{name}:{tone}>"));
            }
        }
    }
}

#[test]
fn case_table_has_at_least_80_cases_each_with_its_source() {
    assert!(CASES.len() >= 80, "only {} cases", CASES.len());
    for c in CASES {
        assert!(!c.from.is_empty(), "case {:?} names no source", c.input);
        if let Some(why) = c.chose {
            assert!(
                why.len() > 20,
                "case {:?} gives no reason for its choice",
                c.input
            );
        }
    }
}

#[test]
fn parser_matches_every_case_of_the_public_suites() {
    let mut failures = Vec::new();
    for c in CASES {
        let got = html(&parse(c.input));
        if got != c.expect {
            failures.push(format!(
                "from {}\n  input:  {:?}\n  expect: {:?}\n  got:    {:?}{}",
                c.from,
                c.input,
                c.expect,
                got,
                c.chose
                    .map(|w| format!("\n  chose:  {w}"))
                    .unwrap_or_default()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases fail:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn doubled_markers_stay_literal() {
    for input in ["**bold**", "__italic__", "~~strike~~", "``code``"] {
        assert_eq!(html(&parse(input)), input);
    }
}

#[test]
fn verbatim_text_links_no_bare_url() {
    let runs = mrkdwn::parse_with(
        "see https://citizenlab.ca",
        mrkdwn::ParseOptions { autolink: false },
    );
    assert_eq!(html(&runs), "see https://citizenlab.ca");
}

#[test]
fn r_and_d_arrives_escaped_once_and_reads_back_as_written() {
    let escaped = escape("R&D");
    assert_eq!(escaped, "R&amp;D");
    assert_eq!(html(&parse(&escaped)), "R&amp;D"); // the notation escapes `&` itself
    assert_eq!(plain(&parse(&escaped)), "R&D");
}

#[test]
fn code_spans_of_hostile_values_hold() {
    for value in [
        "a`b",
        "`<!here>`",
        "x` *bold* `y",
        "rule {\r\n  $a = \"`\"\r\n}",
        "```",
        "",
    ] {
        let runs = parse(&format!("value {} end", code_span(value)));
        assert_eq!(runs.len(), 3, "{value:?} → {runs:?}");
        assert!(
            matches!(&runs[1].kind, RunKind::Code(_)),
            "{value:?} → {runs:?}"
        );
    }
}

/// What a reader sees of the runs, as plain text (mentions and emoji as written).
fn plain(runs: &[Run]) -> String {
    let mut out = String::new();
    for run in runs {
        match &run.kind {
            RunKind::Text(t) | RunKind::Code(t) | RunKind::Pre(t) => out.push_str(t),
            RunKind::Newline => out.push('\n'),
            RunKind::Link { label, .. } => out.push_str(&plain(label)),
            other => out.push_str(&format!("{other:?}")),
        }
    }
    out
}

fn is_special(run: &Run) -> bool {
    matches!(
        run.kind,
        RunKind::User { .. }
            | RunKind::Channel { .. }
            | RunKind::Broadcast(_)
            | RunKind::Subteam { .. }
            | RunKind::Date { .. }
            | RunKind::Command { .. }
    )
}

proptest! {
    #[test]
    fn escaping_then_unescaping_gives_back_any_value(s in any::<String>()) {
        let escaped = escape(&s);
        prop_assert_eq!(unescape(&escaped), s.as_str());
    }

    /// For short text without markup, HTML or links, what Slack shows of the escaped value is
    /// the value: escaping happened exactly once.
    #[test]
    fn short_plain_values_read_back_as_written(s in "[A-Za-z0-9 &<>=;#%().,'\"/-]{0,40}") {
        let runs = parse(&format!("value: {}", escape(&s)));
        prop_assert_eq!(plain(&runs), format!("value: {s}"));
    }

    #[test]
    fn escaped_values_can_never_mention_link_or_command(s in any::<String>()) {
        let escaped = escape(&s);
        prop_assert!(!escaped.contains(['<', '>']));
        let runs = parse(&format!("x {} y", escaped));
        for run in &runs {
            prop_assert!(!is_special(run), "{:?} made {:?}", s, run);
        }
        // a defanged value is not even a bare link
        let runs = parse(&format!("x {} y", escape(&defang(&s))));
        for run in &runs {
            prop_assert!(!is_special(run) && !matches!(run.kind, RunKind::Link { .. }), "{:?} made {:?}", s, run);
        }
    }

    #[test]
    fn hostile_values_cannot_mention_or_link(s in "(<!here>|<!channel>|<!everyone>|<@U024BE7LH>|<#C0TQ>|<http://aax.me/0b152|x>|&amp;|&lt;|[a-z `*_~>&<|]){0,12}") {
        let runs = parse(&format!("x {} y", escape(&defang(&s))));
        for run in &runs {
            prop_assert!(!is_special(run) && !matches!(run.kind, RunKind::Link { .. }), "{:?} made {:?}", s, run);
        }
    }

    #[test]
    fn nothing_in_a_value_closes_its_code_span(s in any::<String>()) {
        let runs = parse(&format!("x {} y", code_span(&s)));
        prop_assert_eq!(runs.len(), 3, "{:?} → {:?}", s, runs);
        prop_assert!(matches!(&runs[1].kind, RunKind::Code(_)));
    }
}
