//! The variable reader behind [`super::Settings`].

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
