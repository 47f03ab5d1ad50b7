//! A real terminal for the console's tests: a private tmux server running bash, driven with
//! `send-keys` and read with `capture-pane`. With `CI=true` a missing tmux is a failure.
#![allow(dead_code)]

use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_tq-alerts-tui");

pub struct Tmux {
    pub socket: String,
    pub home: tempfile::TempDir,
}

impl Tmux {
    pub fn available() -> Option<Tmux> {
        let ok = Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "tmux is required when CI=true (.ci/run installs it)"
            );
            eprintln!("skipped: tmux is not installed");
            return None;
        }
        Some(Tmux {
            socket: format!("tq-alerts-test-{}-{}", std::process::id(), rand_suffix()),
            home: tempfile::tempdir().unwrap(),
        })
    }

    pub fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .unwrap()
    }

    /// A plain bash in a fresh session of `width`×`height`, with its own HOME.
    pub fn start_shell(&self, width: u16, height: u16) {
        let home = self.home.path().display().to_string();
        let out = self.tmux(&[
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "-e",
            "PS1=tq$ ",
            "-e",
            &format!("HOME={home}"),
            "-e",
            &format!("XDG_CONFIG_HOME={home}/config"),
            "-e",
            &format!("XDG_STATE_HOME={home}/state"),
            "-e",
            "TERM=xterm-256color",
            "bash",
            "--norc",
            "--noprofile",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status.success());
    }

    pub fn type_line(&self, line: &str) {
        self.keys(&["-l", line]);
        self.keys(&["Enter"]);
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "main"]).stdout)
            .into_owned()
    }

    pub fn wait_for(&self, what: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `q`, answering the in-flight question if it comes, then the prompt must work.
    pub fn quit_and_check_prompt(&self) {
        self.keys(&["q"]);
        std::thread::sleep(Duration::from_millis(400));
        if self.screen().contains("Quit anyway") {
            self.keys(&["y"]);
        }
        self.wait_for("the console to exit", Duration::from_secs(10), |s| {
            s.contains("tq$ ")
        });
        self.type_line("echo prompt-$((40+2))");
        let screen = self.wait_for("a usable prompt", Duration::from_secs(5), |s| {
            s.contains("prompt-42")
        });
        assert!(
            !screen.contains("Services"),
            "the alternate screen is gone:\n{screen}"
        );
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

pub fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
}
