//! Every size limit Slack puts on a message, in one place, each with the page that states it
//! (PRODUCT.md §6.4). Lengths count Unicode code points (`str::chars`), not bytes: that is how
//! Slack counts, and how `crate::text::truncate` cuts.

/// Blocks in one message (`blocks` of `chat.postMessage`, and of one attachment).
/// Source: Block Kit reference, "Blocks" — <https://docs.slack.dev/reference/block-kit/blocks>
/// ("You can include up to 50 blocks in each message").
pub const MAX_BLOCKS: usize = 50;

/// `block_id` of any block.
/// Source: every block page, e.g. <https://docs.slack.dev/reference/block-kit/blocks/section-block>
/// ("Maximum length for this field is 255 characters").
pub const MAX_BLOCK_ID: usize = 255;

/// `text.text` of a section block.
/// Source: <https://docs.slack.dev/reference/block-kit/blocks/section-block>
/// ("Minimum length for the text in this field is 1 and maximum length is 3000 characters").
pub const MAX_SECTION_TEXT: usize = 3000;

/// Items in a section's `fields`.
/// Source: <https://docs.slack.dev/reference/block-kit/blocks/section-block>
/// ("Maximum number of items is 10").
pub const MAX_SECTION_FIELDS: usize = 10;

/// `text` of one section field.
/// Source: <https://docs.slack.dev/reference/block-kit/blocks/section-block>
/// ("Maximum length for the text in each item is 2000 characters").
pub const MAX_SECTION_FIELD_TEXT: usize = 2000;

/// `text.text` of a header block (which must be `plain_text`).
/// Source: <https://docs.slack.dev/reference/block-kit/blocks/header-block>
/// ("Maximum length for the text in this field is 150 characters").
pub const MAX_HEADER_TEXT: usize = 150;

/// Items in a context block's `elements`.
/// Source: <https://docs.slack.dev/reference/block-kit/blocks/context-block> ("Maximum number of
/// items is 10").
pub const MAX_CONTEXT_ELEMENTS: usize = 10;

/// Items in an actions block's `elements`.
/// Source: <https://docs.slack.dev/reference/block-kit/blocks/actions-block> ("There is a maximum
/// of 25 elements in each action block").
pub const MAX_ACTIONS_ELEMENTS: usize = 25;

/// `text.text` of a button.
/// Source: <https://docs.slack.dev/reference/block-kit/block-elements/button-element>
/// ("Maximum length for the text in this field is 75 characters").
pub const MAX_BUTTON_TEXT: usize = 75;

/// `url` of a button.
/// Source: <https://docs.slack.dev/reference/block-kit/block-elements/button-element>
/// ("Maximum length for this field is 3000 characters").
pub const MAX_BUTTON_URL: usize = 3000;

/// `value` of a button.
/// Source: <https://docs.slack.dev/reference/block-kit/block-elements/button-element>
/// ("Maximum length for this field is 2000 characters").
pub const MAX_BUTTON_VALUE: usize = 2000;

/// `action_id` of an interactive element.
/// Source: <https://docs.slack.dev/reference/block-kit/block-elements/button-element>
/// ("Maximum length for this field is 255 characters").
pub const MAX_ACTION_ID: usize = 255;

/// Top-level `text` of a message. Slack truncates `text` past 40,000 characters and asks apps
/// to keep it to 4,000; the product keeps it there (PRODUCT.md §6.4, §7.3).
/// Source: <https://docs.slack.dev/reference/methods/chat.postMessage> ("Truncating content").
pub const MAX_MESSAGE_TEXT: usize = 4000;

/// The number of code points in `s`, the unit every limit above is counted in.
pub fn length(s: &str) -> usize {
    s.chars().count()
}
