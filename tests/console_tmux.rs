//! The console in a real terminal: `demo` inside tmux at 120×40 and 80×24, read back with
//! `capture-pane` as a person would see it — deliveries arrive, a service is toggled, help
//! opens, the window is resized, `q` quits, and the shell prompt is back and usable.
//! With `CI=true` a missing tmux is a failure, not a skip.

mod tmux;

use std::time::Duration;

use tmux::{BIN, Tmux};

#[test]
fn demo_in_a_120_by_40_terminal_delivers_toggles_helps_resizes_and_quits() {
    let Some(t) = Tmux::available() else { return };
    t.start_shell(120, 40);
    t.type_line(&format!("{BIN} demo"));
    let screen = t.wait_for("deliveries", Duration::from_secs(30), |s| {
        s.contains("✓ delivered")
    });
    for pane in [
        "1 ▶ Services",
        "2 Attached",
        "3 Preview",
        "4 Worker",
        "5 Deliveries",
    ] {
        assert!(screen.contains(pane), "{pane} on screen:\n{screen}");
    }
    assert!(screen.contains("1/2 services on"), "{screen}");

    // Turn the second service on.
    t.keys(&["1", "j", "Space"]);
    let screen = t.wait_for("the toggle", Duration::from_secs(5), |s| {
        s.contains("2/2 services on")
    });
    assert!(
        screen.contains("'high-score-iocs' turned on — saved"),
        "{screen}"
    );

    t.keys(&["?"]);
    t.wait_for("help", Duration::from_secs(5), |s| {
        s.contains("turn the service on or off")
    });
    t.keys(&["Escape"]);
    t.wait_for("help to close", Duration::from_secs(5), |s| {
        !s.contains("turn the service on or off")
    });

    t.tmux(&["resize-window", "-t", "main", "-x", "80", "-y", "24"]);
    let screen = t.wait_for("the tabbed layout", Duration::from_secs(5), |s| {
        s.contains(" 1 Services   2 Attached   3 Preview")
    });
    assert!(screen.lines().all(|l| l.chars().count() <= 80), "{screen}");
    t.keys(&["5"]);
    t.wait_for("the deliveries tab", Duration::from_secs(5), |s| {
        s.contains("5 ▶ Deliveries")
    });

    t.quit_and_check_prompt();
}

#[test]
fn demo_in_an_80_by_24_terminal_is_usable_and_quits_cleanly() {
    let Some(t) = Tmux::available() else { return };
    t.start_shell(80, 24);
    t.type_line(&format!("{BIN} demo"));
    t.wait_for("the tab bar", Duration::from_secs(30), |s| {
        s.contains(" 1 Services   2 Attached")
    });
    t.keys(&["5"]);
    let screen = t.wait_for("deliveries", Duration::from_secs(30), |s| {
        s.contains("✓ delivered")
    });
    assert!(screen.lines().all(|l| l.chars().count() <= 80), "{screen}");
    t.keys(&["3"]);
    t.wait_for("the preview", Duration::from_secs(5), |s| {
        s.contains("3 ▶ Preview")
    });
    t.quit_and_check_prompt();
}

#[test]
fn a_key_press_shows_on_screen_at_once_not_at_the_next_tick() {
    let Some(t) = Tmux::available() else { return };
    t.start_shell(120, 40);
    t.type_line(&format!("{BIN} demo"));
    t.wait_for("the console", Duration::from_secs(30), |s| {
        s.contains("1 ▶ Services")
    });
    let mut took = Vec::new();
    for (key, marker) in [("2", "2 ▶ Attached"), ("1", "1 ▶ Services")]
        .iter()
        .cycle()
        .take(10)
    {
        let start = std::time::Instant::now();
        t.keys(&[key]);
        t.wait_for(marker, Duration::from_secs(5), |s| s.contains(marker));
        took.push(start.elapsed());
    }
    took.sort();
    let median = took[took.len() / 2];
    println!(
        "key press to changed screen through tmux: median {} ms, worst {} ms",
        median.as_millis(),
        took[took.len() - 1].as_millis()
    );
    // The clock ticks once a second: a key that waited for it would take ~500 ms on average.
    assert!(
        median < Duration::from_millis(250),
        "median {median:?}: {took:?}"
    );
    t.quit_and_check_prompt();
}
