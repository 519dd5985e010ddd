//! Accounts: who a user is, and the parsed values a sign-up is made of.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ValidationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserId(pub Uuid);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A lower-cased, trimmed e-mail address with a plausible shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim().to_lowercase();
        let err = |m: &str| Err(ValidationError::new("email", m));
        if value.is_empty() {
            return err("Enter your email address.");
        }
        if value.chars().count() > 254 {
            return err("An email address has at most 254 characters.");
        }
        let Some((local, domain)) = value.split_once('@') else {
            return err("An email address looks like name@example.com.");
        };
        let well_formed = !local.is_empty()
            && !domain.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !value.chars().any(|c| c.is_whitespace() || c.is_control());
        if !well_formed {
            return err("An email address looks like name@example.com.");
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed; its `Debug` never shows the secret.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN: usize = 8;
    pub const MAX: usize = 128;

    pub fn parse(raw: &str, field: &str) -> Result<Self, ValidationError> {
        let n = raw.chars().count();
        if n < Self::MIN {
            return Err(ValidationError::new(field, format!("Use at least {} characters.", Self::MIN)));
        }
        if n > Self::MAX {
            return Err(ValidationError::new(field, format!("Use at most {} characters.", Self::MAX)));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// The name shown in the app: 1 to 80 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim();
        let n = value.chars().count();
        if n == 0 {
            return Err(ValidationError::new("display_name", "Enter a name."));
        }
        if n > 80 {
            return Err(ValidationError::new("display_name", "A name has at most 80 characters."));
        }
        if value.chars().any(char::is_control) {
            return Err(ValidationError::new("display_name", "A name cannot contain control characters."));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone such as `Europe/Berlin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeZone(pub chrono_tz::Tz);

impl TimeZone {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        chrono_tz::Tz::from_str(raw.trim())
            .map(Self)
            .map_err(|_| ValidationError::new("time_zone", "Choose a time zone such as Europe/Berlin."))
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self(chrono_tz::Tz::UTC)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub display_name: DisplayName,
    pub time_zone: TimeZone,
    /// Minutes before the due time of the reminder new tasks with a due time get (0: at the due time).
    #[serde(default)]
    pub default_reminder: Option<u32>,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("  Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
    }

    #[test]
    fn malformed_emails_name_the_email_field() {
        for bad in ["", "ada", "ada@", "@example.com", "ada@example", "a b@example.com", "a@b@c.com"] {
            let e = Email::parse(bad).unwrap_err();
            assert_eq!(e.field, "email", "{bad}");
        }
    }

    #[test]
    fn passwords_shorter_than_eight_characters_are_rejected() {
        assert!(Password::parse("1234567", "password").is_err());
        assert!(Password::parse("12345678", "password").is_ok());
    }

    #[test]
    fn password_debug_never_shows_the_secret() {
        let p = Password::parse("hunter2hunter2", "password").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn unknown_time_zones_are_rejected() {
        assert!(TimeZone::parse("Europe/Berlin").is_ok());
        assert_eq!(TimeZone::parse("Mars/Olympus").unwrap_err().field, "time_zone");
    }

    proptest! {
        #[test]
        fn parsed_emails_round_trip(local in "[a-z0-9._]{1,20}", host in "[a-z0-9]{1,20}", tld in "[a-z]{2,6}") {
            let raw = format!("{local}@{host}.{tld}");
            let email = Email::parse(&raw).unwrap();
            prop_assert_eq!(Email::parse(email.as_str()).unwrap(), email);
        }

        #[test]
        fn display_names_never_exceed_eighty_characters(s in "\\PC{0,120}") {
            if let Ok(name) = DisplayName::parse(&s) {
                prop_assert!(name.as_str().chars().count() <= 80);
                prop_assert!(!name.as_str().is_empty());
            }
        }
    }
}
