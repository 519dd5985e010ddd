//! A task's `ETag` and the `If-Match` / `If-None-Match` headers that quote
//! it back (RFC 9110 §8.8.3, §13.1), for the REST API's optimistic
//! concurrency. The tag is the task's version in base64, so it can be read
//! back into the version the domain compares under the task's lock; a hash
//! could not be.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use domain::{Task, TaskVersion};

use super::api::Problem;

/// The strong `ETag` of a task as it is now.
pub fn of(task: &Task) -> HeaderValue {
    let tag = format!("\"{}\"", URL_SAFE_NO_PAD.encode(TaskVersion::of(task).micros().to_be_bytes()));
    HeaderValue::try_from(tag).expect("base64 in quotes is a header value")
}

/// What an `If-Match` asks of the task before a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// `*`: any version, so long as the task exists.
    Any,
    Version(TaskVersion),
}

impl Expect {
    /// The version the service is to compare under the lock, if any.
    pub fn version(this: Option<Self>) -> Option<TaskVersion> {
        match this {
            Some(Self::Version(v)) => Some(v),
            Some(Self::Any) | None => None,
        }
    }
}

/// Reads `If-Match`. Absent is `None`: the precondition is optional. A weak
/// tag, or a tag this server never gave, can match no task (the comparison
/// is strong), so it is a 412 at once; a header that is not a list of
/// entity tags, or names more than one of ours, is a 400.
pub fn if_match(headers: &HeaderMap) -> Result<Option<Expect>, Problem> {
    let Some(raw) = one_header(headers, axum::http::header::IF_MATCH)? else {
        return Ok(None);
    };
    if raw.trim() == "*" {
        return Ok(Some(Expect::Any));
    }
    let tags = tags(raw).ok_or_else(|| malformed("If-Match"))?;
    let mut ours = tags.iter().filter(|t| !t.weak).filter_map(|t| decode(t.opaque));
    match (ours.next(), ours.next()) {
        (None, _) => Err(Problem::precondition_failed()),
        (Some(v), None) => Ok(Some(Expect::Version(v))),
        (Some(_), Some(_)) => Err(Problem::bad_request(
            StatusCode::BAD_REQUEST,
            "Send one ETag in If-Match: the one the task was read with.",
        )),
    }
}

/// Whether `If-None-Match` names `current` (weakly, as a GET compares) or is
/// `*`. A header that cannot be read matches nothing: the GET just answers.
pub fn none_match(headers: &HeaderMap, current: &HeaderValue) -> bool {
    let Some(raw) = headers.get(axum::http::header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if raw.trim() == "*" {
        return true;
    }
    let current = current.to_str().unwrap_or("").trim_matches('"');
    tags(raw).is_some_and(|tags| tags.iter().any(|t| t.opaque == current))
}

fn one_header(headers: &HeaderMap, name: HeaderName) -> Result<Option<&str>, Problem> {
    let mut values = headers.get_all(&name).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return match headers.contains_key(&name) {
            true => Err(malformed(name.as_str())),
            false => Ok(None),
        };
    };
    value.to_str().map(Some).map_err(|_| malformed(name.as_str()))
}

fn malformed(header: &str) -> Problem {
    Problem::bad_request(
        StatusCode::BAD_REQUEST,
        format!("{header} takes `*` or the quoted ETag the task was read with, once."),
    )
}

struct Tag<'a> {
    weak: bool,
    /// Between the quotes.
    opaque: &'a str,
}

/// A comma-separated list of entity tags (`"x"` or `W/"x"`), or `None` if
/// the text is not one. A tag may itself hold a comma, so this reads quote
/// to quote rather than splitting.
fn tags(raw: &str) -> Option<Vec<Tag<'_>>> {
    let mut out = Vec::new();
    let mut rest = raw;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            break;
        }
        let weak = rest.starts_with("W/");
        if weak {
            rest = &rest[2..];
        }
        let body = rest.strip_prefix('"')?;
        let end = body.find('"')?;
        let opaque = &body[..end];
        if !opaque.bytes().all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80) {
            return None;
        }
        out.push(Tag { weak, opaque });
        rest = &body[end + 1..];
        let next = rest.trim_start_matches([' ', '\t']);
        if !(next.is_empty() || next.starts_with(',')) {
            return None;
        }
        rest = next;
    }
    (!out.is_empty()).then_some(out)
}

/// The version an `ETag` of ours carries; `None` for a tag we never gave.
fn decode(opaque: &str) -> Option<TaskVersion> {
    let bytes: [u8; 8] = URL_SAFE_NO_PAD.decode(opaque).ok()?.try_into().ok()?;
    Some(TaskVersion::from_micros(i64::from_be_bytes(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    fn tag_of(micros: i64) -> String {
        format!("\"{}\"", URL_SAFE_NO_PAD.encode(micros.to_be_bytes()))
    }

    #[test]
    fn an_etag_of_ours_reads_back_as_the_version_it_was_made_from() {
        let micros = 1_795_000_000_123_456;
        let h = headers(axum::http::header::IF_MATCH, &tag_of(micros));
        assert_eq!(if_match(&h).unwrap(), Some(Expect::Version(TaskVersion::from_micros(micros))));
    }

    #[test]
    fn no_if_match_asks_nothing_and_a_star_asks_only_that_the_task_exists() {
        assert_eq!(if_match(&HeaderMap::new()).unwrap(), None);
        assert_eq!(if_match(&headers(axum::http::header::IF_MATCH, " * ")).unwrap(), Some(Expect::Any));
    }

    #[test]
    fn a_weak_or_foreign_tag_can_match_nothing_and_fails_the_precondition_at_once() {
        for value in [format!("W/{}", tag_of(7)), "\"not-ours\"".to_owned()] {
            let problem = if_match(&headers(axum::http::header::IF_MATCH, &value)).unwrap_err();
            assert_eq!(problem.status, 412, "{value}");
        }
    }

    #[test]
    fn an_if_match_that_is_not_a_list_of_entity_tags_is_a_bad_request() {
        for value in ["abc", "\"open", "\"a\" junk", ""] {
            let problem = if_match(&headers(axum::http::header::IF_MATCH, value)).unwrap_err();
            assert_eq!(problem.status, 400, "{value:?}");
        }
        let two = format!("{}, {}", tag_of(1), tag_of(2));
        assert_eq!(if_match(&headers(axum::http::header::IF_MATCH, &two)).unwrap_err().status, 400);
    }

    #[test]
    fn if_none_match_matches_the_current_tag_weakly_or_a_star_and_nothing_else() {
        let current = HeaderValue::from_str(&tag_of(5)).unwrap();
        let name = axum::http::header::IF_NONE_MATCH;
        assert!(none_match(&headers(name.clone(), &format!("\"x,y\", W/{}", tag_of(5))), &current));
        assert!(none_match(&headers(name.clone(), "*"), &current));
        assert!(!none_match(&headers(name.clone(), &tag_of(6)), &current));
        assert!(!none_match(&headers(name, "garbage"), &current));
        assert!(!none_match(&HeaderMap::new(), &current));
    }
}
