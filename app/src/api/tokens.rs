//! Personal access tokens on the settings page: the list, revoking one, and
//! the form that makes one. That form posts to the page itself, and the page
//! rendered in answer shows the new secret: the one time it is ever shown,
//! carried in that response's body alone (never a redirect's address, a
//! cookie or a log line).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The tokens page, which the create form also posts to.
pub const TOKENS_PAGE: &str = "/settings/tokens";

/// One token as the settings page lists it: never its secret or hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    /// "read", or "read, write".
    pub scopes: String,
    pub created: String,
    /// "never" until the token is used.
    pub last_used: String,
    /// "never", or when it stops (or stopped) working.
    pub expires: String,
    pub expired: bool,
}

/// A token just made, for the page that answers the form. `Debug` leaves the secret out.
#[derive(Clone, PartialEq, Eq)]
pub struct NewTokenView {
    pub name: String,
    pub secret: String,
}

impl std::fmt::Debug for NewTokenView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewTokenView").field("name", &self.name).field("secret", &"cad_…").finish()
    }
}

/// What posting the create form led to.
#[derive(Debug, Clone, PartialEq)]
pub enum CreateTokenOutcome {
    Created(NewTokenView),
    Failed(AppError),
}

/// The outcome of the create form, when this page answers its post.
pub fn create_token_outcome() -> Option<CreateTokenOutcome> {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()?.extensions.get::<CreateTokenOutcome>().cloned()
    }
    #[cfg(not(feature = "ssr"))]
    {
        None
    }
}

#[server(endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<TokenView>, AppError> {
    let user = crate::auth::require_user()?;
    let services = super::services()?;
    let now = services.clock.now();
    let tokens = services.api_tokens(&user).await?;
    Ok(tokens
        .into_iter()
        .map(|t| TokenView {
            id: t.id.0.to_string(),
            name: t.name.as_str().to_owned(),
            scopes: t.scopes.names().join(", "),
            created: super::when(t.created_at, &user),
            last_used: t.last_used_at.map_or_else(|| "never".to_owned(), |at| super::when(at, &user)),
            expires: t.expires_at.map_or_else(|| "never".to_owned(), |at| super::when(at, &user)),
            expired: !t.is_live(now),
        })
        .collect())
}

/// Revokes one of the user's tokens: it stops working at once.
#[server(endpoint = "revoke_token")]
pub async fn revoke_token(id: String) -> Result<(), AppError> {
    let user = crate::auth::require_user()?;
    let id = domain::tokens::TokenId::parse(&id).map_err(|_| AppError::NotFound)?;
    super::services()?.revoke_token(&user, id).await?;
    leptos_axum::redirect(&format!("{TOKENS_PAGE}?revoked=1"));
    Ok(())
}

#[cfg(feature = "ssr")]
pub use form::create_token_from_form;

#[cfg(feature = "ssr")]
mod form {
    use axum::body::{to_bytes, Body};
    use axum::extract::Request;
    use axum::middleware::Next;
    use axum::response::{IntoResponse, Response};
    use domain::services::NewToken;
    use domain::tokens::TokenSecret;
    use http::{header, HeaderValue, Method, StatusCode};
    use rand::RngCore as _;

    use super::{CreateTokenOutcome, NewTokenView, TOKENS_PAGE};
    use crate::auth::{AppState, CurrentSession};
    use crate::error::AppError;
    use crate::forms::FormEcho;

    /// A name, a box and an expiry: far less than this.
    const FORM_LIMIT: usize = 16 * 1024;

    /// 256 bits from the operating system's generator, through the thread's CSPRNG.
    fn mint() -> TokenSecret {
        let mut bytes = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut bytes);
        TokenSecret::from_random(bytes)
    }

    /// Answers a post of the create form with the tokens page itself: with
    /// the new secret, or with the error beside its field and what was typed.
    /// Wraps the router inside the session layer (it needs the user) and
    /// behind the CSRF guard, which already refused a post from another site.
    pub async fn create_token_from_form(req: Request, next: Next) -> Response {
        if req.method() != Method::POST || req.uri().path() != TOKENS_PAGE {
            return next.run(req).await;
        }
        let session = req.extensions().get::<CurrentSession>().and_then(|s| s.0.clone());
        let (Some(session), Some(state)) = (session, req.extensions().get::<AppState>().cloned()) else {
            let to = HeaderValue::from_static("/signin?next=%2Fsettings%2Ftokens");
            return (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
        };
        let (mut parts, body) = req.into_parts();
        let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
            return (StatusCode::PAYLOAD_TOO_LARGE, "The form was too large.").into_response();
        };
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        let value = |name: &str| fields.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str());
        let form = NewToken {
            name: value("name"),
            write: !value("write").is_empty(),
            expires: value("expires"),
            expires_on: value("expires_on"),
        };
        let outcome = match state.services.create_token(&session.user, form, mint()).await {
            Ok(created) => CreateTokenOutcome::Created(NewTokenView {
                name: created.token.name.as_str().to_owned(),
                secret: created.secret.expose().to_owned(),
            }),
            Err(e) => CreateTokenOutcome::Failed(AppError::from(e)),
        };
        if matches!(outcome, CreateTokenOutcome::Failed(_)) {
            parts.extensions.insert(FormEcho::new(TOKENS_PAGE, fields.clone()));
        }
        let failed = match &outcome {
            CreateTokenOutcome::Failed(e) => Some(e.clone()),
            CreateTokenOutcome::Created(_) => None,
        };
        parts.method = Method::GET;
        parts.headers.remove(header::CONTENT_TYPE);
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.extensions.insert(outcome);
        let res = next.run(Request::from_parts(parts, Body::empty())).await;
        match failed {
            Some(error) if res.status() == StatusCode::OK => {
                let (mut parts, body) = res.into_parts();
                error.apply_to(&mut parts.status, &mut parts.headers);
                Response::from_parts(parts, body)
            }
            _ => res,
        }
    }
}
