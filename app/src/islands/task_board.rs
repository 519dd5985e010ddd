//! The task board: one island around the server-rendered quick-add form and
//! task list. It hydrates no row; it listens for the forms' submit events
//! where they bubble up to it, and does what the form would have done
//! without a reload: quick-add puts the new row (rendered by the server, as
//! a page load would show it) at the top of the list, and a row's toggle
//! shows its new state at once and rolls back if the server says no.
//! Without WASM the same forms post and the page reloads. It also keeps the
//! list live: a task created, edited, completed or deleted in another tab or
//! on another device shows here without a reload (the tab's live connection
//! tells it; rows are rendered by the server, as a page load would). As the
//! user types a quick-add sentence, it shows what will be read from it (the
//! domain's own parser, in the user's time zone) as chips, each of which can
//! be removed to keep its words in the title.

use leptos::html;
use leptos::prelude::*;

#[island]
pub fn TaskBoard(children: Children) -> impl IntoView {
    let root = NodeRef::<html::Div>::new();
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(el) = root.get() {
            #[cfg(feature = "hydrate")]
            {
                enhance::listen(&el);
                enhance::live_rows(&el);
                enhance::preview(&el);
                enhance::selection(&el);
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = el;
            hydrated.set(true);
        }
    });
    view! {
        <div class="task-board" node_ref=root data-hydrated=move || hydrated.get().then_some("true")>
            <p id="quick-add-status" class="visually-hidden" role="status"></p>
            {children()}
        </div>
    }
}

#[cfg(feature = "hydrate")]
mod enhance {
    use leptos::task::spawn_local;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use web_sys::{Element, HtmlButtonElement, HtmlElement, HtmlFormElement, HtmlInputElement, SubmitEvent};

    use server_fn::ServerFn as _;

    use crate::api::{quick_add, set_completed, task_row_html, SetCompleted};

    /// Handles every quick-add and toggle submit inside `root`, including
    /// those of rows added later.
    pub fn listen(root: &HtmlElement) {
        let board: Element = root.clone().into();
        let on_submit = Closure::<dyn FnMut(SubmitEvent)>::new(move |ev: SubmitEvent| {
            let Some(form) = ev.target().and_then(|t| t.dyn_into::<HtmlFormElement>().ok()) else {
                return;
            };
            if form.class_list().contains("quick-add-form") {
                ev.prevent_default();
                add(board.clone(), form);
            } else if form.get_attribute("action").as_deref() == Some(SetCompleted::PATH) {
                ev.prevent_default();
                toggle(form);
            }
        });
        if root.add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref()).is_ok() {
            // The listener lives as long as the page.
            on_submit.forget();
        }
    }

    /// Shift-click on a row's box sets every box from the one clicked before
    /// it to this one alike, and the bulk bar counts what is selected.
    pub fn selection(root: &HtmlElement) {
        let board: Element = root.clone().into();
        let last: std::rc::Rc<std::cell::RefCell<Option<Element>>> = Default::default();
        let on_click = Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
            let Some(target) = ev.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()) else { return };
            if !target.class_list().contains("select") {
                return;
            }
            let shift = js_sys::Reflect::get(&ev, &JsValue::from_str("shiftKey")).ok().and_then(|v| v.as_bool());
            let boxes: Vec<HtmlInputElement> = all(&board, "#task-list .select");
            let here = boxes.iter().position(|b| *b == target);
            let before =
                last.borrow().as_ref().and_then(|l| boxes.iter().position(|b| b.unchecked_ref::<Element>() == l));
            if let (Some(true), Some(here), Some(before)) = (shift, here, before) {
                for b in &boxes[here.min(before)..=here.max(before)] {
                    b.set_checked(target.checked());
                }
            }
            *last.borrow_mut() = Some(target.into());
            count_selected(&board);
        });
        if root.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref()).is_ok() {
            on_click.forget();
        }
    }

    fn all<T: JsCast>(within: &Element, selector: &str) -> Vec<T> {
        let Ok(nodes) = within.query_selector_all(selector) else { return Vec::new() };
        (0..nodes.length()).filter_map(|i| nodes.item(i)?.dyn_into::<T>().ok()).collect()
    }

    fn count_selected(board: &Element) {
        let n = all::<Element>(board, "#task-list .select:checked").len();
        if let Some(label) = leptos::prelude::document().get_element_by_id("bulk-count") {
            label.set_text_content(Some(&format!("Selected tasks: {n}")));
        }
    }

    /// Applies task events from the tab's live connection to the rows shown.
    pub fn live_rows(root: &HtmlElement) {
        let board: Element = root.clone().into();
        let listener: crate::islands::live::Listener = std::rc::Rc::new(move |kind: &str, data: &serde_json::Value| {
            let Some(id) = data.get("task_id").and_then(|v| v.as_str()).map(str::to_owned) else { return };
            let row = find::<Element>(&board, &format!("#task-list a[href=\"/tasks/{id}\"]"))
                .and_then(|a| a.closest("li").ok().flatten());
            match (kind, row) {
                ("task.deleted", Some(row)) => row.remove(),
                ("task.completed" | "task.reopened", Some(row)) => {
                    let busy = row.query_selector("form[data-busy]").ok().flatten().is_some();
                    if let (false, Some(button)) = (busy, find::<HtmlButtonElement>(&row, "button.check")) {
                        show(&button, kind == "task.completed");
                    }
                }
                ("task.updated", Some(row)) => replace_row(row, id),
                // A new task shows at the top of the unfiltered list's first page, as a reload would show it.
                ("task.created", None)
                    if leptos::prelude::window().location().search().unwrap_or_default().is_empty() =>
                {
                    insert_row(board.clone(), id)
                }
                _ => {}
            }
        });
        crate::islands::live::listen(listener);
    }

    fn insert_row(board: Element, id: String) {
        spawn_local(async move {
            let Ok(html) = task_row_html(id.clone()).await else { return };
            // It may have arrived meanwhile (this tab's own quick-add).
            if find::<Element>(&board, &format!("#task-list a[href=\"/tasks/{id}\"]")).is_some() {
                return;
            }
            if let Some(list) = find::<Element>(&board, "#task-list") {
                let _ = list.insert_adjacent_html("afterbegin", &html);
            }
            if let Some(empty) = find::<HtmlElement>(&board, "#task-list-empty") {
                empty.set_hidden(true);
            }
        });
    }

    fn replace_row(row: Element, id: String) {
        spawn_local(async move {
            if let Ok(html) = task_row_html(id).await {
                let _ = row.insert_adjacent_html("beforebegin", &html);
                row.remove();
            }
        });
    }

    fn find<T: JsCast>(within: &Element, selector: &str) -> Option<T> {
        within.query_selector(selector).ok().flatten()?.dyn_into::<T>().ok()
    }

    fn set_text(within: &Element, selector: &str, text: &str) {
        if let Some(el) = find::<HtmlElement>(within, selector) {
            el.set_text_content(Some(text));
            el.set_hidden(text.is_empty());
        }
    }

    fn add(board: Element, form: HtmlFormElement) {
        let (Some(input), Some(button)) =
            (find::<HtmlInputElement>(&form, "input[name=title]"), find::<HtmlButtonElement>(&form, "button"))
        else {
            return;
        };
        if button.disabled() {
            return;
        }
        button.set_disabled(true);
        let title = input.value();
        spawn_local(async move {
            match quick_add(title).await {
                Ok(added) => {
                    // The live stream may have shown this tab's own new task already.
                    let shown = format!("#task-list a[href=\"/tasks/{}\"]", added.row.id);
                    if let (None, Some(list)) = (find::<Element>(&board, &shown), find::<Element>(&board, "#task-list"))
                    {
                        let _ = list.insert_adjacent_html("afterbegin", &added.html);
                    }
                    if let Some(empty) = find::<HtmlElement>(&board, "#task-list-empty") {
                        empty.set_hidden(true);
                    }
                    form.reset();
                    if let Some(chips) = find::<HtmlElement>(&board, "#quick-add-chips") {
                        chips.set_inner_html("");
                        chips.set_hidden(true);
                    }
                    let _ = input.remove_attribute("aria-invalid");
                    set_text(&board, "#quick-add-error", "");
                    if let Some(status) = find::<HtmlElement>(&board, "#quick-add-status") {
                        status.set_text_content(Some(&format!("Added \u{201c}{}\u{201d}.", added.row.title)));
                    }
                }
                Err(e) => {
                    let _ = input.set_attribute("aria-invalid", "true");
                    set_text(&board, "#quick-add-error", &e.to_string());
                }
            }
            button.set_disabled(false);
        });
    }

    /// The wall-clock time now in the IANA `zone`, from the browser's own
    /// time zone data (`Intl`): the tz database itself stays out of the WASM,
    /// where it would be most of its size.
    fn local_now(zone: Option<&str>) -> chrono::NaiveDateTime {
        let now = js_sys::Date::new_0();
        let utc = chrono::DateTime::from_timestamp_millis(now.get_time() as i64).unwrap_or_default().naive_utc();
        let Some(zone) = zone else { return utc };
        let options = js_sys::Object::new();
        let set = |key: &str, value: &str| js_sys::Reflect::set(&options, &key.into(), &value.into()).is_ok();
        let fields = [("year", "numeric"), ("month", "numeric"), ("day", "numeric"), ("hour", "numeric")];
        let ok = set("timeZone", zone)
            && set("hourCycle", "h23")
            && fields.iter().all(|(k, v)| set(k, v))
            && set("minute", "numeric")
            && set("second", "numeric");
        if !ok {
            return utc;
        }
        let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::of1(&"en-US".into()), &options);
        let parts = format.format_to_parts(&now);
        let part = |name: &str| -> Option<u32> {
            parts.iter().find_map(|p| {
                let kind = js_sys::Reflect::get(&p, &"type".into()).ok()?.as_string()?;
                (kind == name).then(|| js_sys::Reflect::get(&p, &"value".into()).ok()?.as_string()?.parse().ok())?
            })
        };
        let date = chrono::NaiveDate::from_ymd_opt(
            part("year").unwrap_or(0) as i32,
            part("month").unwrap_or(0),
            part("day").unwrap_or(0),
        );
        let time = chrono::NaiveTime::from_hms_opt(
            part("hour").unwrap_or(99),
            part("minute").unwrap_or(0),
            part("second").unwrap_or(0),
        );
        match (date, time) {
            (Some(date), Some(time)) => date.and_time(time),
            _ => utc,
        }
    }

    /// What the quick-add sentence says now, read at the user's wall-clock time.
    fn read_sentence(input: &HtmlInputElement, zone: Option<&str>) -> (String, domain::quick_add::QuickAdd) {
        let text = input.value();
        let read = domain::quick_add::understand(&text, local_now(zone));
        (text, read)
    }

    /// One chip per phrase read, built as elements (never as HTML: the labels hold what was typed).
    fn render_chips(chips: &HtmlElement, text: &str, read: &domain::quick_add::QuickAdd) {
        use domain::quick_add::PartKind;
        chips.set_inner_html("");
        let document = leptos::prelude::document();
        for (i, part) in read.parts.iter().enumerate() {
            let kind = match part.kind {
                PartKind::Due => "due",
                PartKind::Time => "time",
                PartKind::Repeat => "repeat",
                PartKind::Reminder => "reminder",
                PartKind::Tag => "tag",
                PartKind::Priority => "priority",
            };
            let (Ok(li), Ok(label), Ok(button)) =
                (document.create_element("li"), document.create_element("span"), document.create_element("button"))
            else {
                return;
            };
            li.set_class_name(&format!("chip chip-{kind}"));
            label.set_text_content(Some(&part.label));
            let phrase = text.get(part.start..part.end).unwrap_or_default();
            let _ = button.set_attribute("type", "button");
            let _ = button.set_attribute("data-part", &i.to_string());
            let _ = button.set_attribute("aria-label", &format!("Keep \u{201c}{phrase}\u{201d} in the title"));
            button.set_text_content(Some("\u{d7}"));
            let _ = li.append_child(&label);
            let _ = li.append_child(&button);
            let _ = chips.append_child(&li);
        }
        chips.set_hidden(read.parts.is_empty());
    }

    /// Previews the quick-add sentence as chips while it is typed; a chip's
    /// button quotes its phrase in the input, which keeps it in the title.
    pub fn preview(root: &HtmlElement) {
        let board: Element = root.clone().into();
        let (Some(form), Some(input), Some(chips)) = (
            find::<HtmlFormElement>(&board, "form.quick-add-form"),
            find::<HtmlInputElement>(&board, "#quick-add-title"),
            find::<HtmlElement>(&board, "#quick-add-chips"),
        ) else {
            return;
        };
        let zone: Option<std::rc::Rc<str>> = form.get_attribute("data-zone").map(Into::into);
        let on_input = {
            let (input, chips, zone) = (input.clone(), chips.clone(), zone.clone());
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
                let (text, read) = read_sentence(&input, zone.as_deref());
                render_chips(&chips, &text, &read);
            })
        };
        let on_click = {
            let (input, list) = (input.clone(), chips.clone());
            Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
                let Some(button) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else { return };
                let Some(index) = button.get_attribute("data-part").and_then(|i| i.parse::<usize>().ok()) else {
                    return;
                };
                let (text, read) = read_sentence(&input, zone.as_deref());
                if let Some(part) = read.parts.get(index) {
                    input.set_value(&domain::quick_add::keep_literal(&text, part));
                }
                let (text, read) = read_sentence(&input, zone.as_deref());
                render_chips(&list, &text, &read);
                let _ = input.focus();
            })
        };
        // Both listeners live as long as the page.
        if input.add_event_listener_with_callback("input", on_input.as_ref().unchecked_ref()).is_ok() {
            on_input.forget();
        }
        if chips.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref()).is_ok() {
            on_click.forget();
        }
    }

    /// Shows the toggle as `done` and sets what its next submit asks for
    /// (the button's own value, posted with the form when it submits it).
    fn show(button: &HtmlButtonElement, done: bool) {
        let _ = button.set_attribute("aria-pressed", if done { "true" } else { "false" });
        button.set_value(if done { "false" } else { "true" });
    }

    fn toggle(form: HtmlFormElement) {
        let (Some(id), Some(button)) =
            (find::<HtmlInputElement>(&form, "input[name=id]"), find::<HtmlButtonElement>(&form, "button"))
        else {
            return;
        };
        // One request per row at a time, so answers cannot arrive out of order.
        if form.get_attribute("data-busy").is_some() {
            return;
        }
        let _ = form.set_attribute("data-busy", "");
        let want = button.value() == "true";
        show(&button, want);
        let error: Element = form.clone().into();
        spawn_local(async move {
            match set_completed(id.value(), want).await {
                Ok(row) => {
                    show(&button, row.completed);
                    set_text(&error, ".toggle-error", "");
                    if row.completed {
                        // The toasts offer an undo for a few seconds.
                        let done = serde_json::json!({ "task_id": row.id, "title": row.title });
                        crate::islands::live::emit("local.task_completed", &done);
                    }
                }
                Err(_) => {
                    show(&button, !want);
                    if find::<Element>(&error, ".toggle-error").is_none() {
                        let _ = error
                            .insert_adjacent_html("beforeend", "<span class=\"toggle-error\" role=\"alert\"></span>");
                    }
                    set_text(&error, ".toggle-error", "Could not save. Try again.");
                }
            }
            let _ = form.remove_attribute("data-busy");
        });
    }
}
