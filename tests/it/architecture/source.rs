//! Reads `src/`: every `crate::x` path outside comments, strings and test modules.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The crate roots, which declare every module and may use any.
const CRATE_ROOTS: &[&str] = &["src/lib.rs", "src/main.rs"];

/// One `crate::…` path in the source.
#[derive(Debug, Clone)]
pub struct Import {
    /// `src/…` path of the file.
    pub file: String,
    /// Its line.
    pub line: usize,
    /// The top-level module the file belongs to.
    pub from: String,
    /// The top-level module the path names.
    pub to: String,
    /// The path as written (`crate::app::AppState`, `crate::{auth, tenancy::Tenant}`).
    pub text: String,
}

impl std::fmt::Display for Import {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: `{}`", self.file, self.line, self.text)
    }
}

/// Every `crate::` path in `src/`, by the file's top-level module.
pub fn crate_imports() -> Vec<Import> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let skipped = test_only_files(&files);
    let mut imports = Vec::new();
    for path in files {
        let rel = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .expect("under the crate")
            .to_string_lossy()
            .replace('\\', "/");
        if CRATE_ROOTS.contains(&rel.as_str()) || skipped.contains(&path) {
            continue;
        }
        let from = top_module(&rel);
        let text = std::fs::read_to_string(&path).expect("readable source");
        for (line, to, text) in paths(&text) {
            imports.push(Import {
                file: rel.clone(),
                line,
                from: from.clone(),
                to,
                text,
            });
        }
    }
    assert!(
        imports.len() > 50,
        "too few crate:: paths found in {}: is this the source?",
        src.display()
    );
    imports
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src/") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/members/admin.rs` → `members`, `src/app.rs` → `app`.
fn top_module(rel: &str) -> String {
    let first = rel
        .trim_start_matches("src/")
        .split('/')
        .next()
        .expect("a path");
    first.trim_end_matches(".rs").to_string()
}

/// Files declared with `#[cfg(test)] mod name;`: tests, not part of the layers.
fn test_only_files(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut skipped = BTreeSet::new();
    for path in files {
        let text = std::fs::read_to_string(path).expect("readable source");
        // A module's children live beside `mod.rs`, or in a folder named after the file.
        let dir = match path.file_name().and_then(|n| n.to_str()) {
            Some("mod.rs" | "lib.rs" | "main.rs") => path.parent().expect("a folder").to_path_buf(),
            _ => path.with_extension(""),
        };
        for name in test_module_files(&text) {
            skipped.insert(dir.join(format!("{name}.rs")));
            skipped.insert(dir.join(&name).join("mod.rs"));
        }
    }
    skipped
}

/// The names of the modules declared `#[cfg(test)] mod name;` (kept in files of their own).
fn test_module_files(source: &str) -> Vec<String> {
    let code = blank_comments_and_strings(source);
    let mut names = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        rest = &rest[at + "#[cfg(test)]".len()..];
        let words: Vec<&str> = rest.split_whitespace().take(2).collect();
        if let ["mod", name] = words.as_slice()
            && let Some(name) = name.strip_suffix(';')
        {
            names.push(name.to_string());
        }
    }
    names
}

/// Each `crate::x…` path in Rust source as (line, `x`, the path as written); a grouped
/// `crate::{a, b::c}` gives one entry per top-level module it names.
fn paths(source: &str) -> Vec<(usize, String, String)> {
    let code = without_test_modules(&blank_comments_and_strings(source));
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(pos) = code[at..].find("crate") {
        let start = at + pos;
        at = start + "crate".len();
        let before = start.checked_sub(1).map(|i| bytes[i]);
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        let rest = code[at..].trim_start();
        let Some(rest) = rest.strip_prefix("::") else {
            continue;
        };
        let rest = rest.trim_start();
        let line = code[..start].matches('\n').count() + 1;
        let (modules, len) = if rest.starts_with('{') {
            let group = &rest[..balanced(rest)];
            (top_names(&group[1..group.len() - 1]), group.len())
        } else {
            let name = ident(rest);
            (vec![name.to_string()], path_len(rest))
        };
        let consumed = code.len() - rest.len() + len;
        let text: String = code[start..consumed]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for module in modules {
            if !module.is_empty() && module != "self" && module != "*" {
                found.push((line, module, text.clone()));
            }
        }
    }
    found
}

/// The leading identifier of a path.
fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The length of a path such as `members::User` or `auth::{a, b}`.
fn path_len(s: &str) -> usize {
    let mut len = 0;
    loop {
        let rest = &s[len..];
        if rest.starts_with('{') {
            return len + balanced(rest);
        }
        len += ident(rest).len();
        if s[len..].starts_with("::") {
            len += 2;
        } else {
            return len;
        }
    }
}

/// The length of the `{…}` group `s` starts with, braces included.
fn balanced(s: &str) -> usize {
    let mut depth = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    s.len()
}

/// The first segment of each comma-separated path in a group's inside.
fn top_names(inside: &str) -> Vec<String> {
    let mut names = Vec::new();
    let (mut depth, mut item_start) = (0, true);
    for (i, c) in inside.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => item_start = true,
            c if item_start && depth == 0 && !c.is_whitespace() => {
                item_start = false;
                names.push(if c == '*' {
                    "*".to_string()
                } else {
                    ident(&inside[i..]).to_string()
                });
            }
            _ => {}
        }
    }
    names
}

/// The source with each `#[cfg(test)] mod name { … }` body blanked (lines kept).
fn without_test_modules(code: &str) -> String {
    let mut out = code.to_string();
    let mut at = 0;
    while let Some(pos) = code[at..].find("#[cfg(test)]") {
        let start = at + pos;
        at = start + "#[cfg(test)]".len();
        let rest = code[at..].trim_start();
        let rest = rest.strip_prefix("pub ").unwrap_or(rest).trim_start();
        let Some(rest) = rest.strip_prefix("mod ") else {
            continue;
        };
        let Some(open) = rest.find(['{', ';']) else {
            continue;
        };
        if !rest[open..].starts_with('{') {
            continue;
        }
        let body = code.len() - rest.len() + open;
        let end = body + balanced(&code[body..]);
        out.replace_range(body..end, &blank(&code[body..end]));
        at = end;
    }
    out
}

/// Spaces for everything but line breaks.
fn blank(s: &str) -> String {
    s.chars()
        .map(|c| if c == '\n' { '\n' } else { ' ' })
        .collect()
}

/// The source with comments (doc comments too), string and character literals blanked;
/// line breaks stay, so line numbers hold.
fn blank_comments_and_strings(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let keep = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
                out.push(' ');
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    keep(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if c == 'r' && matches!(next, Some('"' | '#')) && starts_literal(&chars[..i]) {
            // A raw string r"…" or r#"…"#: ends at a quote followed by as many #.
            let hashes = chars[i + 1..].iter().take_while(|&&h| h == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let close: Vec<char> = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            let mut j = i + 2 + hashes;
            while j < chars.len() && !chars[j..].starts_with(&close) {
                j += 1;
            }
            let end = (j + close.len()).min(chars.len());
            for &ch in &chars[i..end] {
                keep(&mut out, ch);
            }
            i = end;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < chars.len() {
                    keep(&mut out, chars[i]);
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' && next == Some('\\') {
            // An escaped character literal: '\n', '\'', '\u{1F600}'.
            let mut j = i + 3;
            while j < chars.len() && chars[j] != '\'' {
                j += 1;
            }
            out.extend(std::iter::repeat_n(' ', j + 1 - i));
            i = j + 1;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            out.push_str("   ");
            i += 3;
        } else {
            // Code, or a lifetime's quote.
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Whether an `r` after this text starts a raw string (`r"`, `br"`), not ends a name.
fn starts_literal(before: &[char]) -> bool {
    let name = before
        .iter()
        .rev()
        .take_while(|p| p.is_alphanumeric() || **p == '_')
        .count();
    name == 0 || (name == 1 && before[before.len() - 1] == 'b')
}

#[test]
fn the_import_reader_finds_grouped_paths_and_skips_comments_strings_and_tests() {
    let source = r##"
//! Uses [`crate::app`] in a doc comment only.
use crate::{audit, auth::session::{self, Identity}, db};
use crate::members::User; // crate::web in a comment
/* crate::api in a block /* nested */ comment */
const S: &str = "crate::cli";
const R: &str = r#"crate::cli " still"#;
const C: char = '"';
pub(crate) fn f<'a>(x: &'a str) -> crate::error::AppResult<()> { crate::tenancy::f(x) }
#[cfg(test)]
mod tests {
    use crate::health;
}
fn g() { $crate::mail::send() }
#[cfg(test)]
mod more_tests;
"##;
    let found = paths(source);
    let modules: Vec<&str> = found.iter().map(|(_, m, _)| m.as_str()).collect();
    assert_eq!(
        modules,
        ["audit", "auth", "db", "members", "error", "tenancy", "mail"],
        "{found:?}"
    );
    assert_eq!(found[0].0, 3);
    assert_eq!(
        found[0].2,
        "crate::{audit, auth::session::{self, Identity}, db}"
    );
    assert_eq!(
        found[3],
        (4, "members".into(), "crate::members::User".into())
    );
    assert_eq!(test_module_files(source), ["more_tests"]);
}
