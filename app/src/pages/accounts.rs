//! Accounts' pages: sign-in, sign-up and settings.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

use super::{action_error, invalid, load_then, signed_in, FieldError, FormError};
use crate::api;
use crate::forms::{echoed, typed_or};
use crate::islands::{DesktopNotifications, TimeZoneInput};

#[component]
pub fn SignIn() -> impl IntoView {
    let action = ServerAction::<api::SignIn>::new();
    let error = action_error(action);
    let next = use_query_map().get_untracked().get("next").unwrap_or_default();
    let email = echoed(api::SignIn::PATH).map(|e| e.value("email")).unwrap_or_default();
    view! {
        <Title text="Sign in"/>
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <FormError error=error.clone()/>
            <ActionForm action=action>
                <input type="hidden" name="next" value=next/>
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" value=email required/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required/>
                <button type="submit">"Sign in"</button>
            </ActionForm>
            <p>"New here? " <a href="/signup">"Create an account"</a></p>
        </section>
    }
}

#[component]
pub fn SignUp() -> impl IntoView {
    let action = ServerAction::<api::SignUp>::new();
    let error = action_error(action);
    let echo = echoed(api::SignUp::PATH);
    let detect = echo.is_none();
    let echo = echo.unwrap_or_default();
    let zone = Some(echo.value("time_zone")).filter(|z| !z.is_empty()).unwrap_or_else(|| "UTC".to_owned());
    view! {
        <Title text="Sign up"/>
        <section class="card narrow">
            <h1>"Create your account"</h1>
            <FormError error=error.clone()/>
            <ActionForm action=action>
                <label for="display_name">"Name"</label>
                <input id="display_name" name="display_name" autocomplete="name" maxlength="80" required
                    value=echo.value("display_name") aria-invalid=invalid(&error, "display_name")/>
                <FieldError error=error.clone() name="display_name"/>
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="email" required
                    value=echo.value("email") aria-invalid=invalid(&error, "email")/>
                <FieldError error=error.clone() name="email"/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="new-password" minlength="8"
                    maxlength="128" required aria-describedby="password-hint" aria-invalid=invalid(&error, "password")/>
                <p class="hint" id="password-hint">"At least 8 characters."</p>
                <FieldError error=error.clone() name="password"/>
                <label for="time_zone">"Time zone"</label>
                <TimeZoneInput value=zone detect/>
                <TimeZoneList/>
                <FieldError error=error.clone() name="time_zone"/>
                <button type="submit">"Create account"</button>
            </ActionForm>
            <p>"Already have an account? " <a href="/signin">"Sign in"</a></p>
        </section>
    }
}

/// All IANA zone names, for the time zone field's suggestions.
#[component]
fn TimeZoneList() -> impl IntoView {
    view! {
        <datalist id="time-zones">
            {chrono_tz::TZ_VARIANTS.iter().map(|tz| view! { <option value=tz.name()/> }).collect_view()}
        </datalist>
    }
}

#[component]
pub fn Settings() -> impl IntoView {
    let profile = ServerAction::<api::UpdateProfile>::new();
    let password = ServerAction::<api::ChangePassword>::new();
    let (profile_error, password_error) = (action_error(profile), action_error(password));
    let saved = use_query_map().get_untracked().get("saved");
    view! {
        <Title text="Settings"/>
        <h1>"Settings"</h1>
        {load_then(signed_in, move |me| {
            let (profile_error, password_error, saved) = (profile_error.clone(), password_error.clone(), saved.clone());
            let echo = echoed(api::UpdateProfile::PATH);
            let display_name = typed_or(echo.as_ref(), "display_name", || me.display_name.clone());
            let time_zone = typed_or(echo.as_ref(), "time_zone", || me.time_zone.clone());
            let default_reminder = typed_or(echo.as_ref(), "default_reminder", || me.default_reminder.clone());
            view! {
                {saved.map(|what| view! { <p class="notice" role="status">{if what == "password" { "Password changed." } else { "Settings saved." }}</p> })}
                <section class="card">
                    <h2>"Profile"</h2>
                    <p class="hint">"Signed in as " {me.email.clone()}</p>
                    <ActionForm action=profile>
                        <FormError error=profile_error.clone()/>
                        <label for="display_name">"Name"</label>
                        <input id="display_name" name="display_name" value=display_name maxlength="80" required/>
                        <FieldError error=profile_error.clone() name="display_name"/>
                        <label for="time_zone">"Time zone"</label>
                        <TimeZoneInput value=time_zone detect=false/>
                        <TimeZoneList/>
                        <FieldError error=profile_error.clone() name="time_zone"/>
                        <label for="default_reminder">"Default reminder " <span class="hint">"(added to new tasks with a due time: at due, 15m, 1h, 1d; empty for none)"</span></label>
                        <input id="default_reminder" name="default_reminder" value=default_reminder placeholder="15m"
                            aria-invalid=invalid(&profile_error, "default_reminder")/>
                        <FieldError error=profile_error.clone() name="default_reminder"/>
                        <button type="submit">"Save"</button>
                    </ActionForm>
                </section>
                <section class="card">
                    <h2>"Desktop notifications"</h2>
                    <DesktopNotifications/>
                </section>
                <section class="card">
                    <h2>"API tokens"</h2>
                    <p class="hint">"Personal access tokens let scripts and other apps use the API as you."</p>
                    <p><a href="/settings/tokens">"Manage API tokens"</a></p>
                </section>
                <section class="card">
                    <h2>"Password"</h2>
                    <ActionForm action=password>
                        <FormError error=password_error.clone()/>
                        <label for="current_password">"Current password"</label>
                        <input id="current_password" name="current_password" type="password" autocomplete="current-password" required/>
                        <FieldError error=password_error.clone() name="current_password"/>
                        <label for="new_password">"New password"</label>
                        <input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="8" maxlength="128" required/>
                        <FieldError error=password_error.clone() name="new_password"/>
                        <button type="submit">"Change password"</button>
                    </ActionForm>
                </section>
            }
            .into_any()
        })}
    }
}
