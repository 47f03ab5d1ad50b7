//! `demo --headless --for DURATION` as a user runs it: nothing installed, the simulator and a
//! receiver on loopback, runs and deliveries printed as lines, a clean stop when the time is
//! up.

use std::process::Command;

#[test]
fn the_headless_demo_delivers_and_stops_by_itself() {
    let started = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_tq-alerts-tui"))
        .args(["demo", "--headless", "--for", "7s"])
        .env_remove("TQ_ALERTS_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert!(
        stdout.starts_with("demo: ThreatQ simulator at http://127.0.0.1:"),
        "{stdout}"
    );
    assert!(stdout.contains("watchlist: run ok"), "{stdout}");
    assert!(stdout.contains("soar-hook → 127.0.0.1:"), "{stdout}");
    assert!(
        stdout.contains("soc-slack → #tq-alerts: delivered"),
        "{stdout}"
    );
    assert!(stdout.contains(": delivered "), "{stdout}");
    assert!(
        stdout.contains("threatq sim: "),
        "the simulator keeps touching objects: {stdout}"
    );
    let last = stdout.lines().last().unwrap();
    // "demo: stopped; Slack accepted N message(s), the webhook receiver got M"
    let counts: Vec<usize> = last
        .strip_prefix("demo: stopped; Slack accepted ")
        .unwrap_or_else(|| panic!("{last}"))
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert_eq!(counts.len(), 2, "{last}");
    assert!(
        counts.iter().all(|n| *n >= 1),
        "both receivers got messages: {last}"
    );
    // The secrets of the demo's own ThreatQ stay in its files.
    assert!(
        !stdout.contains("client_secret") && !stderr.contains("secret"),
        "{stdout}{stderr}"
    );
}

#[test]
fn the_console_demo_without_a_terminal_points_to_headless() {
    let out = Command::new(env!("CARGO_BIN_EXE_tq-alerts-tui"))
        .args(["demo"])
        .stdout(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("needs a terminal") && stderr.contains("demo --headless"),
        "{stderr}"
    );
}

#[test]
fn a_bad_duration_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_tq-alerts-tui"))
        .args(["demo", "--headless", "--for", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--for"));
}
