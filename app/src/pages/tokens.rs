//! The API tokens page (`/settings/tokens`): the form that makes a personal
//! access token (its secret shown once, in the answer to the form), and the
//! user's tokens with their scopes, use and expiry, each revocable.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{action_error, invalid, load_then, FieldError, FormError};
use crate::api::{self, CreateTokenOutcome, TokenView, TOKENS_PAGE};
use crate::forms::echoed;

#[component]
pub fn TokensPage() -> impl IntoView {
    let revoke = ServerAction::<api::RevokeToken>::new();
    let revoke_error = action_error(revoke);
    let (created, error) = match api::create_token_outcome() {
        Some(CreateTokenOutcome::Created(new)) => (Some(new), None),
        Some(CreateTokenOutcome::Failed(e)) => (None, Some(e)),
        None => (None, None),
    };
    let revoked = use_query_map().get_untracked().get("revoked").is_some();
    let echo = echoed(TOKENS_PAGE).unwrap_or_default();
    let typed_expiry = echo.value("expires");
    let expires = if typed_expiry.is_empty() { "30".to_owned() } else { typed_expiry };
    let write = !echo.value("write").is_empty();
    let choice = move |value: &'static str, label: &'static str| {
        view! { <option value=value selected=expires == value>{label}</option> }
    };
    view! {
        <Title text="API tokens"/>
        <p class="hint"><a href="/settings">"← Settings"</a></p>
        <h1>"API tokens"</h1>
        <p class="hint">"A personal access token lets a script or another app use Cadence's API as you: send it as "
            <code>"Authorization: Bearer cad_…"</code>". Treat it like a password."</p>
        <p class="hint"><a href="/api/v1/docs" rel="external">"The API's reference"</a>": every operation, with curl examples."</p>
        {created.map(|new| view! {
            <section class="card token-created" role="status">
                <h2>"Token \u{201c}" {new.name} "\u{201d} created"</h2>
                <label for="new-token">"Your new token"</label>
                <input id="new-token" name="new-token" readonly value=new.secret autocomplete="off" spellcheck="false"
                    aria-describedby="new-token-hint"/>
                <p class="hint" id="new-token-hint"><strong>"Copy it now: it is not shown again."</strong></p>
            </section>
        })}
        {revoked.then(|| view! { <p class="notice" role="status">"Token revoked. It no longer works."</p> })}
        <section class="card">
            <h2>"New token"</h2>
            <form method="post" action=TOKENS_PAGE>
                <FormError error=error.clone()/>
                <label for="token-name">"Name"</label>
                <input id="token-name" name="name" maxlength="60" required placeholder="Backup script"
                    value=echo.value("name") aria-invalid=invalid(&error, "name")/>
                <FieldError error=error.clone() name="name"/>
                <label class="check-label"><input type="checkbox" name="write" value="on" checked=write/>
                    " Can change tasks (write)"</label>
                <p class="hint">"Without it the token can only read."</p>
                <label for="token-expires">"Expires"</label>
                <select id="token-expires" name="expires" aria-invalid=invalid(&error, "expires")>
                    {choice("7", "In 7 days")}
                    {choice("30", "In 30 days")}
                    {choice("90", "In 90 days")}
                    {choice("date", "On a date (below)")}
                    {choice("never", "Never")}
                </select>
                <FieldError error=error.clone() name="expires"/>
                <label for="token-expires-on">"Date " <span class="hint">"(when \u{201c}On a date\u{201d}: it works until the end of that day)"</span></label>
                <input id="token-expires-on" name="expires_on" type="date" value=echo.value("expires_on")
                    aria-invalid=invalid(&error, "expires_on")/>
                <FieldError error=error name="expires_on"/>
                <button type="submit">"Create token"</button>
            </form>
        </section>
        <section class="card">
            <h2>"Your tokens"</h2>
            <FormError error=revoke_error/>
            {load_then(api::list_tokens, move |tokens: Vec<TokenView>| {
                if tokens.is_empty() {
                    return view! { <p class="empty">"None yet."</p> }.into_any();
                }
                view! {
                    <table class="tokens">
                        <thead><tr>
                            <th scope="col">"Name"</th><th scope="col">"Scopes"</th><th scope="col">"Created"</th>
                            <th scope="col">"Last used"</th><th scope="col">"Expires"</th><th scope="col"><span class="visually-hidden">"Revoke"</span></th>
                        </tr></thead>
                        <tbody>
                            {tokens.into_iter().map(|t| {
                                let label = format!("Revoke {}", t.name);
                                let expires = if t.expired { format!("expired {}", t.expires) } else { t.expires };
                                view! {
                                    <tr>
                                        <td>{t.name}</td>
                                        <td>{t.scopes}</td>
                                        <td>{t.created}</td>
                                        <td class="last-used">{t.last_used}</td>
                                        <td>{expires}</td>
                                        <td>
                                            <ActionForm action=revoke attr:class="inline">
                                                <input type="hidden" name="id" value=t.id/>
                                                <button type="submit" class="danger small" aria-label=label>"Revoke"</button>
                                            </ActionForm>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            })}
        </section>
    }
}
