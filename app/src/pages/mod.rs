//! The server-rendered pages, one module per feature, and what they share:
//! the error page, form errors, and loading a page's data before rendering.
//! Pages work without JavaScript: every form posts to a server function
//! (but the API token form, answered by its own page so the new secret shows
//! there once), every filter is a GET query string.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::AppError;

pub mod accounts;
pub mod activity;
pub mod chat;
pub mod layout;
pub mod notifications;
pub mod tags;
pub mod task_rows;
pub mod tasks;
pub mod tokens;
pub mod views;

/// Renders an error as a page, with its HTTP status; an anonymous visitor is sent to sign in.
pub fn error_view(e: AppError) -> AnyView {
    #[cfg(feature = "ssr")]
    {
        if e == AppError::Unauthenticated {
            let loc = leptos_router::hooks::use_location();
            let search = loc.search.get_untracked();
            let query = if search.is_empty() || search.starts_with('?') { search } else { format!("?{search}") };
            let here = format!("{}{}", loc.pathname.get_untracked(), query);
            let next: String = here
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            leptos_axum::redirect(&format!("/signin?next={next}"));
            // redirect() only sets 302 for requests that accept HTML; a page always redirects.
            if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                res.set_status(http::StatusCode::FOUND);
            }
        } else if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
            res.set_status(http::StatusCode::from_u16(e.status()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR));
        }
    }
    let heading = match e {
        AppError::NotFound => "Not found",
        AppError::Unauthenticated => "Please sign in",
        _ => "Something went wrong",
    };
    view! {
        <Title text=heading/>
        <section class="card error-page">
            <h1>{heading}</h1>
            <p>{e.to_string()}</p>
            <p><a href="/tasks">"Back to your tasks"</a></p>
        </section>
    }
    .into_any()
}

/// The error of a server action, if the form is being shown again after it failed.
fn action_error<S>(action: ServerAction<S>) -> Option<AppError>
where
    S: server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    action.value().get_untracked().and_then(Result::err)
}

#[component]
fn FieldError(error: Option<AppError>, name: &'static str) -> impl IntoView {
    error.and_then(|e| e.for_field(name)).map(|msg| {
        view! { <p class="field-error" id=format!("{name}-error") role="alert">{msg}</p> }
    })
}

/// An error that belongs to the whole form rather than one field.
#[component]
fn FormError(error: Option<AppError>) -> impl IntoView {
    error.filter(|e| !e.is_field_error()).map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
}

fn invalid(error: &Option<AppError>, name: &str) -> Option<&'static str> {
    error.as_ref().and_then(|e| e.for_field(name)).map(|_| "true")
}

/// Escapes text for an element whose children Leptos writes unescaped
/// (`<textarea>`, like `<script>` and `<style>`): without it, a stored
/// `</textarea>` would end the element and the rest would be live markup.
/// The browser decodes the entities back, so the field shows the text as stored.
pub fn raw_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Awaits `load` (on the server: the page is rendered once it resolves) and
/// renders its value, or the error page.
fn load_then<T, Fut>(
    load: impl Fn() -> Fut + Clone + Send + Sync + 'static,
    render: impl Fn(T) -> AnyView + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Send + 'static,
    Fut: std::future::Future<Output = Result<T, AppError>> + Send + 'static,
{
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let (load, render) = (load.clone(), render.clone());
                Suspend::new(async move {
                    match load().await {
                        Ok(value) => render(value),
                        Err(e) => error_view(e),
                    }
                })
            }}
        </Suspense>
    }
}

/// The signed-in user, or `Unauthenticated` (which sends the visitor to sign in).
async fn signed_in() -> Result<crate::api::Viewer, AppError> {
    crate::api::me().await?.ok_or(AppError::Unauthenticated)
}

#[cfg(test)]
mod tests {
    use super::raw_text;

    #[test]
    fn raw_text_cannot_close_its_element() {
        assert_eq!(raw_text("a</textarea><img src=x>&amp;"), "a&lt;/textarea&gt;&lt;img src=x&gt;&amp;amp;");
    }
}
