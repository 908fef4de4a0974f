//! How moments read on the pages: relative ("3 minutes ago") where people scan, with
//! the exact UTC time beside it for hover and for machines.

use time::OffsetDateTime;

/// A moment to the minute, as the pages show it: `2026-11-22 18:05 UTC`.
pub fn minute(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    t.format(&f).unwrap_or_default()
}

/// A moment to the second: `2026-11-22 18:05:09 UTC` (hover text, exports).
pub fn exact(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.format(&f).unwrap_or_default()
}

/// A moment for a `<time datetime>` attribute (RFC 3339).
pub fn machine(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// How long ago `t` was, seen at `now`: "just now", "3 minutes ago", "yesterday",
/// "5 days ago"; older than a month, the date itself.
pub fn relative(t: OffsetDateTime, now: OffsetDateTime) -> String {
    let secs = (now - t).whole_seconds();
    let plural = |n: i64, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one} ago")
        } else {
            format!("{n} {many} ago")
        }
    };
    match secs {
        i64::MIN..=-60 => minute(t),
        -59..=44 => "just now".into(),
        45..=3_569 => plural(((secs + 30) / 60).max(1), "minute", "minutes"),
        3_570..=86_399 => plural(((secs + 1_800) / 3_600).max(1), "hour", "hours"),
        86_400..=172_799 => "yesterday".into(),
        172_800..=2_591_999 => plural(secs / 86_400, "day", "days"),
        _ => {
            let f =
                time::macros::format_description!("[day padding:none] [month repr:short] [year]");
            t.format(&f).unwrap_or_default()
        }
    }
}

/// "1 entry", "3 entries": a count with the right form of its noun.
pub fn count(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A browser as people name it, from its User-Agent: "Firefox on Windows 10",
/// "Safari on iPhone". Unrecognised strings read "Unknown browser".
pub fn device(user_agent: &str) -> String {
    let Some(r) = woothee::parser::Parser::new().parse(user_agent) else {
        return "Unknown browser".into();
    };
    let known = |s: &str| !s.is_empty() && s != "UNKNOWN";
    match (known(r.name), known(r.os)) {
        (true, true) => format!("{} on {}", r.name, r.os),
        (true, false) => r.name.to_string(),
        (false, true) => format!("A browser on {}", r.os),
        (false, false) => "Unknown browser".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_named_by_browser_and_system() {
        let firefox =
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
        assert_eq!(device(firefox), "Firefox on Windows 10");
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
        assert_eq!(device(chrome), "Chrome on Linux");
        assert_eq!(device(""), "Unknown browser");
    }
    use time::macros::datetime;

    #[test]
    fn relative_times_read_naturally() {
        let now = datetime!(2026-12-02 12:00 UTC);
        let ago = |secs: i64| relative(now - time::Duration::seconds(secs), now);
        assert_eq!(ago(5), "just now");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(3 * 60), "3 minutes ago");
        assert_eq!(ago(3_600), "1 hour ago");
        assert_eq!(ago(5 * 3_600), "5 hours ago");
        assert_eq!(ago(30 * 3_600), "yesterday");
        assert_eq!(ago(4 * 86_400), "4 days ago");
        assert_eq!(ago(60 * 86_400), "3 Oct 2026");
    }

    #[test]
    fn counts_use_the_singular_for_one() {
        assert_eq!(count(1, "entry", "entries"), "1 entry");
        assert_eq!(count(0, "entry", "entries"), "0 entries");
        assert_eq!(count(2, "entry", "entries"), "2 entries");
    }
}
