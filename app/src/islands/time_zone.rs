//! The time zone field: for a new account, it fills in the browser's own zone.

use leptos::prelude::*;

/// A time zone field that, for new accounts, fills in the browser's own zone.
#[island]
pub fn TimeZoneInput(value: String, detect: bool) -> impl IntoView {
    let zone = RwSignal::new(value.clone());
    Effect::new(move |_| {
        if detect {
            if let Some(tz) = browser_time_zone() {
                zone.set(tz);
            }
        }
    });
    view! {
        <input id="time_zone" name="time_zone" list="time-zones" value=value prop:value=move || zone.get()
            autocomplete="off" required/>
    }
}

#[cfg(feature = "hydrate")]
fn browser_time_zone() -> Option<String> {
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
    let options = format.resolved_options();
    js_sys::Reflect::get(&options, &wasm_bindgen::JsValue::from_str("timeZone")).ok()?.as_string()
}

#[cfg(not(feature = "hydrate"))]
fn browser_time_zone() -> Option<String> {
    None
}
