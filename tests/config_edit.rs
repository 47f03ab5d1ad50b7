//! The console's edits written back into the config file (PRODUCT.md §4): comments and every
//! untouched byte survive, an outside change is refused, a save is atomic and keeps `.bak`.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use proptest::prelude::*;
use tq_alerts::config::{self, ConfigFile, EditError, FormatterKind};

const COMMENTED: &str = "tests/fixtures/config/edit/commented.toml";
const EDITED: &str = "tests/fixtures/config/edit/commented.edited.toml";
const NEW_TEMPLATE: &str =
    "*{{ object.value }}* \\ \"\"\" \ttab 🚨\n{% if object.score > 5 %}high{% endif %}\n";

fn dummy_env() -> HashMap<String, String> {
    [
        ("TQ_CLIENT_SECRET", "dummy-client-secret"),
        ("SLACK_BOT_TOKEN", "xoxb-dummy-token"),
        (
            "SOAR_WEBHOOK_URL",
            "https://soar.example.net/hooks/SECRETPATH",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// A private copy of the commented config in a fresh folder.
fn commented_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::copy(COMMENTED, &path).expect("copy fixture");
    (dir, path)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("read")
}

fn bak(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.bak", path.display()))
}

#[test]
fn toggle_attach_detach_formatter_and_template_keep_every_comment_and_untouched_byte() {
    let (_dir, path) = commented_copy();
    let mut file = ConfigFile::open(&path).expect("open");
    assert_eq!(file.text(), read(Path::new(COMMENTED)));
    assert!(!file.is_modified());

    file.set_service_enabled("watchlist", false)
        .expect("toggle");
    file.set_service_enabled("high-score-iocs", false)
        .expect("toggle adds `enabled`");
    file.attach_notifier("watchlist", "soar-hook")
        .expect("attach");
    file.detach_notifier("high-score-iocs", "soc-slack")
        .expect("detach");
    file.set_formatter("soar-hook", "compact")
        .expect("formatter");
    file.set_template("compact", NEW_TEMPLATE)
        .expect("template");
    assert!(file.is_modified());
    file.save(&dummy_env()).expect("save");

    assert_eq!(read(&path), read(Path::new(EDITED)));
    assert_eq!(read(&bak(&path)), read(Path::new(COMMENTED)));
    assert!(!file.is_modified());

    let config = config::load_with(&path, &dummy_env()).expect("edited config loads");
    assert!(!config.service("watchlist").expect("watchlist").enabled);
    assert!(!config.service("high-score-iocs").expect("hsi").enabled);
    assert_eq!(
        config.service("watchlist").expect("watchlist").notifiers,
        ["soc-slack", "soar-hook"]
    );
    assert_eq!(
        config.service("high-score-iocs").expect("hsi").notifiers,
        ["soar-hook"]
    );
    assert_eq!(
        config
            .notifier("soar-hook")
            .expect("hook")
            .formatter
            .as_deref(),
        Some("compact")
    );
    let FormatterKind::Template { template, .. } = &config.formatter("compact").expect("f").kind
    else {
        panic!("not a template");
    };
    assert_eq!(template, NEW_TEMPLATE);
}

#[test]
fn toggling_back_and_forth_restores_the_original_bytes() {
    let (_dir, path) = commented_copy();
    let mut file = ConfigFile::open(&path).expect("open");
    file.set_service_enabled("watchlist", false).expect("off");
    file.set_service_enabled("watchlist", true).expect("on");
    file.attach_notifier("watchlist", "soar-hook")
        .expect("attach");
    file.detach_notifier("watchlist", "soar-hook")
        .expect("detach");
    assert_eq!(file.text(), read(Path::new(COMMENTED)));
    assert!(!file.is_modified());
}

#[test]
fn an_outside_edit_in_between_is_refused_not_overwritten() {
    let (_dir, path) = commented_copy();
    let mut file = ConfigFile::open(&path).expect("open");
    file.set_service_enabled("watchlist", false)
        .expect("toggle");
    let outside = read(&path).replace("interval = \"5m\"", "interval = \"10m\"");
    std::fs::write(&path, &outside).expect("outside edit");
    assert!(file.changed_on_disk().expect("check"));

    let err = file.save(&dummy_env()).expect_err("refused");
    assert!(matches!(err, EditError::ChangedOnDisk { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "{} changed on disk since it was read; nothing was written (reload it, then make the change again)",
            path.display()
        )
    );
    assert_eq!(read(&path), outside);
    assert!(!bak(&path).exists());

    // After a reload the edit applies on top of the outside change.
    file.reload().expect("reload");
    assert!(!file.is_modified());
    file.set_service_enabled("watchlist", false)
        .expect("toggle");
    file.save(&dummy_env()).expect("save");
    let saved = read(&path);
    assert!(saved.contains("interval = \"10m\"") && saved.contains("enabled = false "));
}

#[test]
fn a_file_removed_since_it_was_read_is_not_recreated() {
    let (_dir, path) = commented_copy();
    let mut file = ConfigFile::open(&path).expect("open");
    file.set_service_enabled("watchlist", false)
        .expect("toggle");
    std::fs::remove_file(&path).expect("remove");
    let err = file.save(&dummy_env()).expect_err("refused");
    assert!(matches!(err, EditError::ChangedOnDisk { .. }), "{err}");
    assert!(!path.exists());
}

#[test]
fn consecutive_saves_need_no_reload() {
    let (_dir, path) = commented_copy();
    let mut file = ConfigFile::open(&path).expect("open");
    file.set_service_enabled("watchlist", false).expect("off");
    file.save(&dummy_env()).expect("first save");
    let first = read(&path);
    file.set_service_enabled("watchlist", true).expect("on");
    file.save(&dummy_env()).expect("second save");
    assert_eq!(read(&path), read(Path::new(COMMENTED)));
    assert_eq!(read(&bak(&path)), first);
}

#[test]
fn an_edit_that_makes_the_config_invalid_is_never_written() {
    let (_dir, path) = commented_copy();
    let mut file = ConfigFile::open(&path).expect("open");
    file.set_template("compact", "   ").expect("edit in memory");
    let err = file.save(&dummy_env()).expect_err("invalid");
    let EditError::Invalid(config_error) = &err else {
        panic!("unexpected {err}");
    };
    assert_eq!(config_error.diagnostics.len(), 1);
    assert!(
        config_error.diagnostics[0]
            .message
            .contains("`template` in [[formatters]] 'compact' must not be empty"),
        "{err}"
    );
    assert_eq!(read(&path), read(Path::new(COMMENTED)));
    assert!(!bak(&path).exists());

    // Saving also needs the secrets the config names: an unset variable is refused too.
    let mut file = ConfigFile::open(&path).expect("open");
    file.set_service_enabled("watchlist", false)
        .expect("toggle");
    let err = file.save(&HashMap::new()).expect_err("no secrets");
    assert!(
        err.to_string()
            .contains("environment variable `SLACK_BOT_TOKEN` is not set")
    );
    assert_eq!(read(&path), read(Path::new(COMMENTED)));
}

#[test]
fn edits_name_what_is_missing_and_suggest_what_was_meant() {
    let (_dir, path) = commented_copy();
    let mut file = ConfigFile::open(&path).expect("open");
    let shown = |r: Result<(), EditError>| r.expect_err("refused").to_string();
    let p = path.display();
    assert_eq!(
        shown(file.set_service_enabled("watchlists", true)),
        format!("service 'watchlists' not found in {p} — did you mean 'watchlist'?")
    );
    assert_eq!(
        shown(file.attach_notifier("watchlist", "soc-slak")),
        format!("notifier 'soc-slak' not found in {p} — did you mean 'soc-slack'?")
    );
    assert_eq!(
        shown(file.attach_notifier("watchlist", "soc-slack")),
        "notifier 'soc-slack' is already attached to service 'watchlist'"
    );
    assert_eq!(
        shown(file.detach_notifier("watchlist", "soar-hook")),
        "notifier 'soar-hook' is not attached to service 'watchlist'"
    );
    assert_eq!(
        shown(file.set_formatter("soc-slack", "zzz")),
        format!("formatter 'zzz' not found in {p}")
    );
    assert_eq!(
        shown(file.set_template("watchlist-blocks", "x")),
        "formatter 'watchlist-blocks' is of kind `slack-blocks`; only a `template` formatter has a template"
    );
    assert!(!file.is_modified());
}

#[test]
fn attach_creates_the_notifiers_array_when_a_service_has_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    let text = read(Path::new(COMMENTED))
        .replace("notifiers = [\"soc-slack\"]  # the SOC channel only\n", "");
    std::fs::write(&path, &text).expect("write");
    let mut file = ConfigFile::open(&path).expect("open");
    file.attach_notifier("watchlist", "soc-slack")
        .expect("attach");
    assert_eq!(
        file.text(),
        text.replace(
            "collections = [\"indicators\", \"events\", \"adversaries\"]\n",
            "collections = [\"indicators\", \"events\", \"adversaries\"]\nnotifiers = [\"soc-slack\"]\n"
        )
    );
}

#[test]
fn services_written_inline_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(
        &path,
        "services = [{ name = \"w\", kind = \"watchlist\" }]\n",
    )
    .expect("write");
    let mut file = ConfigFile::open(&path).expect("open");
    let err = file.set_service_enabled("w", false).expect_err("inline");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: the console edits `services` written as [[services]] tables; this file writes them another way",
            path.display()
        )
    );
}

#[test]
fn open_reports_a_toml_syntax_error_at_its_place() {
    let err = ConfigFile::open(Path::new("tests/fixtures/config/bad/syntax_error.toml"))
        .expect_err("not TOML");
    assert_eq!(
        err.to_string(),
        read(Path::new("tests/fixtures/config/bad/syntax_error.expected")).trim_end()
    );
}

#[cfg(unix)]
#[test]
fn save_keeps_the_file_mode_on_the_file_and_its_backup() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_dir, path) = commented_copy();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let mut file = ConfigFile::open(&path).expect("open");
    file.set_service_enabled("watchlist", false)
        .expect("toggle");
    file.save(&dummy_env()).expect("save");
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o640);
    assert_eq!(mode(&bak(&path)), 0o640);
}

#[cfg(unix)]
#[test]
fn a_symlinked_config_is_updated_where_it_lives() {
    let (dir, real) = commented_copy();
    let link = dir.path().join("link.toml");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let mut file = ConfigFile::open(&link).expect("open");
    file.set_service_enabled("watchlist", false)
        .expect("toggle");
    file.save(&dummy_env()).expect("save");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("stat")
            .file_type()
            .is_symlink()
    );
    assert!(read(&real).contains("enabled = false "));
    assert_eq!(read(&bak(&real)), read(Path::new(COMMENTED)));
}

#[test]
fn templates_with_backslashes_quotes_tabs_braces_and_unicode_survive_a_save() {
    let (_dir, path) = commented_copy();
    let templates = [
        "{{ object.value }}",
        "C:\\path\\{{ object.value }}\\",
        "\"\"\"triple\"\"\" and \"\"\"\" four \"",
        "\tindented\n\t\ttwice\n",
        "emoji 🚨 — ünïcödé « » \u{200b} {{ object.tags | join(\", \") }}",
        "{\"blocks\": [{\"type\": \"section\", \"text\": {\"type\": \"mrkdwn\", \"text\": \"{{ object.value }}\"}}]}\n",
        "ends in a quote\n\"",
        "line\r\nwith CRLF and \u{7} bell",
    ];
    for template in templates {
        let mut file = ConfigFile::open(&path).expect("open");
        file.set_template("compact", template).expect("template");
        file.save(&dummy_env()).expect("save");
        let config = config::load_with(&path, &dummy_env()).expect("loads");
        let FormatterKind::Template {
            template: read_back,
            ..
        } = &config.formatter("compact").expect("compact").kind
        else {
            panic!("not a template");
        };
        assert_eq!(read_back, template);
    }
}

proptest! {
    #[test]
    fn any_template_reads_back_byte_for_byte(template in "\\PC*[^ \t\r\n]\\PC*|(?s).{1,80}") {
        prop_assume!(!template.trim().is_empty());
        let (_dir, path) = commented_copy();
        let mut file = ConfigFile::open(&path).expect("open");
        file.set_template("compact", &template).expect("template");
        let config = config::parse(&file.text(), &path, &dummy_env()).expect("parses");
        let FormatterKind::Template { template: read_back, .. } =
            &config.formatter("compact").expect("compact").kind
        else {
            panic!("not a template");
        };
        prop_assert_eq!(read_back, &template);
    }
}

// ---- a kill during save ----

/// Set in the child: the config file it saves in a loop until killed.
const SAVE_LOOP: &str = "TQ_ALERTS_TEST_SAVE_LOOP";
/// Printed by the child once it is saving.
const SAVING: &str = "saving-in-a-loop";

/// In the parent's test run: repeated saves alternate the file between two versions and keep
/// the previous one as `.bak`. Re-run by `a_kill_during_save_never_leaves_a_truncated_config`
/// with `SAVE_LOOP` set, it saves the named file until it is killed.
#[test]
fn repeated_saves_alternate_the_two_versions_and_keep_the_previous_as_bak() {
    if let Ok(path) = std::env::var(SAVE_LOOP) {
        save_until_killed(Path::new(&path));
    }
    let (_dir, path) = commented_copy();
    let (a, b) = two_versions();
    let mut file = ConfigFile::open(&path).expect("open");
    for round in 0..10 {
        file.set_service_enabled("watchlist", round % 2 == 1)
            .expect("toggle");
        file.save(&dummy_env()).expect("save");
        let (now, before) = if round % 2 == 0 { (&b, &a) } else { (&a, &b) };
        assert_eq!(&read(&path), now);
        assert_eq!(&read(&bak(&path)), before);
    }
}

fn save_until_killed(path: &Path) -> ! {
    let mut file = ConfigFile::open(path).expect("child: open");
    let mut enabled = false;
    let mut announced = false;
    loop {
        file.set_service_enabled("watchlist", enabled)
            .expect("child: toggle");
        file.save(&dummy_env()).expect("child: save");
        enabled = !enabled;
        if !announced {
            println!("{SAVING}");
            announced = true;
        }
    }
}

/// The commented config with the watchlist on (as written) and off.
fn two_versions() -> (String, String) {
    let a = read(Path::new(COMMENTED));
    let b = a.replace(
        "enabled = true             # paused",
        "enabled = false             # paused",
    );
    assert_ne!(a, b);
    (a, b)
}

#[test]
fn a_kill_during_save_never_leaves_a_truncated_config() {
    let (a, b) = two_versions();
    let env = dummy_env();
    for _ in 0..12 {
        let (_dir, path) = commented_copy();
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "repeated_saves_alternate_the_two_versions_and_keep_the_previous_as_bak",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(SAVE_LOOP, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("child stdout");
        let saving = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.contains(SAVING));
        if !saving {
            let output = child.wait_with_output().expect("child output");
            panic!(
                "the child never started saving: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_micros(rand::random_range(0..20_000)));
        child.kill().expect("kill child");
        child.wait().expect("reap child");

        for file in [path.clone(), bak(&path)] {
            let text = read(&file);
            assert!(
                text == a || text == b,
                "{} is neither version after a kill:\n{text}",
                file.display()
            );
            config::parse(&text, &path, &env).expect("a valid config");
        }
    }
}
