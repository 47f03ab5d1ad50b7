//! Names as an operator writes them, resolved against the Slack simulator exactly as PRODUCT.md
//! §6.4 says: across pages of 2, by display name, user name, real name, e-mail and id; refused
//! with the candidates or the missing name when they are archived, ambiguous, deactivated or
//! unknown; cached in the state file; and looked at without changes by `check --online`.

mod slack_common;

use std::time::Duration;

use slack_common::{api, api_with_token, options, sim};
use tq_alerts::config::{NotifierConfig, NotifierKind, Secret, SecretSource};
use tq_alerts::http::ClientOptions;
use tq_alerts::notifier::DeliverySettings;
use tq_alerts::notifiers::slack::{CheckLevel, check_online};
use tq_alerts::slack::api::ErrorClass;
use tq_alerts::slack::resolve::{Mode, TargetName, TargetResolver};
use tq_alerts::store::Store;

#[tokio::test]
async fn names_resolve_across_pages_of_two() {
    let sim = sim(options()).await;
    let resolver = TargetResolver::new(api(&sim), None);

    let tq = resolver
        .resolve(&TargetName::channel("#tq-alerts"), Mode::Send)
        .await
        .unwrap();
    assert_eq!(
        (tq.id.as_str(), tq.post_to.as_str()),
        ("C0TQALERT1", "C0TQALERT1")
    );
    assert_eq!(tq.label, "#tq-alerts");
    // #tq-alerts is last of 8 visible channels: the listing was followed to its 4th page.
    assert!(sim.calls_of("conversations.list") >= 4, "{:?}", sim.calls());

    // `general` is public and the bot is not in it: it joins.
    let general = resolver
        .resolve(&TargetName::channel("general"), Mode::Send)
        .await
        .unwrap();
    assert_eq!(general.post_to, "C0GENERAL1");
    assert_eq!(sim.calls_of("conversations.join"), 1);
    assert!(
        sim.workspace()
            .channel_by_id("C0GENERAL1")
            .unwrap()
            .bot_member
    );

    let private = resolver
        .resolve(&TargetName::channel("ir-private"), Mode::Send)
        .await
        .unwrap();
    assert_eq!(private.post_to, "G0IRPRIVT1");

    // A display name, an e-mail and an id reach the person's D… conversation.
    let by_display = resolver
        .resolve(&TargetName::user("analyst1"), Mode::Send)
        .await
        .unwrap();
    assert_eq!(by_display.id, "U0ANALYST1");
    assert_eq!(Some(by_display.post_to.clone()), sim.dm_of("U0ANALYST1"));
    assert!(by_display.post_to.starts_with('D'));
    assert_eq!(by_display.label, "@msantos (Maria Santos, U0ANALYST1)");

    let by_email = resolver
        .resolve(
            &TargetName::user("Daniel.Okafor@soc.tq-sim.test"),
            Mode::Send,
        )
        .await
        .unwrap();
    assert_eq!(by_email.id, "U0ANALYST2");
    assert_eq!(Some(by_email.post_to), sim.dm_of("U0ANALYST2"));

    let by_id = resolver
        .resolve(&TargetName::user("U0ALEXKIM1"), Mode::Send)
        .await
        .unwrap();
    assert_eq!(by_id.id, "U0ALEXKIM1");
    assert_eq!(Some(by_id.post_to), sim.dm_of("U0ALEXKIM1"));

    assert_eq!(sim.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn the_first_tier_with_a_match_decides() {
    let sim = sim(options()).await;
    let resolver = TargetResolver::new(api(&sim), None);
    let user = |name: &'static str| {
        let resolver = &resolver;
        async move {
            resolver
                .resolve(&TargetName::user(name), Mode::Check)
                .await
                .map(|r| r.id)
        }
    };
    // Jordan's display name is Sam's user name: the display-name tier comes first.
    assert_eq!(user("sec-oncall").await.unwrap(), "U0ONCALL01");
    assert_eq!(user("@SEC-ONCALL").await.unwrap(), "U0ONCALL01");
    // No display name: found by user name, then by real name.
    assert_eq!(user("analyst2").await.unwrap(), "U0ANALYST2");
    assert_eq!(user("daniel okafor").await.unwrap(), "U0ANALYST2");
    // The users listing was read once for all of these.
    assert!(
        sim.calls_of("users.list") <= 6,
        "{}",
        sim.calls_of("users.list")
    );
}

#[tokio::test]
async fn refusals_name_the_candidates_or_the_missing_name() {
    let sim = sim(options()).await;
    let resolver = TargetResolver::new(api(&sim), None);
    let fail = |target: TargetName| {
        let resolver = &resolver;
        async move { resolver.resolve(&target, Mode::Send).await.unwrap_err() }
    };

    let same_name = fail(TargetName::user("Alex Kim")).await;
    assert_eq!(same_name.word, "ambiguous_name");
    assert_eq!(same_name.class, ErrorClass::Permanent);
    let detail = same_name.detail.clone().unwrap();
    assert!(detail.contains("matches 2 people by real name"), "{detail}");
    assert!(
        detail.contains("@alex.kim (Alex Kim, U0ALEXKIM1)"),
        "{detail}"
    );
    assert!(detail.contains("@akim (Alex Kim, U0ALEXKIM2)"), "{detail}");

    let deleted = fail(TargetName::user("former.analyst")).await;
    assert_eq!(deleted.word, "user_not_found");
    assert!(deleted.detail.unwrap().contains("a deactivated account"));

    let slackbot = fail(TargetName::user("slackbot")).await;
    assert!(slackbot.detail.unwrap().contains("Slackbot"));
    let bot = fail(TargetName::user("threatq-integration")).await;
    assert!(bot.detail.unwrap().contains("a bot"));

    let unknown_user = fail(TargetName::user("analyst9")).await;
    assert_eq!(unknown_user.word, "user_not_found");
    assert!(unknown_user.detail.unwrap().contains("'analyst9'"));
    assert!(unknown_user.hint.unwrap().contains("did you mean 'analyst"));

    let archived = fail(TargetName::channel("#old-alerts")).await;
    assert_eq!(archived.word, "is_archived");
    assert!(archived.detail.unwrap().contains("#old-alerts is archived"));

    let unknown = fail(TargetName::channel("#tq-alert")).await;
    assert_eq!(unknown.word, "channel_not_found");
    assert!(
        unknown
            .detail
            .unwrap()
            .contains("no channel named #tq-alert among")
    );
    assert!(unknown.hint.unwrap().contains("did you mean #tq-alerts?"));

    // A private channel the bot is not in cannot be seen: the hint says to invite it.
    let hidden = fail(TargetName::channel("exec-briefings")).await;
    assert_eq!(hidden.word, "channel_not_found");
    assert!(
        hidden
            .hint
            .unwrap()
            .contains("invite the bot to #exec-briefings (/invite @tq-alerts)")
    );

    let no_email = fail(TargetName::user("chris.park@soc.tq-sim.test")).await;
    assert_eq!(no_email.word, "users_not_found");
    assert!(
        no_email
            .detail
            .unwrap()
            .contains("chris.park@soc.tq-sim.test")
    );
}

#[tokio::test]
async fn hostile_names_are_refused_with_a_message_not_a_panic() {
    let sim = sim(options()).await;
    let resolver = TargetResolver::new(api(&sim), None);
    for name in [
        "#",
        "  ",
        "\u{1b}]0;owned\u{7}",
        &"x".repeat(100_000),
        "#\u{202e}stressa",
    ] {
        let e = resolver
            .resolve(&TargetName::channel(name), Mode::Send)
            .await
            .unwrap_err();
        assert_eq!(e.word, "channel_not_found", "{name:?}");
        assert_eq!(e.class, ErrorClass::Permanent);
    }
    for name in ["@", "@@", "a@", "x y@z"] {
        let e = resolver
            .resolve(&TargetName::user(name), Mode::Send)
            .await
            .unwrap_err();
        assert!(
            ["user_not_found", "users_not_found"].contains(&e.word.as_str()),
            "{name:?}: {e}"
        );
    }
    assert_eq!(sim.accepted().len(), 0);
}

#[tokio::test]
async fn resolutions_are_cached_in_the_state_file_per_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("state.db")).unwrap();
    let sim = sim(options()).await;
    let first = TargetResolver::new(api(&sim), Some(store.clone()));
    let fresh = first
        .resolve(&TargetName::channel("#tq-alerts"), Mode::Send)
        .await
        .unwrap();
    assert!(!fresh.from_cache);
    let user = first
        .resolve(&TargetName::user("analyst1"), Mode::Send)
        .await
        .unwrap();
    let listings = sim.calls_of("conversations.list") + sim.calls_of("users.list");

    // A restart: a new resolver on the same state file lists nothing.
    let second = TargetResolver::new(api(&sim), Some(store.clone()));
    let cached = second
        .resolve(&TargetName::channel("tq-alerts"), Mode::Send)
        .await
        .unwrap();
    assert!(cached.from_cache);
    assert_eq!(cached.post_to, fresh.post_to);
    let cached_user = second
        .resolve(&TargetName::user("ANALYST1"), Mode::Send)
        .await
        .unwrap();
    assert_eq!(cached_user.post_to, user.post_to);
    assert_eq!(
        sim.calls_of("conversations.list") + sim.calls_of("users.list"),
        listings
    );
    let entry = store
        .slack_target(&sim.team_id(), "channel", "tq-alerts")
        .unwrap()
        .unwrap();
    assert_eq!(entry.id, "C0TQALERT1");
    // Another workspace's cache is not this one's.
    assert_eq!(
        store
            .slack_target("T0OTHERWS1", "channel", "tq-alerts")
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_rejected_token_is_named_by_its_variable_never_by_its_value() {
    let sim = sim(options()).await;
    let leaked = "xoxb-0000-wrong-token-value";
    let resolver = TargetResolver::new(api_with_token(&sim, leaked), None);
    let e = resolver
        .resolve(&TargetName::channel("#tq-alerts"), Mode::Send)
        .await
        .unwrap_err();
    assert_eq!(e.word, "invalid_auth");
    assert_eq!(e.class, ErrorClass::Permanent);
    let shown = e.to_string();
    assert!(shown.contains("$SLACK_BOT_TOKEN"), "{shown}");
    assert!(!shown.contains(leaked), "{shown}");
}

fn notifier_config(
    sim_api: &str,
    token: &str,
    channels: &[&str],
    users: &[&str],
) -> NotifierConfig {
    NotifierConfig {
        name: "soc-slack".into(),
        kind: NotifierKind::Slack {
            token: Secret::new(token, SecretSource::Env("SLACK_BOT_TOKEN".into())),
            channels: channels.iter().map(|s| s.to_string()).collect(),
            users: users.iter().map(|s| s.to_string()).collect(),
            api_url: url::Url::parse(sim_api).unwrap(),
        },
        formatter: None,
        delivery: DeliverySettings {
            timeout: Duration::from_secs(5),
            ..DeliverySettings::default()
        },
    }
}

#[tokio::test]
async fn check_online_resolves_everything_and_changes_nothing() {
    let sim = sim(options()).await;
    let config = notifier_config(
        &sim.api_url(),
        sim.token(),
        &["#tq-alerts", "general", "old-alerts"],
        &["analyst1", "Alex Kim"],
    );
    let lines = check_online(&config, &ClientOptions::default()).await;
    let shown: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    assert_eq!(lines.len(), 6, "{shown:#?}");
    assert_eq!(lines[0].level, CheckLevel::Ok);
    assert!(
        shown[0].contains("soc-slack auth.test: the token from $SLACK_BOT_TOKEN is @tq-alerts")
    );
    assert_eq!(lines[1].level, CheckLevel::Ok);
    assert!(shown[1].contains("#tq-alerts (C0TQALERT1)"));
    // Not a member: a warning that says sending will join.
    assert_eq!(lines[2].level, CheckLevel::Warning);
    assert!(shown[2].contains("joins at the first send"), "{}", shown[2]);
    assert_eq!(lines[3].level, CheckLevel::Error);
    assert!(shown[3].contains("is_archived"));
    assert_eq!(lines[4].level, CheckLevel::Ok);
    assert!(shown[4].contains("U0ANALYST1"));
    assert_eq!(lines[5].level, CheckLevel::Error);
    assert!(shown[5].contains("ambiguous_name"));
    // Nothing joined, no conversation opened, nothing posted.
    assert_eq!(sim.calls_of("conversations.join"), 0);
    assert_eq!(sim.calls_of("conversations.open"), 0);
    assert_eq!(sim.calls_of("chat.postMessage"), 0);
    assert!(
        !sim.workspace()
            .channel_by_id("C0GENERAL1")
            .unwrap()
            .bot_member
    );
}

#[tokio::test]
async fn check_online_stops_at_a_rejected_token() {
    let sim = sim(options()).await;
    let config = notifier_config(&sim.api_url(), "xoxb-revoked", &["#tq-alerts"], &[]);
    let lines = check_online(&config, &ClientOptions::default()).await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].level, CheckLevel::Error);
    let shown = lines[0].to_string();
    assert!(
        shown.contains("invalid_auth") && shown.contains("$SLACK_BOT_TOKEN"),
        "{shown}"
    );
    assert!(!shown.contains("xoxb-revoked"));
}
