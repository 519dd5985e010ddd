//! Cadence's user interface: the HTML shell, the routes, the server-rendered
//! pages (one module per feature), the WASM islands and the server functions
//! they post to.

pub mod api;
#[cfg(feature = "ssr")]
pub mod auth;
pub mod error;
pub mod forms;
pub mod islands;
#[cfg(feature = "ssr")]
pub mod list_cache;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod throttle;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

use pages::{accounts, activity, chat, layout, notifications, tags, tasks, tokens, views};

/// The Content-Security-Policy: only our own scripts (pages add their nonce),
/// WASM compilation, our own styles and same-origin requests.
pub fn content_security_policy(nonce: Option<&str>) -> String {
    let nonce = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The document around every page. Scripts carry the per-request CSP nonce,
/// which the server's header middleware also puts in the policy.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <HashedStylesheet options=options.clone() id="leptos"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// leptos_meta writes `<title>` text unescaped during SSR, so user text
/// (task titles) is escaped here before it gets there.
fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|t: String| if t.is_empty() { "Cadence".to_owned() } else { format!("{} · Cadence", escape_text(&t)) }/>
        <Router>
            <layout::Header/>
            <main id="main">
                <Routes fallback=layout::NotFound>
                    <Route path=path!("/") view=layout::Home ssr=SsrMode::Async/>
                    <Route path=path!("/signin") view=accounts::SignIn ssr=SsrMode::Async/>
                    <Route path=path!("/signup") view=accounts::SignUp ssr=SsrMode::Async/>
                    <Route path=path!("/tasks") view=tasks::TaskListPage ssr=SsrMode::Async/>
                    <Route path=path!("/tasks/new") view=tasks::NewTask ssr=SsrMode::Async/>
                    <Route path=path!("/tasks/:id") view=tasks::TaskPage ssr=SsrMode::Async/>
                    <Route path=path!("/tasks/:id/edit") view=tasks::EditTask ssr=SsrMode::Async/>
                    <Route path=path!("/tasks/:id/delete") view=tasks::DeleteTask ssr=SsrMode::Async/>
                    <Route path=path!("/tags") view=tags::TagsPage ssr=SsrMode::Async/>
                    <Route path=path!("/tags/delete") view=tags::DeleteTag ssr=SsrMode::Async/>
                    <Route path=path!("/upcoming") view=views::UpcomingPage ssr=SsrMode::Async/>
                    <Route path=path!("/views") view=views::ViewsPage ssr=SsrMode::Async/>
                    <Route path=path!("/activity") view=activity::Activity ssr=SsrMode::Async/>
                    <Route path=path!("/chat") view=chat::ChatPage ssr=SsrMode::Async/>
                    <Route path=path!("/notifications") view=notifications::Notifications ssr=SsrMode::Async/>
                    <Route path=path!("/settings") view=accounts::Settings ssr=SsrMode::Async/>
                    <Route path=path!("/settings/tokens") view=tokens::TokensPage ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}
