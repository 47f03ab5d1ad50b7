//! Real published threat intelligence, shipped in `assets/threat-intel/` (see its README for
//! provenance and licences): Citizen Lab indicator CSVs and ESET MISP events, compiled in so the
//! demo, the simulators, tests and benchmarks need no files and never use made-up data.

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate};
use serde_json::Value;

/// One published report: a Citizen Lab investigation or an ESET MISP event.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// `citizenlab/201608_NSO_Group`, `eset/turla_misp-turla-outlook-event`.
    pub key: String,
    pub title: String,
    pub publisher: &'static str,
    pub published: NaiveDate,
    /// The report's own page, when the data links it.
    pub reference: Option<String>,
    /// Malware families and detection names named in the report.
    pub malware: Vec<String>,
    /// Threat actors the report attributes to.
    pub adversaries: Vec<String>,
    /// ATT&CK techniques (ESET galaxy tags).
    pub techniques: Vec<String>,
    pub indicators: Vec<PublishedIndicator>,
}

/// One indicator as published.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedIndicator {
    pub uuid: String,
    /// The MISP attribute type (`domain`, `url`, `md5`, `regkey`, ...).
    pub misp_type: String,
    pub category: String,
    pub value: String,
    pub comment: String,
    pub to_ids: bool,
    pub published: NaiveDate,
    /// The ThreatQ indicator type it maps to (`FQDN`, `URL`, `MD5`, ...).
    pub threatq_type: &'static str,
}

const CITIZEN_LAB: &[(&str, &str)] = &[
    (
        "201510_NGO_Burma",
        include_str!("../../assets/threat-intel/citizenlab/201510_NGO_Burma.csv"),
    ),
    (
        "201512_PackRAT",
        include_str!("../../assets/threat-intel/citizenlab/201512_PackRAT.csv"),
    ),
    (
        "201603_Shifting_Tactics",
        include_str!("../../assets/threat-intel/citizenlab/201603_Shifting_Tactics.csv"),
    ),
    (
        "201604_UP007_SLServer",
        include_str!("../../assets/threat-intel/citizenlab/201604_UP007_SLServer.csv"),
    ),
    (
        "201605_Stealth_Falcon",
        include_str!("../../assets/threat-intel/citizenlab/201605_Stealth_Falcon.csv"),
    ),
    (
        "201608_Group5",
        include_str!("../../assets/threat-intel/citizenlab/201608_Group5.csv"),
    ),
    (
        "201608_NSO_Group",
        include_str!("../../assets/threat-intel/citizenlab/201608_NSO_Group.csv"),
    ),
    (
        "201702_NilePhish",
        include_str!("../../assets/threat-intel/citizenlab/201702_NilePhish.csv"),
    ),
    (
        "201705_TaintedLeaks",
        include_str!("../../assets/threat-intel/citizenlab/201705_TaintedLeaks.csv"),
    ),
    (
        "201706_RecklessExploit",
        include_str!("../../assets/threat-intel/citizenlab/201706_RecklessExploit.csv"),
    ),
    (
        "201706_RecklessRedux",
        include_str!("../../assets/threat-intel/citizenlab/201706_RecklessRedux.csv"),
    ),
    (
        "201707_InsiderInfo",
        include_str!("../../assets/threat-intel/citizenlab/201707_InsiderInfo.csv"),
    ),
    (
        "201712_Cyberbit",
        include_str!("../../assets/threat-intel/citizenlab/201712_Cyberbit.csv"),
    ),
    (
        "201803_BadTraffic",
        include_str!("../../assets/threat-intel/citizenlab/201803_BadTraffic.csv"),
    ),
    (
        "201808_FamiliarFeeling",
        include_str!("../../assets/threat-intel/citizenlab/201808_FamiliarFeeling.csv"),
    ),
    (
        "201810_TheKingdomCameToCanada",
        include_str!("../../assets/threat-intel/citizenlab/201810_TheKingdomCameToCanada.csv"),
    ),
];

const ESET: &[(&str, &str)] = &[
    (
        "oceanlotus_oceanlotus-macOS.misp.event",
        include_str!("../../assets/threat-intel/eset/oceanlotus_oceanlotus-macOS.misp.event.json"),
    ),
    (
        "powerpool_misp-powerpool",
        include_str!("../../assets/threat-intel/eset/powerpool_misp-powerpool.json"),
    ),
    (
        "signsight_signsight-misp-event",
        include_str!("../../assets/threat-intel/eset/signsight_signsight-misp-event.json"),
    ),
    (
        "sshdoor_misp-events_endor",
        include_str!("../../assets/threat-intel/eset/sshdoor_misp-events_endor.json"),
    ),
    (
        "turla_misp-turla-outlook-event",
        include_str!("../../assets/threat-intel/eset/turla_misp-turla-outlook-event.json"),
    ),
    (
        "winnti_group_gaming_supply_chain.misp_event",
        include_str!(
            "../../assets/threat-intel/eset/winnti_group_gaming_supply_chain.misp_event.json"
        ),
    ),
];

/// Every report, Citizen Lab first (oldest first), then ESET.
pub fn reports() -> &'static [Report] {
    static REPORTS: LazyLock<Vec<Report>> = LazyLock::new(|| {
        let mut reports: Vec<Report> = CITIZEN_LAB
            .iter()
            .map(|(name, csv)| citizen_lab_report(name, csv))
            .collect();
        reports.extend(
            ESET.iter()
                .filter_map(|(name, json)| eset_report(name, json)),
        );
        reports
    });
    &REPORTS
}

/// Every indicator of every report, in report order.
pub fn indicators() -> impl Iterator<Item = (&'static Report, &'static PublishedIndicator)> {
    reports()
        .iter()
        .flat_map(|r| r.indicators.iter().map(move |i| (r, i)))
}

/// The ThreatQ indicator type for a MISP attribute type; `None` for what is not an indicator
/// (free text, reference links, actor names).
pub fn threatq_type(misp_type: &str) -> Option<&'static str> {
    Some(match misp_type {
        "domain" | "hostname" => "FQDN",
        "url" => "URL",
        "uri" => "URL Path",
        "md5" => "MD5",
        "sha1" | "filename|sha1" => "SHA-1",
        "sha256" => "SHA-256",
        "ip-dst" | "ip-src" => "IP Address",
        "email-src" | "email-dst" | "whois-registrant-email" => "Email Address",
        "filename" => "Filename",
        "regkey" => "Registry Key",
        "vulnerability" => "CVE",
        _ => return None,
    })
}

/// Why a data folder (`sim --data DIR`) cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a MISP CSV export (the first line must be `uuid,event_id,category,type,value,comment,to_ids,date`)", path.display())]
    NotMispCsv { path: std::path::PathBuf },
    #[error("{}: not a MISP event (expected `Event` or `response[0].Event` in JSON)", path.display())]
    NotMispEvent { path: std::path::PathBuf },
    #[error("{}: no reports found (expected citizenlab/*.csv and/or eset/*.json, as in assets/threat-intel/)", path.display())]
    Empty { path: std::path::PathBuf },
}

/// Reports from a folder laid out like `assets/threat-intel/`: `citizenlab/*.csv` (MISP CSV
/// exports named `YYYYMM_Title.csv`) and `eset/*.json` (MISP events), in file-name order.
pub fn reports_from_dir(dir: &std::path::Path) -> Result<Vec<Report>, DataError> {
    fn files(dir: &std::path::Path, ext: &str) -> Result<Vec<std::path::PathBuf>, DataError> {
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        let entries = std::fs::read_dir(dir).map_err(|source| DataError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut out: Vec<std::path::PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .collect();
        out.sort();
        Ok(out)
    }
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|source| DataError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    let stem = |path: &std::path::Path| {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    if !dir.is_dir() {
        return Err(DataError::Read {
            path: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder"),
        });
    }
    let mut reports = Vec::new();
    for path in files(&dir.join("citizenlab"), "csv")? {
        let text = read(&path)?;
        let header = parse_csv(&text).into_iter().next().unwrap_or_default();
        if header.len() != 8 || header.first().map(String::as_str) != Some("uuid") {
            return Err(DataError::NotMispCsv { path });
        }
        reports.push(citizen_lab_report(&stem(&path), &text));
    }
    for path in files(&dir.join("eset"), "json")? {
        let text = read(&path)?;
        let report = eset_report(&stem(&path), &text)
            .ok_or(DataError::NotMispEvent { path: path.clone() })?;
        reports.push(report);
    }
    if reports.is_empty() {
        return Err(DataError::Empty {
            path: dir.to_path_buf(),
        });
    }
    Ok(reports)
}

fn citizen_lab_report(name: &str, csv: &str) -> Report {
    let (stamp, title) = name.split_once('_').unwrap_or(("", name));
    let published = NaiveDate::parse_from_str(&format!("{stamp}01"), "%Y%m%d").unwrap_or_default();
    let mut report = Report {
        key: format!("citizenlab/{name}"),
        title: title.replace('_', " "),
        publisher: "Citizen Lab",
        published,
        reference: None,
        malware: Vec::new(),
        adversaries: Vec::new(),
        techniques: Vec::new(),
        indicators: Vec::new(),
    };
    for record in parse_csv(csv).into_iter().skip(1) {
        let [
            uuid,
            _event,
            category,
            misp_type,
            value,
            comment,
            to_ids,
            date,
        ] = match <[String; 8]>::try_from(record) {
            Ok(fields) => fields,
            Err(_) => continue,
        };
        match misp_type.as_str() {
            "link" => {
                report.reference.get_or_insert(value);
            }
            "threat-actor" => report.adversaries.push(value),
            "text" if category == "Payload type" => report.malware.push(value),
            _ => {
                if let Some(threatq_type) = threatq_type(&misp_type) {
                    report.indicators.push(PublishedIndicator {
                        uuid,
                        misp_type,
                        category,
                        value,
                        comment,
                        to_ids: to_ids == "1",
                        published: NaiveDate::parse_from_str(&date, "%Y%m%d").unwrap_or(published),
                        threatq_type,
                    });
                }
            }
        }
    }
    report
}

fn eset_report(name: &str, json: &str) -> Option<Report> {
    let root: Value = serde_json::from_str(json).ok()?;
    let event = root
        .get("Event")
        .or_else(|| root.get("response")?.get(0)?.get("Event"))?;
    let text = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let published = NaiveDate::parse_from_str(&text(event, "date"), "%Y-%m-%d").unwrap_or_default();
    let mut report = Report {
        key: format!("eset/{name}"),
        title: text(event, "info"),
        publisher: "ESET",
        published,
        reference: None,
        malware: Vec::new(),
        adversaries: Vec::new(),
        techniques: Vec::new(),
        indicators: Vec::new(),
    };
    for tag in event
        .get("Tag")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let tag = text(tag, "name");
        if let Some(actor) = galaxy_value(&tag, "misp-galaxy:threat-actor=") {
            report.adversaries.push(actor);
        } else if let Some(technique) = galaxy_value(&tag, "misp-galaxy:mitre-attack-pattern=") {
            report.techniques.push(technique);
        } else if !tag.contains(':') {
            report.malware.push(tag);
        }
    }
    for attribute in event
        .get("Attribute")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let misp_type = text(attribute, "type");
        let mut value = text(attribute, "value");
        let mut comment = text(attribute, "comment");
        match misp_type.as_str() {
            "link" => {
                report.reference.get_or_insert(value);
                continue;
            }
            "text" => {
                report.malware.push(value);
                continue;
            }
            "filename|sha1" => {
                // A file and its hash in one attribute: the hash is the indicator, the name its comment.
                if let Some((file, hash)) = value.split_once('|') {
                    comment = if comment.is_empty() {
                        file.to_string()
                    } else {
                        format!("{file} — {comment}")
                    };
                    value = hash.to_string();
                }
            }
            _ => {}
        }
        let Some(threatq_type) = threatq_type(&misp_type) else {
            continue;
        };
        let seconds: i64 = text(attribute, "timestamp").parse().unwrap_or_default();
        report.indicators.push(PublishedIndicator {
            uuid: text(attribute, "uuid"),
            misp_type,
            category: text(attribute, "category"),
            value,
            comment,
            to_ids: attribute
                .get("to_ids")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            published: DateTime::from_timestamp(seconds, 0)
                .map(|t| t.date_naive())
                .unwrap_or(published),
            threatq_type,
        });
    }
    Some(report)
}

/// `misp-galaxy:threat-actor="Turla Group"` → `Turla Group`.
fn galaxy_value(tag: &str, prefix: &str) -> Option<String> {
    let rest = tag.strip_prefix(prefix)?;
    Some(rest.trim_matches('"').to_string())
}

/// RFC 4180 CSV: quoted fields with doubled quotes, commas and line breaks inside quotes.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => record.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_published_report_is_loaded() {
        let reports = reports();
        assert_eq!(reports.len(), 22);
        let nso = reports
            .iter()
            .find(|r| r.key == "citizenlab/201608_NSO_Group")
            .unwrap();
        assert_eq!(nso.title, "NSO Group");
        assert!(
            nso.indicators
                .iter()
                .any(|i| i.value == "redcrossworld.com" && i.threatq_type == "FQDN")
        );
        let turla = reports
            .iter()
            .find(|r| r.publisher == "ESET" && r.title.contains("Turla"))
            .unwrap();
        assert_eq!(turla.adversaries, vec!["Turla Group".to_string()]);
        assert!(
            turla
                .indicators
                .iter()
                .any(|i| i.threatq_type == "Registry Key" && i.value.contains('\\'))
        );
    }

    #[test]
    fn hundreds_of_real_indicators_are_available() {
        assert!(indicators().count() > 650, "{}", indicators().count());
    }

    #[test]
    fn the_shipped_folder_reads_as_the_compiled_in_reports() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/threat-intel");
        let from_dir = reports_from_dir(&dir).unwrap();
        assert_eq!(from_dir.len(), reports().len());
        assert_eq!(from_dir[6].indicators, reports()[6].indicators);
    }

    #[test]
    fn a_broken_data_folder_names_the_file_at_fault() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            reports_from_dir(dir.path()),
            Err(DataError::Empty { .. })
        ));
        std::fs::create_dir_all(dir.path().join("citizenlab")).unwrap();
        std::fs::write(dir.path().join("citizenlab/201601_X.csv"), "a,b\n1,2\n").unwrap();
        let e = reports_from_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("201601_X.csv") && e.contains("MISP CSV"), "{e}");
        std::fs::remove_file(dir.path().join("citizenlab/201601_X.csv")).unwrap();
        std::fs::create_dir_all(dir.path().join("eset")).unwrap();
        std::fs::write(dir.path().join("eset/x.json"), "{\"Event\": 3").unwrap();
        let e = reports_from_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("x.json") && e.contains("MISP event"), "{e}");
        assert!(matches!(
            reports_from_dir(&dir.path().join("missing")),
            Err(DataError::Read { .. })
        ));
    }

    #[test]
    fn csv_quotes_commas_and_doubled_quotes_are_read() {
        let rows = parse_csv("a,\"b, c\",\"say \"\"hi\"\"\"\n1,2,3\n");
        assert_eq!(rows[0], vec!["a", "b, c", "say \"hi\""]);
        assert_eq!(rows[1], vec!["1", "2", "3"]);
    }
}
