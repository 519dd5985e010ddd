//! What surrounds every page: the header with its navigation, the home page
//! for visitors, and the not-found page.

use leptos::prelude::*;
use leptos_meta::Title;

use super::error_view;
use crate::api;
use crate::error::AppError;
use crate::islands::{Bell, SearchBox, Shortcuts, ShortcutsDialog, Toasts};

#[component]
pub fn Header() -> impl IntoView {
    let sign_out = ServerAction::<api::SignOut>::new();
    view! {
        <header class="site-header">
            <a class="skip" href="#main">"Skip to content"</a>
            <a class="brand" href="/">"Cadence"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match api::me().await {
                        Ok(Some(me)) => {
                            view! {
                                <SearchBox>
                                    <form method="get" action="/tasks" role="search" aria-label="Find tasks">
                                        <label for="header-search" class="visually-hidden">"Find tasks"</label>
                                        <input type="search" id="header-search" name="q" autocomplete="off"
                                            maxlength=api::MAX_QUERY.to_string() placeholder="Find tasks" aria-keyshortcuts="/"/>
                                        <ul id="header-search-results" role="listbox" aria-label="Matching tasks" hidden></ul>
                                    </form>
                                </SearchBox>
                                <nav aria-label="Main">
                                    <a href="/tasks">"Tasks"</a>
                                    <a href="/tags">"Tags"</a>
                                    <a href="/activity">"Activity"</a>
                                    <a href="/chat">"Assistant"</a>
                                    <Shortcuts><ShortcutsDialog/></Shortcuts>
                                    <Bell unread=me.unread cursor=me.feed_seq/>
                                    <Toasts cursor=me.feed_seq/>
                                    <a href="/settings" title=me.email.clone()>{me.display_name.clone()}</a>
                                    <ActionForm action=sign_out attr:class="inline">
                                        <button type="submit" class="link-button">"Sign out"</button>
                                    </ActionForm>
                                </nav>
                            }
                            .into_any()
                        }
                        _ => {
                            view! {
                                <nav aria-label="Main">
                                    <a href="/signin">"Sign in"</a>
                                    <a href="/signup" class="button small">"Sign up"</a>
                                </nav>
                            }
                            .into_any()
                        }
                    }
                })}
            </Suspense>
        </header>
    }
}

#[component]
pub fn Home() -> impl IntoView {
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                if let Ok(Some(_)) = api::me().await {
                    #[cfg(feature = "ssr")]
                    {
                        leptos_axum::redirect("/tasks");
                        if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                            res.set_status(http::StatusCode::FOUND);
                        }
                    }
                }
                view! {
                    <Title text=""/>
                    <section class="hero">
                        <h1>"Deadlines you can rely on."</h1>
                        <p>"Cadence keeps your tasks, due dates and priorities in one fast, quiet place."</p>
                        <p class="actions">
                            <a class="button" href="/signup">"Create an account"</a>
                            <a class="button secondary" href="/signin">"Sign in"</a>
                        </p>
                    </section>
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    error_view(AppError::NotFound)
}
