//! The password policy (NCSC guidance: length, not composition; block the most common passwords)
//! and the one-time passwords a commissioner hands to a new user or after a reset.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::error::ServiceError;

/// The fewest characters a password may have (NCSC: at least 12 where there is no second factor).
pub const MIN_CHARS: usize = 12;
/// The most characters, so hashing stays cheap to ask for.
pub const MAX_CHARS: usize = 256;

/// Common passwords of [`MIN_CHARS`] or more, lower-cased (shorter ones are refused anyway).
const COMMON: &str = include_str!("../../assets/common-passwords.txt");

fn common() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        COMMON
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    })
}

/// Why a new password is refused, in words for the person choosing it; `None` if it may be used.
/// No composition rules: NCSC advises against them, as they push people to predictable patterns.
pub fn refusal(password: &str, username: &str) -> Option<String> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Some(format!(
            "Your password must be at least {MIN_CHARS} characters. Three random words make a long password that is easy to remember"
        ));
    }
    if chars > MAX_CHARS {
        return Some(format!(
            "Your password must be {MAX_CHARS} characters or fewer"
        ));
    }
    let lower = password.to_lowercase();
    let mut distinct: Vec<char> = lower.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 4 {
        return Some("Your password repeats too few characters: choose three random words".into());
    }
    let name = username.trim().to_lowercase();
    if name.len() >= 3 && lower.contains(&name) {
        return Some("Your password must not contain your username".into());
    }
    let bare = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c.is_ascii_punctuation());
    if common().contains(lower.as_str())
        || common().contains(bare)
        || lower.contains("accredit")
        || lower.starts_with("password")
    {
        return Some(
            "This password is too common and easy to guess: choose another, for example three random words"
                .into(),
        );
    }
    None
}

/// Refuses a password the policy does not allow, as an input error.
pub fn check(password: &str, username: &str) -> Result<(), ServiceError> {
    match refusal(password, username) {
        Some(why) => Err(ServiceError::invalid(why)),
        None => Ok(()),
    }
}

/// Letters and digits that cannot be mistaken for each other when read out or copied by hand.
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A fresh one-time password: four groups of four from [`ALPHABET`] (about 79 bits), easy to
/// read out over the phone. It works once: the holder must choose their own at first sign-in.
pub fn one_time() -> Result<String, ServiceError> {
    let mut bytes = [0u8; 64];
    getrandom::fill(&mut bytes).map_err(|e| ServiceError::internal(format!("random: {e}")))?;
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - (256 % ALPHABET.len());
    let mut out = String::with_capacity(19);
    let mut taken = 0;
    for b in bytes {
        if usize::from(b) >= limit {
            continue;
        }
        if taken > 0 && taken % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
        taken += 1;
        if taken == 16 {
            return Ok(out);
        }
    }
    Err(ServiceError::internal(
        "too few random bytes for a one-time password",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_and_composition_does_not() {
        assert!(refusal("short words", "mo").is_some());
        assert_eq!(refusal("correct horse battery", "mo"), None);
        assert_eq!(refusal("lowercaseonlyhere", "mo"), None);
        assert!(refusal(&"x".repeat(MAX_CHARS + 1), "mo").is_some());
        // Twelve characters by count, not bytes.
        assert_eq!(refusal("ééé fox jumps", "mo"), None);
    }

    #[test]
    fn common_passwords_and_the_username_are_refused() {
        for bad in [
            "qwertyuiopasdfgh",
            "QWERTYUIOPASDFGH",
            "1qaz2wsx3edc",
            "123456789qwe",
            "aaaaaaaaaaaaaaaa",
            "abababababab",
            "passwordpassword",
            "accredit-demo-2026",
        ] {
            assert!(refusal(bad, "someone").is_some(), "{bad}");
        }
        assert!(refusal("mo.patel is my name", "mo.patel").is_some());
    }

    #[test]
    fn one_time_passwords_are_long_distinct_and_pass_the_policy() {
        let a = one_time().unwrap_or_default();
        let b = one_time().unwrap_or_default();
        assert_eq!(a.len(), 19);
        assert_ne!(a, b);
        assert_eq!(refusal(&a, "someone"), None);
        assert!(a.chars().all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
    }
}
