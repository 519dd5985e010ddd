//! The header's search: a plain GET form to the list (`/tasks?q=…`), which is
//! all it is without WASM. The island wraps that server-rendered form and
//! makes its field a combobox that shows the best matches while the user
//! types (a pause of 150 ms, then one request), with the matched words marked
//! (by the server), and a last option that opens the whole list. Arrow keys
//! move through the options, Enter opens the one chosen (or submits the
//! search), Escape closes them. Every keystroke takes a number; an answer is
//! shown only if no keystroke came after its own, so a slow answer to an
//! older text never replaces a newer one. Like the task board, it enhances
//! the HTML with listeners rather than re-rendering it, which keeps it small.

use leptos::html;
use leptos::prelude::*;

#[island]
pub fn SearchBox(children: Children) -> impl IntoView {
    let root = NodeRef::<html::Div>::new();
    Effect::new(move |_| {
        if let Some(el) = root.get() {
            #[cfg(feature = "hydrate")]
            combobox::enhance(&el);
            #[cfg(not(feature = "hydrate"))]
            let _ = el;
        }
    });
    view! { <div class="header-search" node_ref=root>{children()}</div> }
}

#[cfg(feature = "hydrate")]
mod combobox {
    use std::cell::Cell;
    use std::rc::Rc;

    use leptos::prelude::{document, set_timeout, window};
    use leptos::task::spawn_local;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{Element, HtmlElement, HtmlInputElement, KeyboardEvent};

    use crate::api::{search_tasks, Suggestions};

    /// What the listeners share.
    #[derive(Default)]
    struct State {
        /// The number of the latest keystroke (or close): only its answer is shown.
        latest: Cell<u64>,
        /// How many options the arrow keys move through (the matches, then "See all").
        options: Cell<usize>,
        active: Cell<Option<usize>>,
    }

    fn option_id(i: usize) -> String {
        format!("header-search-opt-{i}")
    }

    pub fn enhance(root: &HtmlElement) {
        let (Some(input), Some(list)) = (
            root.query_selector("input[type=search]")
                .ok()
                .flatten()
                .and_then(|e| e.dyn_into::<HtmlInputElement>().ok()),
            root.query_selector("[role=listbox]").ok().flatten(),
        ) else {
            return;
        };
        for (name, value) in [("role", "combobox"), ("aria-autocomplete", "list"), ("aria-expanded", "false")] {
            let _ = input.set_attribute(name, value);
        }
        let _ = input.set_attribute("aria-controls", &list.id());
        let state = Rc::new(State::default());

        let on_input = {
            let (input, list, state) = (input.clone(), list.clone(), state.clone());
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
                let text = input.value();
                let mine = state.latest.get() + 1;
                state.latest.set(mine);
                if text.trim().is_empty() {
                    close(&input, &list, &state);
                    return;
                }
                let (input, list, state) = (input.clone(), list.clone(), state.clone());
                set_timeout(
                    move || {
                        if state.latest.get() != mine {
                            return;
                        }
                        spawn_local(async move {
                            let answer = search_tasks(text.clone()).await;
                            // A later keystroke owns the options now.
                            if let (true, Ok(found)) = (state.latest.get() == mine, answer) {
                                show(&input, &list, &state, &text, &found);
                            }
                        });
                    },
                    std::time::Duration::from_millis(150),
                );
            })
        };
        let on_key = {
            let (input, list, state) = (input.clone(), list.clone(), state.clone());
            Closure::<dyn FnMut(KeyboardEvent)>::new(move |ev: KeyboardEvent| {
                let n = state.options.get();
                match ev.key().as_str() {
                    key @ ("ArrowDown" | "ArrowUp") if n > 0 => {
                        ev.prevent_default();
                        let next = match (state.active.get(), key == "ArrowDown") {
                            (None, true) => Some(0),
                            (None, false) => Some(n - 1),
                            (Some(i), true) => Some((i + 1) % n),
                            (Some(0), false) => None,
                            (Some(i), false) => Some(i - 1),
                        };
                        choose(&input, &list, &state, next);
                    }
                    "Enter" => {
                        // With an option chosen, open it; otherwise the form submits the search.
                        let href = state.active.get().and_then(|i| {
                            document()
                                .get_element_by_id(&option_id(i))?
                                .query_selector("a")
                                .ok()??
                                .get_attribute("href")
                        });
                        if let Some(href) = href {
                            ev.prevent_default();
                            let _ = window().location().set_href(&href);
                        }
                    }
                    "Escape" if !list.has_attribute("hidden") => {
                        // Keep the text (a search field would clear it).
                        ev.prevent_default();
                        close(&input, &list, &state);
                    }
                    _ => {}
                }
            })
        };
        // Focus leaving the form (not to one of its options) closes the options.
        let on_focus_out = {
            let (root, input, list, state) = (root.clone(), input.clone(), list.clone(), state.clone());
            Closure::<dyn FnMut(web_sys::FocusEvent)>::new(move |ev: web_sys::FocusEvent| {
                let to = ev.related_target().and_then(|t| t.dyn_into::<web_sys::Node>().ok());
                if !root.contains(to.as_ref()) {
                    close(&input, &list, &state);
                }
            })
        };
        // The listeners live as long as the page.
        if input.add_event_listener_with_callback("input", on_input.as_ref().unchecked_ref()).is_ok() {
            on_input.forget();
        }
        if input.add_event_listener_with_callback("keydown", on_key.as_ref().unchecked_ref()).is_ok() {
            on_key.forget();
        }
        if root.add_event_listener_with_callback("focusout", on_focus_out.as_ref().unchecked_ref()).is_ok() {
            on_focus_out.forget();
        }
    }

    fn close(input: &HtmlInputElement, list: &Element, state: &State) {
        state.latest.set(state.latest.get() + 1);
        state.options.set(0);
        state.active.set(None);
        let _ = input.remove_attribute("aria-activedescendant");
        let _ = input.set_attribute("aria-expanded", "false");
        list.set_inner_html("");
        let _ = list.set_attribute("hidden", "");
    }

    fn choose(input: &HtmlInputElement, list: &Element, state: &State, next: Option<usize>) {
        state.active.set(next);
        for i in 0..state.options.get() {
            if let Some(option) = list.query_selector(&format!("#{}", option_id(i))).ok().flatten() {
                let _ = option.set_attribute("aria-selected", if Some(i) == next { "true" } else { "false" });
            }
        }
        match next {
            Some(i) => input.set_attribute("aria-activedescendant", &option_id(i)),
            None => input.remove_attribute("aria-activedescendant"),
        }
        .ok();
    }

    /// "See all 12 results", or "See all results" past the list's count cap.
    fn see_all_label(found: &Suggestions) -> String {
        match (found.total, found.total_exact) {
            (1, true) => "See it in the list".to_owned(),
            (n, true) => format!("See all {n} results"),
            (n, false) => format!("See all results (more than {n})"),
        }
    }

    /// One option: a link whose text is set as text (titles are what users typed).
    fn option(list: &Element, i: usize, href: &str) -> Option<Element> {
        let (li, a) = (document().create_element("li").ok()?, document().create_element("a").ok()?);
        li.set_id(&option_id(i));
        let _ = li.set_attribute("role", "option");
        let _ = li.set_attribute("aria-selected", "false");
        let _ = a.set_attribute("href", href);
        let _ = a.set_attribute("tabindex", "-1");
        li.append_child(&a).ok()?;
        list.append_child(&li).ok()?;
        Some(a)
    }

    fn show(input: &HtmlInputElement, list: &Element, state: &State, text: &str, found: &Suggestions) {
        list.set_inner_html("");
        for (i, item) in found.items.iter().enumerate() {
            let Some(a) = option(list, i, &format!("/tasks/{}", item.id)) else { return };
            for (run, marked) in &item.title {
                if *marked {
                    if let Ok(mark) = document().create_element("mark") {
                        mark.set_text_content(Some(run));
                        let _ = a.append_child(&mark);
                    }
                } else {
                    let _ = a.append_with_str_1(run);
                }
            }
        }
        let n = found.items.len();
        if n == 0 {
            if let Ok(li) = document().create_element("li") {
                li.set_class_name("empty");
                let _ = li.set_attribute("role", "option");
                let _ = li.set_attribute("aria-disabled", "true");
                li.set_text_content(Some("No tasks match."));
                let _ = list.append_child(&li);
            }
        } else {
            let all = format!("/tasks?q={}", String::from(js_sys::encode_uri_component(text)));
            if let Some(a) = option(list, n, &all) {
                a.set_text_content(Some(&see_all_label(found)));
                if let Some(li) = a.parent_element() {
                    li.set_class_name("see-all");
                }
            }
        }
        state.options.set(if n == 0 { 0 } else { n + 1 });
        state.active.set(None);
        let _ = input.remove_attribute("aria-activedescendant");
        let _ = input.set_attribute("aria-expanded", "true");
        let _ = list.remove_attribute("hidden");
    }
}
