//! The interactive leaves, hydrated in the browser: quick-add, the complete
//! toggle and the time zone field. Each renders a working form on the server,
//! so it still works before (or without) the WASM.

use leptos::html;
use leptos::prelude::*;

use crate::api::{QuickAdd as QuickAddFn, SetCompleted, TaskRow};
use crate::pages::TaskRowView;

/// True once the island runs in the browser (effects never run on the server);
/// shown as `data-hydrated` so tests and styles can tell.
fn hydration_marker() -> RwSignal<bool> {
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    hydrated
}

/// Adds a task from a title without a page reload; new tasks appear at the top.
#[island]
pub fn QuickAdd() -> impl IntoView {
    let action = ServerAction::<QuickAddFn>::new();
    let added = RwSignal::new(Vec::<TaskRow>::new());
    let form = NodeRef::<html::Form>::new();
    let error = RwSignal::new(None::<String>);
    let hydrated = hydration_marker();
    Effect::new(move |_| match action.value().get() {
        Some(Ok(row)) => {
            added.update(|rows| rows.insert(0, row));
            error.set(None);
            if let Some(form) = form.get() {
                form.reset();
            }
        }
        Some(Err(e)) => error.set(Some(e.to_string())),
        None => {}
    });
    view! {
        <div class="quick-add" data-hydrated=move || hydrated.get().then_some("true")>
            <ActionForm action=action node_ref=form attr:class="quick-add-form">
                <label for="quick-add-title" class="visually-hidden">"New task title"</label>
                <input id="quick-add-title" name="title" placeholder="Add a task and press Enter" maxlength="200" required
                    autocomplete="off" aria-invalid=move || error.get().map(|_| "true")
                    aria-describedby="quick-add-error"/>
                <button type="submit" disabled=move || action.pending().get()>"Add"</button>
            </ActionForm>
            <p id="quick-add-error" class="field-error" role="alert" hidden=move || error.get().is_none()>
                {move || error.get().unwrap_or_default()}
            </p>
            <ul class="task-list just-added" aria-live="polite">
                <For each=move || added.get() key=|row| row.id.clone() let:row>
                    <TaskRowView row/>
                </For>
            </ul>
        </div>
    }
}

/// Completes or reopens a task at once and rolls back if the server says no.
#[island]
pub fn CompleteToggle(id: String, completed: bool, title: String) -> impl IntoView {
    let action = ServerAction::<SetCompleted>::new();
    let confirmed = RwSignal::new(completed);
    let failed = RwSignal::new(false);
    let hydrated = hydration_marker();
    Effect::new(move |_| match action.value().get() {
        Some(Ok(row)) => {
            confirmed.set(row.completed);
            failed.set(false);
        }
        Some(Err(_)) => failed.set(true),
        None => {}
    });
    // While a request is in flight, show what was asked for; afterwards, what the server confirmed.
    let shown = move || action.input().get().map(|i| i.completed).unwrap_or_else(|| confirmed.get());
    let label = move || {
        if shown() {
            format!("Mark \u{201c}{title}\u{201d} as not done")
        } else {
            format!("Mark \u{201c}{title}\u{201d} as done")
        }
    };
    view! {
        <ActionForm action=action attr:class="toggle-form" attr:data-hydrated=move || hydrated.get().then_some("true")>
            <input type="hidden" name="id" value=id/>
            <input type="hidden" name="completed" prop:value=move || (!shown()).to_string() value=(!completed).to_string()/>
            <button type="submit" class="check" aria-pressed=move || shown().to_string() aria-label=label
                data-testid="complete-toggle">
                <span aria-hidden="true">"\u{2713}"</span>
            </button>
            <span class="toggle-error" role="alert" hidden=move || !failed.get()>"Could not save. Try again."</span>
        </ActionForm>
    }
}

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
