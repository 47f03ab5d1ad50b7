//! The simulated workspace: channels and people chosen to exercise every rule of PRODUCT.md
//! §6.4 — an archived channel, one the bot is not in, a private one it cannot see, Slackbot,
//! a bot, a deactivated account, two people with the same real name, people without a display
//! name — and the JSON shapes Slack gives them.

use serde_json::{Value, json};

/// The bot the token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimBot {
    pub user_id: String,
    pub name: String,
    pub bot_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimChannel {
    pub id: String,
    pub name: String,
    pub is_private: bool,
    pub is_archived: bool,
    /// Whether the bot is in it.
    pub bot_member: bool,
    pub created: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimUser {
    pub id: String,
    pub name: String,
    pub real_name: String,
    /// Empty when the person set none (Slack then shows the real name).
    pub display_name: String,
    pub email: Option<String>,
    pub deleted: bool,
    pub is_bot: bool,
}

/// Everything the simulator knows about its workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub team_id: String,
    pub team: String,
    pub domain: String,
    pub bot: SimBot,
    pub channels: Vec<SimChannel>,
    pub users: Vec<SimUser>,
    /// `(user id, D… id)` of conversations opened so far.
    pub dms: Vec<(String, String)>,
}

fn channel(
    id: &str,
    name: &str,
    is_private: bool,
    is_archived: bool,
    bot_member: bool,
) -> SimChannel {
    SimChannel {
        id: id.into(),
        name: name.into(),
        is_private,
        is_archived,
        bot_member,
        created: 1_577_836_800,
    }
}

fn user(id: &str, name: &str, real_name: &str, display_name: &str, email: Option<&str>) -> SimUser {
    SimUser {
        id: id.into(),
        name: name.into(),
        real_name: real_name.into(),
        display_name: display_name.into(),
        email: email.map(String::from),
        deleted: false,
        is_bot: false,
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::soc()
    }
}

impl Workspace {
    /// A SOC team's workspace. Channel and user order is the listing order, so small pages
    /// split the names the tests look for across pages.
    pub fn soc() -> Self {
        let bot = SimBot {
            user_id: "U0TQBOT001".into(),
            name: "tq-alerts".into(),
            bot_id: "B0TQBOT001".into(),
        };
        let channels = vec![
            channel("C0GENERAL1", "general", false, false, false),
            channel("C0RANDOM01", "random", false, false, false),
            channel("C0OLDALRT1", "old-alerts", false, true, true),
            channel("C0SOCTRIA1", "soc-triage", false, false, true),
            channel("G0EXECBRF1", "exec-briefings", true, false, false),
            channel("C0VULNMGT1", "vuln-mgmt", false, false, false),
            channel("G0IRPRIVT1", "ir-private", true, false, true),
            channel("C0INTELFD1", "intel-feeds", false, false, true),
            channel("C0TQALERT1", "tq-alerts", false, false, true),
        ];
        let users = vec![
            SimUser {
                is_bot: false,
                ..user("USLACKBOT", "slackbot", "Slackbot", "Slackbot", None)
            },
            user(
                "U0ANALYST1",
                "msantos",
                "Maria Santos",
                "analyst1",
                Some("maria.santos@soc.tq-sim.test"),
            ),
            SimUser {
                is_bot: true,
                ..user(&bot.user_id, &bot.name, "ThreatQ Alerts", "", None)
            },
            user(
                "U0ANALYST2",
                "analyst2",
                "Daniel Okafor",
                "",
                Some("daniel.okafor@soc.tq-sim.test"),
            ),
            user(
                "U0ALEXKIM1",
                "alex.kim",
                "Alex Kim",
                "Alex",
                Some("alex.kim@soc.tq-sim.test"),
            ),
            SimUser {
                deleted: true,
                ..user(
                    "U0FORMER01",
                    "former.analyst",
                    "Chris Park",
                    "cpark",
                    Some("chris.park@soc.tq-sim.test"),
                )
            },
            user(
                "U0ALEXKIM2",
                "akim",
                "Alex Kim",
                "",
                Some("a.kim@soc.tq-sim.test"),
            ),
            SimUser {
                is_bot: true,
                ..user(
                    "U0INTEGRT1",
                    "threatq-integration",
                    "ThreatQ Integration",
                    "",
                    None,
                )
            },
            // The first tier with any match decides: `sec-oncall` is Jordan's display name and
            // Sam's user name; Jordan is meant.
            user(
                "U0ONCALL01",
                "jlee",
                "Jordan Lee",
                "sec-oncall",
                Some("jordan.lee@soc.tq-sim.test"),
            ),
            user(
                "U0ONCALL02",
                "sec-oncall",
                "Sam Rivera",
                "sam",
                Some("sam.rivera@soc.tq-sim.test"),
            ),
        ];
        Self {
            team_id: "T0TQSIM001".into(),
            team: "ThreatQ SOC (simulated)".into(),
            domain: "tq-soc-sim".into(),
            bot,
            channels,
            users,
            dms: Vec::new(),
        }
    }

    pub fn channel_by_id(&self, id: &str) -> Option<&SimChannel> {
        self.channels.iter().find(|c| c.id == id)
    }

    pub fn channel_by_name(&self, name: &str) -> Option<&SimChannel> {
        let name = name.trim_start_matches('#');
        self.channels
            .iter()
            .find(|c| c.name == name && !c.is_archived)
            .or_else(|| self.channels.iter().find(|c| c.name == name))
    }

    pub(super) fn channel_by_name_mut(&mut self, name: &str) -> Option<&mut SimChannel> {
        let name = name.trim_start_matches('#');
        self.channels.iter_mut().find(|c| c.name == name)
    }

    pub fn user_by_id(&self, id: &str) -> Option<&SimUser> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn dm_of(&self, user_id: &str) -> Option<&str> {
        self.dms
            .iter()
            .find(|(u, _)| u == user_id)
            .map(|(_, d)| d.as_str())
    }

    pub fn dm_owner(&self, dm: &str) -> Option<&str> {
        self.dms
            .iter()
            .find(|(_, d)| d == dm)
            .map(|(u, _)| u.as_str())
    }

    /// Channels the bot can see: every public one, and private ones it is in.
    pub fn visible(&self, channel: &SimChannel) -> bool {
        !channel.is_private || channel.bot_member
    }
}

impl SimChannel {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": !self.is_private,
            "is_group": false,
            "is_im": false,
            "is_mpim": false,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": self.name == "general",
            "is_member": self.bot_member,
            "created": self.created,
            "creator": "U0ANALYST1",
            "previous_names": [],
        })
    }
}

impl SimUser {
    pub fn to_json(&self, team_id: &str) -> Value {
        let mut profile = json!({
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.display_name,
            "display_name_normalized": self.display_name,
            "team": team_id,
        });
        if let Some(email) = &self.email {
            profile["email"] = json!(email);
        }
        json!({
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "is_bot": self.is_bot,
            "is_app_user": false,
            "profile": profile,
        })
    }
}
