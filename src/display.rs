//! How moments read on the pages.

use time::OffsetDateTime;

/// A moment to the minute, as the pages show it: `2026-11-22 18:05 UTC`.
pub fn minute(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.format(&f).unwrap_or_default()
}
