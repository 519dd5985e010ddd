//! Idempotency keys for the API's creates: a client that retries a POST with
//! the same `Idempotency-Key` gets the first answer again instead of a second
//! task. A key is the client's own text, kept per user for a day.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// How long a key is kept, and so how long a retry is recognised.
pub const KEEP_HOURS: i64 = 24;

/// A key as a client sends it: 1–255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const FIELD: &'static str = "Idempotency-Key";
    pub const MAX: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if (1..=Self::MAX).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::new(Self::FIELD, "Send 1 to 255 visible ASCII characters, without spaces."))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The answer given to the first request with a key, to give every retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// What reserving a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The key was free and is now this request's.
    Reserved,
    /// The key was taken by a request with this fingerprint; its answer, once it has one.
    Taken { fingerprint: String, response: Option<StoredResponse> },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_one_to_255_visible_ascii_characters() {
        assert!(IdempotencyKey::parse("a").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse("9f1c-4e2a_~!").is_ok());
        for bad in [String::new(), "k".repeat(256), "has space".into(), "tab\t".into(), "é".into()] {
            let e = IdempotencyKey::parse(&bad).unwrap_err();
            assert_eq!(e.field, IdempotencyKey::FIELD, "{bad:?}");
        }
    }
}
