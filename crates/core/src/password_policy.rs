//! The password policy of self-service paths (registration, password reset, password change in the
//! account portal), after NIST SP 800-63B §5.1.1.2: a minimum length, long passphrases accepted,
//! refusal of commonly used (breached) passwords, and a strength estimate (zxcvbn) that knows the
//! user's own name and email. No composition rules ("one digit, one symbol"): they make passwords
//! harder to remember without making them harder to guess.
//!
//! Operators creating or importing accounts (admin API, CLI) are not held to it.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// The smallest minimum a tenant may set (NIST SP 800-63B: at least 8 characters).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The longest password accepted anywhere (the hash input is bounded so a request cannot make
/// argon2 work on megabytes).
pub const MAX_PASSWORD_CHARS: usize = 1024;
/// The largest minimum a tenant may set: higher would refuse passphrases people can still type.
pub const MAX_MIN_LENGTH: u32 = 128;
/// zxcvbn's cost grows faster than linearly with the length; a prefix this long is already far
/// beyond any guessing attack when it is not made of patterns, so only it is estimated.
const STRENGTH_INPUT_CHARS: usize = 100;

/// The shipped list of common passwords: see `data/common-passwords.txt` for its source and
/// `scripts/gen-common-passwords.sh` for how it is made. `#` lines are comments.
const COMMON_PASSWORDS_TXT: &str = include_str!("../data/common-passwords.txt");

static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    COMMON_PASSWORDS_TXT
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// Per-tenant password rules for self-service (`settings.password_policy`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordPolicy {
    /// Fewest characters (Unicode scalar values) a password may have: 8 to 128.
    pub min_length: u32,
    /// Lowest zxcvbn score accepted, 0 (anything) to 4 (very hard to guess). 2 means "would take
    /// more than about 10^6 guesses".
    pub min_strength: u8,
    /// Refuse passwords on the built-in list of commonly used passwords.
    pub block_common: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: MIN_PASSWORD_CHARS as u32,
            min_strength: 2,
            block_common: true,
        }
    }
}

/// Why a password was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    /// On the list of commonly used passwords.
    Common,
    /// zxcvbn estimates it too easy to guess; `warning` is its explanation when it has one.
    TooWeak {
        score: u8,
        warning: Option<String>,
    },
}

/// A refused password: the problem and advice for a better one, ready to show on a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswordRejection {
    pub problem: PasswordProblem,
    pub suggestions: Vec<String>,
}

impl PasswordRejection {
    fn new(problem: PasswordProblem) -> Self {
        PasswordRejection {
            problem,
            suggestions: Vec::new(),
        }
    }

    /// One sentence (or two) for the person choosing the password.
    pub fn message(&self) -> String {
        match &self.problem {
            PasswordProblem::TooShort { min } => {
                format!("This password is too short: use at least {min} characters.")
            }
            PasswordProblem::TooLong { max } => {
                format!("This password is too long: use at most {max} characters.")
            }
            PasswordProblem::Common => {
                "This password is on a list of commonly used passwords. Choose another one."
                    .to_string()
            }
            PasswordProblem::TooWeak { warning, .. } => match warning {
                Some(w) => format!("This password is too easy to guess. {w}"),
                None => "This password is too easy to guess.".to_string(),
            },
        }
    }

    /// A machine-readable code for logs and APIs.
    pub fn code(&self) -> &'static str {
        match self.problem {
            PasswordProblem::TooShort { .. } => "too_short",
            PasswordProblem::TooLong { .. } => "too_long",
            PasswordProblem::Common => "common",
            PasswordProblem::TooWeak { .. } => "too_weak",
        }
    }
}

impl std::fmt::Display for PasswordRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())?;
        for s in &self.suggestions {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

impl From<PasswordRejection> for CoreError {
    fn from(r: PasswordRejection) -> Self {
        CoreError::invalid("password", r.to_string())
    }
}

impl PasswordPolicy {
    /// Checks the bounds (called by `TenantSettings::validate`).
    pub fn validate(&self) -> Result<(), CoreError> {
        if !(MIN_PASSWORD_CHARS as u32..=MAX_MIN_LENGTH).contains(&self.min_length) {
            return Err(CoreError::invalid(
                "settings.password_policy.min_length",
                format!("must be between {MIN_PASSWORD_CHARS} and {MAX_MIN_LENGTH}"),
            ));
        }
        if self.min_strength > 4 {
            return Err(CoreError::invalid(
                "settings.password_policy.min_strength",
                "must be between 0 and 4 (zxcvbn scores)",
            ));
        }
        Ok(())
    }

    /// Checks a new password. `user_inputs` are words an attacker would try first for this
    /// person (their email, its local part, their names, the tenant's name); a password built
    /// from them scores low. Cheap checks run first; the estimate runs last.
    pub fn check(&self, password: &str, user_inputs: &[&str]) -> Result<(), PasswordRejection> {
        let n = password.chars().count();
        let min = (self.min_length as usize).max(MIN_PASSWORD_CHARS);
        if n < min {
            return Err(PasswordRejection::new(PasswordProblem::TooShort { min }));
        }
        if n > MAX_PASSWORD_CHARS {
            return Err(PasswordRejection::new(PasswordProblem::TooLong {
                max: MAX_PASSWORD_CHARS,
            }));
        }
        if self.block_common && is_common_password(password) {
            return Err(PasswordRejection {
                problem: PasswordProblem::Common,
                suggestions: vec![
                    "A few unrelated words are easier to remember and much harder to guess."
                        .to_string(),
                ],
            });
        }
        if self.min_strength == 0 {
            return Ok(());
        }
        let (score, warning, suggestions) = estimate(password, user_inputs);
        if score < self.min_strength {
            return Err(PasswordRejection {
                problem: PasswordProblem::TooWeak { score, warning },
                suggestions,
            });
        }
        Ok(())
    }
}

/// Whether the password (compared case-insensitively, surrounding spaces ignored) is on the
/// shipped list of common passwords.
pub fn is_common_password(password: &str) -> bool {
    let p = password.trim().to_lowercase();
    COMMON_PASSWORDS.contains(p.as_str())
}

/// zxcvbn's score (0-4), warning and suggestions for the password's first
/// [`STRENGTH_INPUT_CHARS`] characters.
fn estimate(password: &str, user_inputs: &[&str]) -> (u8, Option<String>, Vec<String>) {
    let prefix: String = password.chars().take(STRENGTH_INPUT_CHARS).collect();
    let inputs: Vec<String> = user_inputs
        .iter()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| s.chars().count() >= 3 && s.chars().count() <= 100)
        .collect();
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let entropy = zxcvbn::zxcvbn(&prefix, &inputs);
    let score = u8::from(entropy.score());
    let (warning, suggestions) = match entropy.feedback() {
        Some(f) => (
            f.warning().map(|w| w.to_string()),
            f.suggestions().iter().map(|s| s.to_string()).collect(),
        ),
        None => (None, Vec::new()),
    };
    (score, warning, suggestions)
}

/// The words zxcvbn should treat as known to an attacker for this person: the email, its local
/// part split at common separators, and names.
pub fn personal_inputs<'a>(email: &'a str, names: &[&'a str]) -> Vec<&'a str> {
    let mut out = vec![email];
    if let Some((local, _)) = email.rsplit_once('@') {
        out.push(local);
        out.extend(
            local
                .split(['.', '_', '-', '+'])
                .filter(|p| !p.is_empty() && *p != local),
        );
    }
    for n in names {
        out.push(n);
        out.extend(n.split_whitespace().filter(|p| p != n));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_nist() {
        let p = PasswordPolicy::default();
        assert_eq!(p.min_length, 8);
        assert_eq!(p.min_strength, 2);
        assert!(p.block_common);
        p.validate().unwrap();
        let parsed: PasswordPolicy = serde_json::from_str("{}").unwrap();
        assert_eq!(parsed, p);
        assert!(serde_json::from_str::<PasswordPolicy>(r#"{"min_lenght": 9}"#).is_err());
    }

    #[test]
    fn bounds_are_validated() {
        for (min_length, min_strength, ok) in [
            (8, 0, true),
            (128, 4, true),
            (7, 2, false),
            (129, 2, false),
            (12, 5, false),
        ] {
            let p = PasswordPolicy {
                min_length,
                min_strength,
                block_common: true,
            };
            assert_eq!(p.validate().is_ok(), ok, "{p:?}");
        }
    }

    #[test]
    fn length_limits() {
        let p = PasswordPolicy {
            min_strength: 0,
            ..Default::default()
        };
        let short = p.check("k7#qzp!", &[]).unwrap_err();
        assert_eq!(short.problem, PasswordProblem::TooShort { min: 8 });
        assert!(short.message().contains("at least 8 characters"));
        // Characters, not bytes: eight non-ASCII characters are eight.
        p.check("ééééüüüü", &[]).unwrap();
        // 128 characters and more are accepted, up to the hard maximum.
        let long = "correct horse battery staple ".repeat(20);
        assert!(long.chars().count() > 128);
        p.check(&long, &[]).unwrap();
        let too_long = "x".repeat(MAX_PASSWORD_CHARS + 1);
        assert_eq!(
            p.check(&too_long, &[]).unwrap_err().problem,
            PasswordProblem::TooLong {
                max: MAX_PASSWORD_CHARS
            }
        );
        let strict = PasswordPolicy {
            min_length: 15,
            min_strength: 0,
            block_common: false,
        };
        assert_eq!(
            strict.check("fourteen chars", &[]).unwrap_err().problem,
            PasswordProblem::TooShort { min: 15 }
        );
    }

    #[test]
    fn common_passwords_are_refused_case_insensitively() {
        assert!(is_common_password("password1"));
        assert!(is_common_password("PassWord1"));
        assert!(is_common_password(" 12345678 "));
        assert!(!is_common_password("violet-kettle-orbit-1987"));
        let p = PasswordPolicy {
            min_strength: 0,
            ..Default::default()
        };
        let r = p.check("Password1", &[]).unwrap_err();
        assert_eq!(r.problem, PasswordProblem::Common);
        assert_eq!(
            r.message(),
            "This password is on a list of commonly used passwords. Choose another one."
        );
        assert_eq!(r.code(), "common");
        let off = PasswordPolicy {
            block_common: false,
            min_strength: 0,
            ..Default::default()
        };
        off.check("Password1", &[]).unwrap();
        // The list is loaded and has no comment lines or short entries in it.
        assert!(COMMON_PASSWORDS.len() > 3000);
        assert!(
            COMMON_PASSWORDS
                .iter()
                .all(|p| !p.starts_with('#') && p.chars().count() >= 4)
        );
    }

    #[test]
    fn strength_is_estimated_with_the_persons_own_words() {
        let p = PasswordPolicy::default();
        p.check("correct horse battery staple", &[]).unwrap();
        p.check("violet-kettle-orbit-1987", &[]).unwrap();
        let weak = p.check("aaaaaaaaaaaa", &[]).unwrap_err();
        assert!(matches!(weak.problem, PasswordProblem::TooWeak { .. }));
        assert!(
            weak.message()
                .starts_with("This password is too easy to guess."),
            "{}",
            weak.message()
        );
        // Strong enough for a stranger, but built from the person's own email and name.
        let pw = "maximilian.oberhuber";
        assert!(p.check(pw, &[]).is_ok(), "without context it passes");
        let inputs = personal_inputs(
            "maximilian.oberhuber@example.com",
            &["Maximilian Oberhuber"],
        );
        let r = p.check(pw, &inputs).unwrap_err();
        assert!(
            matches!(r.problem, PasswordProblem::TooWeak { .. }),
            "{r:?}"
        );
        // Score 0 turns the estimate off; score 4 demands a lot.
        let lax = PasswordPolicy {
            min_strength: 0,
            block_common: false,
            ..Default::default()
        };
        lax.check("aaaaaaaaaaaa", &[]).unwrap();
        let strict = PasswordPolicy {
            min_strength: 4,
            ..Default::default()
        };
        p.check("bluebird77x", &[]).unwrap();
        assert!(strict.check("bluebird77x", &[]).is_err());
    }

    #[test]
    fn long_inputs_stay_cheap() {
        let p = PasswordPolicy::default();
        let long: String = (0..MAX_PASSWORD_CHARS)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect();
        let started = std::time::Instant::now();
        let _ = p.check(&long, &["someone@example.com"]);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn personal_inputs_split_the_email_and_names() {
        let i = personal_inputs("ann.lee+shop@example.com", &["Ann Lee"]);
        for w in [
            "ann.lee+shop@example.com",
            "ann.lee+shop",
            "ann",
            "lee",
            "shop",
            "Ann Lee",
        ] {
            assert!(i.contains(&w), "{w} in {i:?}");
        }
    }
}
