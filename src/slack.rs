//! Slack: Block Kit types and their limits, the validator, mrkdwn (escaping and parsing),
//! emoji shortcodes, and the terminal drawing of a Slack message used by the console and
//! `preview`; the Web API client and the resolution of names to ids.

pub mod api;
pub mod blocks;
pub mod emoji;
pub mod limits;
pub mod mrkdwn;
pub mod payload;
pub mod render;
pub mod resolve;
pub mod validate;
