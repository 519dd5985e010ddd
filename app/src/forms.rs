//! Forms posted without JavaScript that fail come back with the error beside
//! its field and with what the user typed, never a blank form. This module
//! holds both halves: the server middleware that turns the failed post into
//! a rendering of the form's page (ssr), and what pages read of it.
//!
//! On an error, a server function sends a browser (which accepts HTML) back
//! to the form's page with the error in the query string (`__path`, `__err`).
//! The middleware turns that redirect into a 307, so the browser posts the
//! same body to the page's address; that post is rendered as the page (a GET)
//! with the body as a [`FormEcho`], and answered with the error's own status.
//! Error text only ever comes from such a post, which the CSRF guard lets in
//! from this site alone: a plain GET with `__path`/`__err` (a crafted link)
//! is sent to the same address without them, so no link can put words on a page.

/// The fields of a failed form post, secrets left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormEcho {
    /// The server function the form posted to, e.g. `/api/create_task`.
    pub action: String,
    fields: Vec<(String, String)>,
}

impl FormEcho {
    /// Keeps every field but passwords: those are never written back into a page.
    pub fn new(action: impl Into<String>, fields: impl IntoIterator<Item = (String, String)>) -> Self {
        let fields = fields.into_iter().filter(|(name, _)| !name.contains("password")).collect();
        Self { action: action.into(), fields }
    }

    /// The value the user sent for `name`, or an empty string when the form had no such field.
    pub fn value(&self, name: &str) -> String {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }
}

/// What the user typed into `name` when the form is shown again after an
/// error; otherwise what the page would show anyway (`stored`).
pub fn typed_or(echo: Option<&FormEcho>, name: &str, stored: impl FnOnce() -> String) -> String {
    echo.map_or_else(stored, |e| e.value(name))
}

/// The echo of a failed post to the server function at `action`, when this
/// page is being shown again because of one.
pub fn echoed(action: &str) -> Option<FormEcho> {
    #[cfg(feature = "ssr")]
    {
        use leptos::prelude::use_context;
        use_context::<http::request::Parts>()?.extensions.get::<FormEcho>().filter(|e| e.action == action).cloned()
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = action;
        None
    }
}

#[cfg(feature = "ssr")]
pub use middleware::redisplay_failed_forms;

#[cfg(feature = "ssr")]
mod middleware {
    use axum::body::{to_bytes, Body};
    use axum::extract::Request;
    use axum::middleware::Next;
    use axum::response::{IntoResponse, Response};
    use http::{header, HeaderValue, Method, StatusCode};

    use super::FormEcho;
    use crate::error::AppError;

    /// The query parameters a failed server function adds to the form's address.
    const ERROR_PARAMS: [&str; 2] = ["__path", "__err"];

    /// Largest form body kept for showing a failed form again: the longest
    /// description (10,000 characters), percent-encoded, with room to spare.
    const FORM_ECHO_LIMIT: usize = 256 * 1024;

    type Pairs = Vec<(String, String)>;

    fn split_query(uri: &str) -> (&str, Pairs) {
        match uri.split_once('?') {
            Some((path, query)) => (path, serde_urlencoded::from_str(query).unwrap_or_default()),
            None => (uri, Vec::new()),
        }
    }

    fn join_query(path: &str, pairs: &Pairs) -> String {
        match serde_urlencoded::to_string(pairs) {
            Ok(query) if !query.is_empty() => format!("{path}?{query}"),
            _ => path.to_owned(),
        }
    }

    /// An address with its error parameters removed, or with only the last of
    /// each kept (the ones just added), so failing again and again never
    /// makes it grow.
    fn without_error_params(uri: &str, keep_last: bool) -> String {
        let (path, pairs) = split_query(uri);
        let mut kept: Pairs = pairs.iter().filter(|(k, _)| !ERROR_PARAMS.contains(&k.as_str())).cloned().collect();
        if keep_last {
            for name in ERROR_PARAMS {
                if let Some(last) = pairs.iter().rev().find(|(k, _)| k == name) {
                    kept.push(last.clone());
                }
            }
        }
        join_query(path, &kept)
    }

    /// The server function and the error a failed form post put in a page's query string.
    fn form_error(query: &str) -> Option<(String, AppError)> {
        let pairs: Pairs = serde_urlencoded::from_str(query).ok()?;
        let value = |key: &str| pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let action = value("__path")?;
        let error = server_fn::error::ServerFnUrlError::<AppError>::decode_err(value("__err")?);
        Some((action.to_owned(), error))
    }

    fn has_error_params(query: Option<&str>) -> bool {
        let pairs: Pairs = query.and_then(|q| serde_urlencoded::from_str(q).ok()).unwrap_or_default();
        pairs.iter().any(|(k, _)| ERROR_PARAMS.contains(&k.as_str()))
    }

    /// See the module documentation. Wraps the whole router: a layer on a
    /// router runs after it matched the method, and this turns a POST into a GET.
    pub async fn redisplay_failed_forms(req: Request, next: Next) -> Response {
        if req.method() == Method::GET && has_error_params(req.uri().query()) {
            let clean = without_error_params(&req.uri().to_string(), false);
            return match HeaderValue::from_str(&clean) {
                Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
                Err(_) => StatusCode::BAD_REQUEST.into_response(),
            };
        }
        if req.method() != Method::POST {
            return next.run(req).await;
        }
        if req.uri().path().starts_with("/api/") {
            let mut res = next.run(req).await;
            let failed_to = res
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .filter(|l| l.contains("__err="))
                .map(|l| without_error_params(l, true));
            if let (StatusCode::FOUND, Some(location)) = (res.status(), failed_to) {
                if let Ok(location) = HeaderValue::from_str(&location) {
                    *res.status_mut() = StatusCode::TEMPORARY_REDIRECT;
                    res.headers_mut().insert(header::LOCATION, location);
                }
            }
            return res;
        }
        let Some((action, error)) = req.uri().query().and_then(form_error) else {
            return next.run(req).await;
        };
        let (mut parts, body) = req.into_parts();
        let Ok(bytes) = to_bytes(body, FORM_ECHO_LIMIT).await else {
            return (StatusCode::PAYLOAD_TOO_LARGE, "The form was too large.").into_response();
        };
        let fields: Pairs = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        parts.method = Method::GET;
        parts.headers.remove(header::CONTENT_TYPE);
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.extensions.insert(FormEcho::new(action, fields));
        let res = next.run(Request::from_parts(parts, Body::empty())).await;
        if res.status() == StatusCode::OK {
            let (mut parts, body) = res.into_parts();
            error.apply_to(&mut parts.status, &mut parts.headers);
            return Response::from_parts(parts, body);
        }
        res
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn failing_again_keeps_one_pair_of_error_parameters() {
            let grown = "/tasks/new?x=1&__path=%2Fapi%2Fa&__err=old&__path=%2Fapi%2Fb&__err=new";
            assert_eq!(without_error_params(grown, true), "/tasks/new?x=1&__path=%2Fapi%2Fb&__err=new");
            assert_eq!(without_error_params(grown, false), "/tasks/new?x=1");
            assert_eq!(without_error_params("/signin?__err=x", false), "/signin");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn passwords_are_never_echoed() {
        let echo = FormEcho::new(
            "/api/change_password",
            pairs(&[("password", "a"), ("current_password", "b"), ("new_password", "c"), ("email", "me@x.org")]),
        );
        assert_eq!(echo.value("password"), "");
        assert_eq!(echo.value("current_password"), "");
        assert_eq!(echo.value("new_password"), "");
        assert_eq!(echo.value("email"), "me@x.org");
    }

    #[test]
    fn a_field_the_form_did_not_send_reads_as_empty() {
        let echo = FormEcho::new("/api/create_task", pairs(&[("title", "Buy milk")]));
        assert_eq!((echo.value("title").as_str(), echo.value("tags").as_str()), ("Buy milk", ""));
    }

    #[test]
    fn a_form_shown_again_keeps_what_was_typed_even_when_it_was_emptied() {
        let echo = FormEcho::new("/api/update_profile", pairs(&[("display_name", "")]));
        assert_eq!(typed_or(Some(&echo), "display_name", || "Stored".to_owned()), "");
        assert_eq!(typed_or(None, "display_name", || "Stored".to_owned()), "Stored");
    }
}
