//! Keyboard shortcuts, for signed-in pages: `/` finds tasks (the header's
//! search), `?` lists the shortcuts, and on the task list `q` goes to
//! quick-add, `j`/`k` move the current row, `x` completes or reopens it
//! (through its own toggle, which the board sends without a reload), `e`
//! edits it and `#` asks to delete it. The server renders the list of
//! shortcuts as a closed `<dialog>`; without WASM there are no shortcuts, so
//! the button that opens it shows only once the island runs. Keys typed into
//! a field, or with Ctrl, Alt or Meta held, are never taken. Rows come and go
//! live, so they are looked up when a key is pressed, never kept.

use leptos::html;
use leptos::prelude::*;

/// The keys and what they do, as the dialog lists them.
pub const SHORTCUTS: [(&str, &str); 8] = [
    ("/", "Find tasks"),
    ("q", "Add a task (quick-add)"),
    ("j", "Next task in the list"),
    ("k", "Previous task in the list"),
    ("x", "Complete or reopen the current task"),
    ("e", "Edit the current task"),
    ("#", "Delete the current task (asks first)"),
    ("?", "Show these shortcuts"),
];

/// Wraps the server-rendered hint button (hidden) and `<dialog>`: it shows
/// the button and listens for the keys. Nothing inside is re-rendered, which
/// keeps the island small.
#[island]
pub fn Shortcuts(children: Children) -> impl IntoView {
    let root = NodeRef::<html::Div>::new();
    Effect::new(move |_| {
        if let Some(el) = root.get() {
            #[cfg(feature = "hydrate")]
            keys::enhance(&el);
            #[cfg(not(feature = "hydrate"))]
            let _ = el;
        }
    });
    view! { <div class="shortcuts-wrap" node_ref=root>{children()}</div> }
}

/// What the island wraps: the hint that opens the list (shown by the island:
/// without WASM there are no shortcuts) and the list itself.
#[component]
pub fn ShortcutsDialog() -> impl IntoView {
    view! {
        <button type="button" class="link-button shortcuts-button" aria-haspopup="dialog" hidden>
            "Keyboard shortcuts (?)"
        </button>
        <dialog id="shortcuts" class="shortcuts" aria-labelledby="shortcuts-title">
            <h2 id="shortcuts-title">"Keyboard shortcuts"</h2>
            <dl>
                {SHORTCUTS.iter().map(|(key, what)| view! { <dt><kbd>{*key}</kbd></dt><dd>{*what}</dd> }).collect_view()}
            </dl>
            <form method="dialog">
                <button type="submit" class="secondary small">"Close"</button>
            </form>
        </dialog>
    }
}

#[cfg(feature = "hydrate")]
mod keys {
    use leptos::prelude::document;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{Element, HtmlDialogElement, HtmlElement, HtmlInputElement, KeyboardEvent};

    /// Shows the hint, which opens the dialog, and listens for the keys on
    /// the document, for the page's life.
    pub fn enhance(root: &HtmlElement) {
        let (Some(button), Some(dialog)) =
            (find::<HtmlElement>(root, "button.shortcuts-button"), find::<HtmlDialogElement>(root, "dialog"))
        else {
            return;
        };
        let on_click = {
            let dialog = dialog.clone();
            Closure::<dyn FnMut()>::new(move || {
                let _ = dialog.show_modal();
            })
        };
        if button.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref()).is_ok() {
            on_click.forget();
            button.set_hidden(false);
        }
        let on_key = Closure::<dyn FnMut(KeyboardEvent)>::new(move |ev: KeyboardEvent| {
            if ev.default_prevented() || ev.ctrl_key() || ev.meta_key() || ev.alt_key() || typing(&ev) {
                return;
            }
            // A modal dialog open (this one or another) has the keyboard.
            if document().query_selector("dialog[open]").ok().flatten().is_some() {
                return;
            }
            let handled = match ev.key().as_str() {
                "?" => dialog.show_modal().is_ok(),
                "/" => focus("header-search"),
                "q" => focus("quick-add-title"),
                "j" => step(true),
                "k" => step(false),
                "x" => current().and_then(|row| find::<HtmlElement>(&row, "button.check")).map(|b| b.click()).is_some(),
                "e" => open_row("edit"),
                "#" => open_row("delete"),
                _ => false,
            };
            if handled {
                // Or the key would also be typed into the field just focused, or scroll the page.
                ev.prevent_default();
            }
        });
        if document().add_event_listener_with_callback("keydown", on_key.as_ref().unchecked_ref()).is_ok() {
            on_key.forget();
        }
    }

    /// Whether the key goes into something the user types in.
    fn typing(ev: &KeyboardEvent) -> bool {
        let Some(el) = ev.target().and_then(|t| t.dyn_into::<HtmlElement>().ok()) else { return false };
        if el.is_content_editable() {
            return true;
        }
        match el.tag_name().as_str() {
            "TEXTAREA" | "SELECT" => true,
            "INPUT" => {
                let kind = el.unchecked_ref::<HtmlInputElement>().type_();
                !matches!(kind.as_str(), "checkbox" | "radio" | "button" | "submit" | "reset")
            }
            _ => false,
        }
    }

    fn find<T: JsCast>(within: &Element, selector: &str) -> Option<T> {
        within.query_selector(selector).ok().flatten()?.dyn_into::<T>().ok()
    }

    fn focus(id: &str) -> bool {
        let Some(input) = document().get_element_by_id(id).and_then(|e| e.dyn_into::<HtmlInputElement>().ok()) else {
            return false;
        };
        let _ = input.focus();
        input.select();
        true
    }

    fn rows() -> Vec<Element> {
        let Ok(nodes) = document().query_selector_all("#task-list > li") else { return Vec::new() };
        (0..nodes.length()).filter_map(|i| nodes.item(i)?.dyn_into::<Element>().ok()).collect()
    }

    /// The row holding the focus, else the one marked current.
    fn current() -> Option<Element> {
        let focused = document().active_element().and_then(|a| a.closest("#task-list > li").ok().flatten());
        focused.or_else(|| document().query_selector("#task-list > li[aria-current=\"true\"]").ok().flatten())
    }

    /// The row's own link, `/tasks/{id}` (its tags link to `/tasks?tag=…`).
    fn title_link(row: &Element) -> Option<HtmlElement> {
        find(row, "a[href^=\"/tasks/\"]")
    }

    fn step(down: bool) -> bool {
        let rows = rows();
        if rows.is_empty() {
            return false;
        }
        let here = current().and_then(|c| rows.iter().position(|r| *r == c));
        let next = match (here, down) {
            (None, _) => 0,
            (Some(i), true) => (i + 1).min(rows.len() - 1),
            (Some(i), false) => i.saturating_sub(1),
        };
        for row in &rows {
            let _ = row.remove_attribute("aria-current");
        }
        let row = &rows[next];
        let _ = row.set_attribute("aria-current", "true");
        // Focus follows, so screen readers read the row; focusing scrolls it into view.
        if let Some(link) = title_link(row) {
            let _ = link.focus();
        }
        true
    }

    fn open_row(action: &str) -> bool {
        let Some(href) = current().and_then(|row| title_link(&row)?.get_attribute("href")) else { return false };
        leptos::prelude::window().location().set_href(&format!("{href}/{action}")).is_ok()
    }
}
