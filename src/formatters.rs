//! The built-in formatters (PRODUCT.md §3.3): `slack-blocks`, `template` and `plain`, with the
//! severity scale and the handling of untrusted ThreatQ text they share, and [`build`], which
//! makes one from its configuration.

pub mod plain;
pub mod samples;
pub mod severity;
pub mod slack_blocks;
pub mod template;
pub mod untrusted;

use std::sync::Arc;

pub use plain::PlainFormatter;
pub use severity::{Severity, format_score};
pub use slack_blocks::SlackBlocksFormatter;
pub use template::TemplateFormatter;

use crate::config::{FormatterConfig, FormatterKind};
use crate::formatter::{FormatError, Formatter};

/// The formatter a `[[formatters]]` entry describes; a template is compiled (and its names
/// checked) here, so a broken template is found when the configuration is built.
pub fn build(config: &FormatterConfig) -> Result<Arc<dyn Formatter>, FormatError> {
    Ok(match &config.kind {
        FormatterKind::SlackBlocks { notification_type } => {
            Arc::new(SlackBlocksFormatter::new(&config.name, *notification_type))
        }
        FormatterKind::Template { output, template } => Arc::new(TemplateFormatter::compile(
            &config.name,
            *output,
            template.clone(),
        )?),
        FormatterKind::Plain => Arc::new(PlainFormatter::new(&config.name)),
    })
}
