//! The variable reader behind [`super::Settings`].

use std::time::Duration;

use url::Url;

use super::ConfigProblem;

/// Reads variables and collects every problem found, to report them all at once.
pub(super) struct Reader<'a> {
    pub(super) get: &'a dyn Fn(&str) -> Option<String>,
    pub(super) problems: Vec<ConfigProblem>,
}

impl Reader<'_> {
    pub(super) fn problem(&mut self, variable: &'static str, message: String) {
        self.problems.push(ConfigProblem { variable, message });
    }

    pub(super) fn text(&self, name: &str) -> Option<String> {
        (self.get)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn parsed<T: std::str::FromStr>(
        &mut self,
        name: &'static str,
        expected: &str,
    ) -> Option<T> {
        let raw = self.text(name)?;
        match raw.parse() {
            Ok(v) => Some(v),
            Err(_) => {
                self.problem(name, format!("`{raw}` is not valid: expected {expected}"));
                None
            }
        }
    }

    pub(super) fn number(&mut self, name: &'static str, min: u32, max: u32) -> Option<u32> {
        let v: u32 = self.parsed(name, &format!("a whole number from {min} to {max}"))?;
        if v < min || v > max {
            self.problem(name, format!("{v} is out of range: use {min} to {max}"));
            return None;
        }
        Some(v)
    }

    /// A duration in the unit its variable's name ends with (`_MS`, `_SECS`,
    /// `_SECONDS`, `_MINUTES`, `_HOURS`, `_DAYS`), between `min` and `max` units (else a
    /// problem naming the range); `default` units when unset.
    pub(super) fn duration(
        &mut self,
        name: &'static str,
        min: u32,
        max: u32,
        default: u32,
    ) -> Duration {
        unit_of(name) * self.number(name, min, max).unwrap_or(default)
    }

    pub(super) fn flag(&mut self, name: &'static str) -> Option<bool> {
        let raw = self.text(name)?;
        match raw.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Some(true),
            "0" | "false" | "no" | "off" => Some(false),
            _ => {
                self.problem(
                    name,
                    format!("`{raw}` is not a yes/no value: use true or false"),
                );
                None
            }
        }
    }

    pub(super) fn ip_list(&mut self, name: &'static str) -> Vec<std::net::IpAddr> {
        let Some(list) = self.text(name) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item.parse() {
                Ok(ip) => out.push(ip),
                Err(_) => self.problem(
                    name,
                    format!("`{item}` is not an IP address; list addresses separated by commas"),
                ),
            }
        }
        out
    }

    pub(super) fn service_url(
        &mut self,
        name: &'static str,
        schemes: &[&str],
        dev_default: &str,
        prod: bool,
    ) -> String {
        let Some(raw) = self.text(name) else {
            if prod {
                self.problem(
                    name,
                    format!("is required in production, e.g. {dev_default}"),
                );
            }
            return dev_default.to_string();
        };
        match Url::parse(&raw) {
            Ok(u) if schemes.contains(&u.scheme()) => {
                if u.host_str() == Some("localhost") {
                    self.problem(
                        name,
                        "uses `localhost`: write 127.0.0.1 instead, so the client does not try IPv6 first or a different resolver".into(),
                    );
                }
            }
            // The URL itself may hold a password: never echo it.
            _ => self.problem(
                name,
                format!("is not a valid {} URL, e.g. {dev_default}", schemes[0]),
            ),
        }
        raw
    }
}

/// The unit a duration variable's name promises.
fn unit_of(name: &str) -> Duration {
    let secs = |n| Duration::from_secs(n);
    match name.rsplit('_').next() {
        Some("MS") => Duration::from_millis(1),
        Some("MINUTES") => secs(60),
        Some("HOURS") => secs(3600),
        Some("DAYS") => secs(86_400),
        // `_SECS`, `_SECONDS`.
        _ => secs(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_comes_from_the_name() {
        assert_eq!(unit_of("AUTHENTIK_TIMEOUT_MS"), Duration::from_millis(1));
        assert_eq!(
            unit_of("AUTHENTIK_CIRCUIT_OPEN_SECS"),
            Duration::from_secs(1)
        );
        assert_eq!(unit_of("JWT_JWKS_CACHE_SECONDS"), Duration::from_secs(1));
        assert_eq!(
            unit_of("JWT_ACCESS_TOKEN_EXPIRE_MINUTES"),
            Duration::from_secs(60)
        );
        assert_eq!(
            unit_of("AUTH_SESSION_ABSOLUTE_HOURS"),
            Duration::from_secs(3600)
        );
        assert_eq!(
            unit_of("JWT_REFRESH_TOKEN_EXPIRE_DAYS"),
            Duration::from_secs(86_400)
        );
    }
}
