//! `portal admin create|reset-password`: platform super-admins.

use std::io::{BufRead, IsTerminal};

use rand::Rng;

use super::{connect, field};
use crate::auth::password::PasswordHasher;
use crate::config::Settings;
use crate::db::migrate;
use crate::domain::{Email, NewPassword, PasswordPolicy, PersonName};
use crate::models::platform_admin;

fn read_or_generate(password_stdin: bool, context: &[&str]) -> anyhow::Result<(NewPassword, bool)> {
    if !password_stdin {
        return Ok((generate_password(), true));
    }
    if std::io::stdin().is_terminal() {
        eprintln!("Type the password and press Enter:");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let raw = line.trim_end_matches(['\r', '\n']);
    Ok((
        field(NewPassword::parse(raw, PasswordPolicy::default(), context))?,
        false,
    ))
}

pub(super) fn admin_create(
    settings: &Settings,
    email: &str,
    name: &str,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let email = field(Email::parse(email))?;
    let name = field(PersonName::parse(name))?;
    let (password, generated) = read_or_generate(password_stdin, &[email.as_str(), name.as_str()])?;
    let hash = PasswordHasher::single(settings.password_hash_rounds)?.hash_blocking(&password)?;
    let mut conn = connect(settings)?;
    migrate::migrate_public(&mut conn)?;
    if !platform_admin::insert(&mut conn, email.as_str(), name.as_str(), &hash)? {
        anyhow::bail!(
            "a platform admin with email {email} already exists; use `portal admin reset-password`"
        );
    }
    println!("created platform super-admin {email}");
    if generated {
        println!("  password: {}  (shown once)", password.expose());
    }
    Ok(())
}

pub(super) fn admin_reset(
    settings: &Settings,
    email: &str,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let email = field(Email::parse(email))?;
    let (password, generated) = read_or_generate(password_stdin, &[email.as_str()])?;
    let hash = PasswordHasher::single(settings.password_hash_rounds)?.hash_blocking(&password)?;
    let mut conn = connect(settings)?;
    if !platform_admin::set_password(&mut conn, email.as_str(), &hash)? {
        anyhow::bail!("no platform admin has the email {email}");
    }
    println!("new password set for {email}");
    if generated {
        println!("  password: {}  (shown once)", password.expose());
    }
    Ok(())
}

/// A random password of four groups of five letters and digits: strong and typeable.
pub fn generate_password() -> NewPassword {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::thread_rng();
    let groups: Vec<String> = (0..4)
        .map(|_| {
            (0..5)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect()
        })
        .collect();
    let raw = groups.join("-");
    NewPassword::parse(&raw, PasswordPolicy::default(), &[])
        .unwrap_or_else(|_| unreachable_strong(&raw))
}

fn unreachable_strong(raw: &str) -> NewPassword {
    // 20 random characters from 31 always pass the policy; parse once more with no
    // strength requirement rather than panic if a future policy disagrees.
    let lenient = PasswordPolicy {
        min_chars: 1,
        min_score: 0,
    };
    NewPassword::parse(raw, lenient, &[]).unwrap_or_else(|_| generate_password())
}
