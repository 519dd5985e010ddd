//! Personal access tokens for the API: a name, what the token may do, when it
//! stops working, and the secret's recognisable shape. The secret is shown to
//! its owner once; only its SHA-256 is ever stored.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::account::{TimeZone, UserId};
use crate::error::ValidationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TokenId(pub Uuid);

impl TokenId {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Uuid::try_parse(raw.trim()).map(Self).map_err(|_| ValidationError::new("token", "That token does not exist."))
    }
}

/// A token's name, so its owner knows which script holds it: 1 to 60
/// characters once trimmed, one line.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenName(String);

impl TokenName {
    pub const MAX_CHARS: usize = 60;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            return Err(ValidationError::new("name", "Give the token a name, such as the script that will use it."));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "name",
                format!("A token's name is at most {} characters.", Self::MAX_CHARS),
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a token may do: read, or read and change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TokenScopes {
    Read,
    ReadWrite,
}

impl TokenScopes {
    pub fn from_write(write: bool) -> Self {
        if write {
            Self::ReadWrite
        } else {
            Self::Read
        }
    }

    /// The stored form, space-separated as OAuth writes scopes.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        match raw.trim() {
            "read" => Ok(Self::Read),
            "read write" => Ok(Self::ReadWrite),
            _ => Err(ValidationError::new("scopes", "A token reads, or reads and writes.")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::ReadWrite => "read write",
        }
    }

    /// Each scope's name, as the API lists them.
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Self::Read => &["read"],
            Self::ReadWrite => &["read", "write"],
        }
    }

    pub fn can_write(self) -> bool {
        self == Self::ReadWrite
    }
}

const END_OF_DAY: NaiveTime = NaiveTime::from_hms_opt(23, 59, 59).expect("a valid time");

/// When a new token stops working, as its owner chose it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenExpiry {
    Never,
    /// This many days from its creation.
    Days(u16),
    /// At the end of this day in the owner's zone.
    On(NaiveDate),
}

impl TokenExpiry {
    /// The choices the form offers besides a date.
    pub const DAYS: [u16; 3] = [7, 30, 90];

    /// Reads the form's choice (`never`, `7`, `30`, `90` or `date`) and, for
    /// `date`, the day (`YYYY-MM-DD`), which must come after `today`.
    pub fn parse(choice: &str, date: &str, today: NaiveDate) -> Result<Self, ValidationError> {
        match choice.trim() {
            "" | "never" => Ok(Self::Never),
            "date" => {
                let date = date.trim();
                if date.is_empty() {
                    return Err(ValidationError::new("expires_on", "Pick the day the token stops working."));
                }
                let day = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                    .map_err(|_| ValidationError::new("expires_on", "Use a date like 2027-03-31."))?;
                if day <= today {
                    return Err(ValidationError::new("expires_on", "Pick a day after today."));
                }
                Ok(Self::On(day))
            }
            days => days
                .parse::<u16>()
                .ok()
                .filter(|d| Self::DAYS.contains(d))
                .map(Self::Days)
                .ok_or_else(|| ValidationError::new("expires", "Choose never, 7, 30 or 90 days, or a date.")),
        }
    }

    /// The instant a token made at `now` stops working; `None` for never.
    pub fn expires_at(self, now: DateTime<Utc>, zone: TimeZone) -> Option<DateTime<Utc>> {
        match self {
            Self::Never => None,
            Self::Days(days) => Some(now + Duration::days(i64::from(days))),
            // The day's last second, as a due date without a time ends, so the list shows the day chosen.
            Self::On(day) => Some(crate::task::resolve_local(zone.0, day.and_time(END_OF_DAY))),
        }
    }
}

/// A token's secret: `cad_` and 43 letters and digits (256 random bits).
/// The prefix makes a leaked token easy to search for and to recognise.
/// `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

impl TokenSecret {
    pub const PREFIX: &'static str = "cad_";
    /// 62^43 > 2^256: 43 characters hold 32 random bytes without loss.
    const BODY_CHARS: usize = 43;

    /// The secret for 32 random bytes (the caller draws them: the core does no I/O),
    /// written in base 62 so it is one word to select and copy.
    pub fn from_random(bytes: [u8; 32]) -> Self {
        let mut number = bytes;
        let mut digits = Vec::with_capacity(Self::BODY_CHARS);
        for _ in 0..Self::BODY_CHARS {
            let mut remainder = 0u32;
            for byte in number.iter_mut() {
                let acc = (remainder << 8) | u32::from(*byte);
                *byte = (acc / 62) as u8;
                remainder = acc % 62;
            }
            digits.push(BASE62[remainder as usize] as char);
        }
        Self(format!("{}{}", Self::PREFIX, digits.into_iter().rev().collect::<String>()))
    }

    /// A secret as a client sent it, if it has a token's shape; anything else
    /// is refused before it costs a lookup.
    pub fn parse(raw: &str) -> Option<Self> {
        let body = raw.trim().strip_prefix(Self::PREFIX)?;
        let shaped = (40..=100).contains(&body.len()) && body.bytes().all(|b| b.is_ascii_alphanumeric());
        shaped.then(|| Self(format!("{}{body}", Self::PREFIX)))
    }

    /// The secret itself, to show its owner once or to send.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the store keeps and looks tokens up by: the secret's SHA-256, in hex.
    #[cfg(feature = "services")]
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        Sha256::digest(self.0.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSecret(cad_…)")
    }
}

/// How long a token's last use may go unrecorded: reading with a token
/// writes at most once a minute.
pub const LAST_USE_PRECISION_SECS: i64 = 60;

/// How long an expired token stays on its owner's list (marked expired, so
/// whoever's script stopped working can see why) before housekeeping deletes it.
pub const KEEP_EXPIRED_DAYS: i64 = 30;

/// A personal access token as its owner sees it listed: never the secret or its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: TokenName,
    pub scopes: TokenScopes,
    pub created_at: DateTime<Utc>,
    /// `None`: never.
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    /// Whether it still lets a client in at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }

    /// Whether a use at `now` should be recorded: none was in the last minute.
    pub fn last_use_is_stale(&self, now: DateTime<Utc>) -> bool {
        self.last_used_at.is_none_or(|at| now - at >= Duration::seconds(LAST_USE_PRECISION_SECS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn a_tokens_name_is_one_trimmed_line_of_at_most_sixty_characters() {
        assert_eq!(TokenName::parse("  Backup\n script ").unwrap().as_str(), "Backup script");
        assert_eq!(TokenName::parse(" \t ").unwrap_err().field, "name");
        assert!(TokenName::parse(&"é".repeat(60)).is_ok(), "characters, not bytes");
        assert_eq!(TokenName::parse(&"x".repeat(61)).unwrap_err().field, "name");
    }

    #[test]
    fn scopes_are_read_or_read_and_write_and_only_the_second_may_write() {
        assert_eq!(TokenScopes::from_write(false), TokenScopes::Read);
        assert_eq!(TokenScopes::from_write(true).names(), ["read", "write"]);
        for scopes in [TokenScopes::Read, TokenScopes::ReadWrite] {
            assert_eq!(TokenScopes::parse(scopes.as_str()).unwrap(), scopes, "the stored form reads back");
        }
        assert!(!TokenScopes::Read.can_write() && TokenScopes::ReadWrite.can_write());
        assert_eq!(TokenScopes::parse("admin").unwrap_err().field, "scopes");
    }

    #[test]
    fn a_token_expires_never_after_seven_thirty_or_ninety_days_or_at_the_end_of_a_chosen_day() {
        let today = date(2026, 3, 28);
        let now = Utc::now();
        let berlin = TimeZone::parse("Europe/Berlin").unwrap();
        assert_eq!(TokenExpiry::parse("never", "", today).unwrap().expires_at(now, berlin), None);
        assert_eq!(TokenExpiry::parse("", "2027-01-01", today).unwrap(), TokenExpiry::Never);
        let thirty = TokenExpiry::parse("30", "", today).unwrap();
        assert_eq!(thirty.expires_at(now, berlin), Some(now + Duration::days(30)));
        assert_eq!(TokenExpiry::parse("14", "", today).unwrap_err().field, "expires", "only the offered choices");
        assert_eq!(TokenExpiry::parse("soon", "", today).unwrap_err().field, "expires");

        // The day the clocks go forward in Berlin: it still ends at its last local second.
        let on = TokenExpiry::parse("date", " 2026-03-29 ", today).unwrap();
        assert_eq!(on, TokenExpiry::On(date(2026, 3, 29)));
        let end = on.expires_at(now, berlin).unwrap();
        assert_eq!(end.to_rfc3339(), "2026-03-29T21:59:59+00:00", "23:59:59 in summer time, UTC+2");
        assert_eq!(TokenExpiry::parse("date", "", today).unwrap_err().field, "expires_on");
        assert_eq!(TokenExpiry::parse("date", "31/03/2027", today).unwrap_err().field, "expires_on");
        assert_eq!(TokenExpiry::parse("date", "2026-03-28", today).unwrap_err().field, "expires_on", "not today");
    }

    #[test]
    fn a_secret_is_cad_and_forty_three_letters_or_digits_and_debug_hides_it() {
        let secret = TokenSecret::from_random([0xab; 32]);
        let body = secret.expose().strip_prefix("cad_").unwrap();
        assert_eq!(body.len(), 43);
        assert!(body.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(TokenSecret::from_random([0; 32]).expose(), format!("cad_{}", "0".repeat(43)));
        assert_ne!(TokenSecret::from_random([1; 32]), TokenSecret::from_random([2; 32]));
        assert!(!format!("{secret:?}").contains(body), "Debug never prints the secret");
        assert_eq!(TokenSecret::parse(&format!(" {} ", secret.expose())), Some(secret.clone()));
        for garbage in [
            "",
            "cad_",
            "cad_short",
            "ghp_0123456789012345678901234567890123456789",
            "cad_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
        ] {
            assert_eq!(TokenSecret::parse(garbage), None, "{garbage:?} is not a token");
        }
    }

    #[test]
    fn a_tokens_use_is_recorded_at_most_once_a_minute_and_it_lives_until_it_expires() {
        let now = Utc::now();
        let token = ApiToken {
            id: TokenId(Uuid::nil()),
            user_id: UserId(Uuid::nil()),
            name: TokenName::parse("ci").unwrap(),
            scopes: TokenScopes::Read,
            created_at: now,
            expires_at: None,
            last_used_at: None,
        };
        assert!(token.is_live(now) && token.last_use_is_stale(now));
        let used = ApiToken { last_used_at: Some(now - Duration::seconds(59)), ..token.clone() };
        assert!(!used.last_use_is_stale(now));
        assert!(used.last_use_is_stale(now + Duration::seconds(1)));
        let expiring = ApiToken { expires_at: Some(now), ..token };
        assert!(expiring.is_live(now - Duration::seconds(1)) && !expiring.is_live(now));
    }

    proptest! {
        #[test]
        fn every_minted_secret_reads_back_as_itself(bytes in proptest::array::uniform32(any::<u8>())) {
            let secret = TokenSecret::from_random(bytes);
            prop_assert_eq!(secret.expose().len(), 4 + 43);
            prop_assert_eq!(TokenSecret::parse(secret.expose()), Some(secret));
        }
    }
}
