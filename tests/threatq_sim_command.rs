//! `sim --threatq ADDR [--data DIR]` as an operator runs it: the simulator alone, saying how
//! to reach it, serving the shipped data or a folder of the same layout, and refusing a folder
//! it cannot read with a message that names the file.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tq-alerts-tui"))
}

#[test]
fn the_simulator_runs_alone_and_says_how_to_reach_it() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/threat-intel");
    let mut child = bin()
        .args(["sim", "--threatq", "127.0.0.1:0", "--data"])
        .arg(&data)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("ThreatQ simulator at ")
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    let mut described = vec![first];
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line == "Ctrl-C stops.";
        described.push(line);
        if done {
            break;
        }
    }
    let text = described.join("\n");
    assert!(text.contains("client_id = \"tq-alerts-sim\""), "{text}");
    assert!(text.contains("collection_hash = \""), "{text}");
    // It answers like ThreatQ: a login is required.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(async {
        reqwest::get(format!("{url}api/indicators"))
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status.as_u16(), 401);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_data_folder_that_is_not_threat_intel_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("eset")).unwrap();
    std::fs::write(dir.path().join("eset/broken.json"), "[]").unwrap();
    let out = bin()
        .args(["sim", "--threatq", "127.0.0.1:0", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("broken.json: not a MISP event"), "{stderr}");
}
