//! Desktop notifications: the settings' switch (an island: asking the
//! browser's permission needs JavaScript), and what the toasts call to
//! show a reminder as a system notification when the tab is hidden. Each
//! carries the notification's number as its tag, so with several tabs open
//! the system still shows one.

use leptos::prelude::*;

#[island]
pub fn DesktopNotifications() -> impl IntoView {
    // "off", "on", "blocked" (the browser refused), "unsupported"; unknown until hydrated.
    let state = RwSignal::new(String::new());
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        state.set(browser::state());
    });
    let enable = move |_| {
        #[cfg(feature = "hydrate")]
        browser::enable(state);
    };
    let disable = move |_| {
        #[cfg(feature = "hydrate")]
        {
            browser::set_stored(false);
            state.set(browser::state());
        }
    };
    view! {
        <div class="desktop-notifications">
            <p class="hint" data-state=move || state.get()>
                {move || match state.get().as_str() {
                    "on" => "On: reminders also show as system notifications while Cadence is in the background.",
                    "blocked" => "Blocked: this browser refused notifications for Cadence; allow them in its site settings.",
                    "unsupported" => "This browser cannot show system notifications.",
                    "off" => "Off.",
                    _ => "Needs JavaScript.",
                }}
            </p>
            <button type="button" class="secondary" on:click=enable hidden=move || state.get() != "off">"Turn on desktop notifications"</button>
            <button type="button" class="secondary" on:click=disable hidden=move || state.get() != "on">"Turn off"</button>
        </div>
    }
}

#[cfg(feature = "hydrate")]
pub use browser::show_if_hidden;

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{Notification, NotificationOptions, NotificationPermission};

    /// Where the choice is kept, per browser.
    const STORAGE_KEY: &str = "cadence.desktop";

    fn supported() -> bool {
        js_sys::Reflect::has(&window(), &JsValue::from_str("Notification")).unwrap_or(false)
    }

    fn stored() -> bool {
        window().local_storage().ok().flatten().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten()).as_deref()
            == Some("on")
    }

    pub fn set_stored(on: bool) {
        if let Some(storage) = window().local_storage().ok().flatten() {
            let _ = if on { storage.set_item(STORAGE_KEY, "on") } else { storage.remove_item(STORAGE_KEY) };
        }
    }

    pub fn state() -> String {
        if !supported() {
            return "unsupported".into();
        }
        match Notification::permission() {
            NotificationPermission::Denied => "blocked".into(),
            NotificationPermission::Granted if stored() => "on".into(),
            _ => "off".into(),
        }
    }

    pub fn enable(state: RwSignal<String>) {
        if !supported() {
            return;
        }
        let Ok(asked) = Notification::request_permission() else { return };
        let answered = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            set_stored(Notification::permission() == NotificationPermission::Granted);
            state.set(self::state());
        });
        let _ = asked.then(&answered);
        answered.forget();
    }

    /// Shows a notification as a system one if this tab is hidden and the user turned them on.
    pub fn show_if_hidden(seq: i64, title: &str, body: &str, link: Option<&str>) {
        if !document().hidden()
            || !supported()
            || !stored()
            || Notification::permission() != NotificationPermission::Granted
        {
            return;
        }
        let options = NotificationOptions::new();
        options.set_body(body);
        options.set_tag(&format!("cadence-{seq}"));
        let Ok(shown) = Notification::new_with_options(title, &options) else { return };
        let link = link.map(str::to_owned);
        let on_click = Closure::<dyn FnMut()>::new(move || {
            let _ = window().focus();
            if let Some(link) = &link {
                let _ = window().location().set_href(link);
            }
        });
        shown.set_onclick(Some(on_click.as_ref().unchecked_ref()));
        on_click.forget();
    }
}
