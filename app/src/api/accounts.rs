//! Accounts: sign-up, sign-in and -out, the profile and the password.

use leptos::prelude::*;

use super::Viewer;
use crate::error::AppError;

#[cfg(feature = "ssr")]
fn viewer(user: &domain::User, unread: i64, feed_seq: i64) -> Viewer {
    Viewer {
        display_name: user.display_name.as_str().to_owned(),
        email: user.email.as_str().to_owned(),
        time_zone: user.time_zone.name().to_owned(),
        default_reminder: user
            .default_reminder
            .map(|minutes| domain::reminder::format_list(&[domain::reminder::Reminder::BeforeDue { minutes }]))
            .unwrap_or_default(),
        unread,
        feed_seq,
    }
}

#[server(endpoint = "sign_up")]
pub async fn sign_up(email: String, password: String, display_name: String, time_zone: String) -> Result<(), AppError> {
    use crate::throttle::address_key;
    let st = crate::auth::state()?;
    let _counted = st
        .limits
        .sign_up_per_address
        .try_attempt(&[&address_key(crate::auth::client_ip())])
        .map_err(crate::auth::rate_limited)?;
    let user = st.services.sign_up(domain::services::SignUp { email, password, display_name, time_zone }).await?;
    crate::auth::start_session(&user).await?;
    leptos_axum::redirect("/tasks");
    Ok(())
}

#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String, #[server(default)] next: String) -> Result<(), AppError> {
    let st = crate::auth::state()?;
    let (by_address, by_account) = crate::auth::sign_in_attempt(&st, &email)?;
    match st.services.verify_credentials(&email, &password).await {
        Ok(user) => {
            st.limits.sign_in_per_address.refund(by_address);
            st.limits.sign_in_per_account.refund(by_account);
            crate::auth::start_session(&user).await?;
            leptos_axum::redirect(super::safe_next(&next));
            Ok(())
        }
        Err(domain::ServiceError::InvalidCredentials) => Err(AppError::InvalidCredentials),
        Err(other) => Err(other.into()),
    }
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    crate::auth::end_session().await?;
    leptos_axum::redirect("/signin");
    Ok(())
}

/// The signed-in user, if any: read from the request, never from the database again.
#[server(endpoint = "me")]
pub async fn me() -> Result<Option<Viewer>, AppError> {
    Ok(crate::auth::current_session().map(|s| viewer(&s.user, s.unread_notifications, s.feed_seq)))
}

#[server(endpoint = "update_profile")]
pub async fn update_profile(
    display_name: String,
    time_zone: String,
    #[server(default)] default_reminder: String,
) -> Result<(), AppError> {
    let user = crate::auth::require_user()?;
    super::services()?.update_profile(&user, &display_name, &time_zone, &default_reminder).await?;
    leptos_axum::redirect("/settings?saved=profile");
    Ok(())
}

#[server(endpoint = "change_password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    let session = crate::auth::current_session().ok_or(AppError::Unauthenticated)?;
    let st = crate::auth::state()?;
    let attempt = st
        .limits
        .password_change
        .try_attempt(&[&format!("user:{}", session.user.id)])
        .map_err(crate::auth::rate_limited)?;
    match st.services.change_password(&session.user, &current_password, &new_password, &session.token_hash).await {
        Err(domain::ServiceError::Invalid(e)) if e.field == "current_password" => Err(AppError::from(e)),
        outcome => {
            // Only a wrong current password counts against the limit.
            st.limits.password_change.refund(attempt);
            outcome?;
            leptos_axum::redirect("/settings?saved=password");
            Ok(())
        }
    }
}
