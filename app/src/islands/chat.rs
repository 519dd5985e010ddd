//! The chat box. Rendered on the server (`pages::chat`) it is the
//! conversation so far and a plain form posting to the chat page, which
//! answers once the turn is over (with Confirm and Cancel buttons for a call
//! waiting for approval). Hydrated, the island posts each turn to
//! `/chat/turn` itself and shows the answer as it streams in, each tool call
//! as a line while it runs and once it is done, and the approval question
//! when one comes. The conversation lives in the page (the server keeps
//! none), as the JSON the last turn ended with. Like the task board, it
//! enhances the server's HTML with listeners and adds lines through the DOM
//! rather than re-rendering, which keeps the WASM small; every text from
//! the model is set as text, never as markup.

use leptos::html;
use leptos::prelude::*;

#[island]
pub fn ChatBox(children: Children) -> impl IntoView {
    let root = NodeRef::<html::Div>::new();
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(el) = root.get() {
            #[cfg(feature = "hydrate")]
            talk::enhance(&el);
            #[cfg(not(feature = "hydrate"))]
            let _ = el;
            hydrated.set(true);
        }
    });
    view! { <div class="chat" node_ref=root data-hydrated=move || hydrated.get().then_some("true")>{children()}</div> }
}

#[cfg(feature = "hydrate")]
mod talk {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use js_sys::{Reflect, JSON};
    use leptos::prelude::{document, window};
    use leptos::task::spawn_local;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{Element, HtmlButtonElement, HtmlElement, HtmlInputElement, HtmlTextAreaElement, KeyboardEvent};

    const TURN: &str = "/chat/turn";
    const BROKE_OFF: &str = "The answer broke off. Send your message again.";

    /// The box's parts and what the listeners share.
    struct Chat {
        log: Element,
        field: HtmlTextAreaElement,
        send: HtmlButtonElement,
        form: Element,
        /// The conversation as the last turn ended it (JSON), sent back with the next.
        conversation: RefCell<String>,
        busy: Cell<bool>,
        /// The answer line being written, while text streams in.
        writing: RefCell<Option<Element>>,
        /// Each running tool call's line, by call id.
        calls: RefCell<Vec<(String, Element)>>,
    }

    /// A field of a JSON object the browser parsed (its own `JSON`, which
    /// costs the WASM nothing).
    fn field(object: &JsValue, key: &str) -> JsValue {
        Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }

    fn text_of(object: &JsValue, key: &str) -> String {
        field(object, key).as_string().unwrap_or_default()
    }

    fn json_text(value: &JsValue) -> String {
        JSON::stringify(value).map(String::from).unwrap_or_default()
    }

    pub fn enhance(root: &HtmlElement) {
        let find = |selector: &str| root.query_selector(selector).ok().flatten();
        let (Some(log), Some(form), Some(field), Some(send), Some(messages)) = (
            find(".chat-log"),
            find(".chat-form"),
            find(".chat-form textarea").and_then(|e| e.dyn_into::<HtmlTextAreaElement>().ok()),
            find(".chat-form button[type=submit]").and_then(|e| e.dyn_into::<HtmlButtonElement>().ok()),
            find(".chat-form input[name=messages]").and_then(|e| e.dyn_into::<HtmlInputElement>().ok()),
        ) else {
            return;
        };
        let chat = Rc::new(Chat {
            log,
            field,
            send,
            form,
            conversation: RefCell::new(messages.value()),
            busy: Cell::new(false),
            writing: RefCell::new(None),
            calls: RefCell::new(Vec::new()),
        });
        let on_submit = {
            let chat = chat.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
                ev.prevent_default();
                submit(&chat);
            })
        };
        let on_key = {
            let chat = chat.clone();
            Closure::<dyn FnMut(KeyboardEvent)>::new(move |ev: KeyboardEvent| {
                // Enter sends; Shift+Enter starts a new line.
                if ev.key() == "Enter" && !ev.shift_key() && !ev.is_composing() {
                    ev.prevent_default();
                    submit(&chat);
                }
            })
        };
        // One listener for every Confirm and Cancel, the server's and those added here.
        let on_click = {
            let chat = chat.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |ev: web_sys::Event| {
                let button = ev
                    .target()
                    .and_then(|t| t.dyn_into::<Element>().ok())
                    .and_then(|t| t.closest("button[name=approve], button[name=decline]").ok().flatten());
                let Some(button) = button else { return };
                ev.prevent_default();
                let (Some(answer), Some(id)) = (button.get_attribute("name"), button.get_attribute("value")) else {
                    return;
                };
                let answer = if answer == "approve" { "approve" } else { "decline" };
                start(&chat, answer, id);
            })
        };
        // The listeners live as long as the page.
        if chat.form.add_event_listener_with_callback("submit", on_submit.as_ref().unchecked_ref()).is_ok() {
            on_submit.forget();
        }
        if chat.field.add_event_listener_with_callback("keydown", on_key.as_ref().unchecked_ref()).is_ok() {
            on_key.forget();
        }
        if chat.log.add_event_listener_with_callback("click", on_click.as_ref().unchecked_ref()).is_ok() {
            on_click.forget();
        }
    }

    fn submit(chat: &Rc<Chat>) {
        let text = chat.field.value();
        if text.trim().is_empty() || chat.busy.get() {
            return;
        }
        chat.field.set_value("");
        start(chat, "message", text);
    }

    /// A new line at the end of the log.
    fn line(chat: &Chat, class: &str, text: &str) -> Option<Element> {
        let li = document().create_element("li").ok()?;
        li.set_class_name(class);
        li.set_text_content(Some(text));
        chat.log.append_child(&li).ok()?;
        Some(li)
    }

    fn set_busy(chat: &Chat, busy: bool) {
        chat.busy.set(busy);
        chat.send.set_disabled(busy);
        let _ = chat.form.set_attribute("aria-busy", if busy { "true" } else { "false" });
    }

    /// Sends one turn: `answer` is `message`, `approve` or `decline`.
    fn start(chat: &Rc<Chat>, answer: &'static str, value: String) {
        if chat.busy.get() {
            return;
        }
        set_busy(chat, true);
        // The question is answered (or passed over): its buttons go.
        if let Ok(asked) = chat.log.query_selector_all(".chat-confirm") {
            for i in 0..asked.length() {
                if let Some(node) = asked.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
                    node.remove();
                }
            }
        }
        if answer == "message" {
            if let Some(li) = line(chat, "chat-user", "") {
                if let Ok(who) = document().create_element("span") {
                    who.set_class_name("visually-hidden");
                    who.set_text_content(Some("You: "));
                    let _ = li.append_child(&who);
                }
                let _ = li.append_with_str_1(&value);
            }
        }
        let so_far = chat.conversation.borrow().clone();
        let so_far = if so_far.trim().is_empty() { "[]".to_owned() } else { so_far };
        let body = format!("{{\"messages\":{so_far},\"{answer}\":{}}}", json_text(&JsValue::from_str(&value)));
        let chat = chat.clone();
        spawn_local(async move {
            let mut ended = false;
            let outcome = stream(&body, |event| {
                // The last event ends the turn: the next message may go while the stream closes.
                if !ended && take(&chat, &event) {
                    ended = true;
                    set_busy(&chat, false);
                }
            })
            .await;
            if !ended {
                chat.writing.replace(None);
                let message = outcome.err().unwrap_or_else(|| BROKE_OFF.to_owned());
                if let Some(li) = line(&chat, "chat-error", &message) {
                    let _ = li.set_attribute("role", "alert");
                }
                set_busy(&chat, false);
            }
        });
    }

    /// Takes one event; true for the last one of a turn.
    fn take(chat: &Chat, event: &JsValue) -> bool {
        let messages = field(event, "messages");
        if !messages.is_undefined() {
            chat.conversation.replace(json_text(&messages));
        }
        let kind = text_of(event, "type");
        if kind == "text" {
            let mut writing = chat.writing.borrow_mut();
            if writing.is_none() {
                *writing = line(chat, "chat-assistant", "");
            }
            if let Some(li) = writing.as_ref() {
                let _ = li.append_with_str_1(&text_of(event, "delta"));
            }
            return false;
        }
        // Anything else ends the answer line being written.
        chat.writing.replace(None);
        let (id, summary) = (text_of(event, "id"), text_of(event, "summary"));
        match kind.as_str() {
            "tool_call" => {
                if let Some(li) = line(chat, "chat-tool running", &summary) {
                    chat.calls.borrow_mut().push((id, li));
                }
                false
            }
            "tool_result" => {
                let class = if field(event, "ok").as_bool() == Some(true) { "chat-tool" } else { "chat-tool failed" };
                let running = chat.calls.borrow().iter().rev().find(|(at, _)| *at == id).map(|(_, li)| li.clone());
                match running {
                    Some(li) => {
                        li.set_class_name(class);
                        li.set_text_content(Some(&summary));
                    }
                    None => {
                        line(chat, class, &summary);
                    }
                }
                false
            }
            "confirm" => {
                if let Some(li) = line(chat, "chat-confirm", "") {
                    confirm(&li, &id, &summary);
                }
                true
            }
            "error" => {
                if let Some(li) = line(chat, "chat-error", &text_of(event, "message")) {
                    let _ = li.set_attribute("role", "alert");
                }
                true
            }
            "done" => true,
            _ => false,
        }
    }

    /// The question and its two answers, as the server renders them (the log's listener takes the clicks).
    fn confirm(li: &Element, id: &str, summary: &str) {
        let doc = document();
        if let Ok(question) = doc.create_element("p") {
            question.set_text_content(Some(summary));
            let _ = li.append_child(&question);
        }
        for (name, class, label) in [("approve", "danger", "Confirm"), ("decline", "secondary", "Cancel")] {
            if let Ok(button) = doc.create_element("button") {
                for (key, value) in [("type", "button"), ("name", name), ("value", id), ("class", class)] {
                    let _ = button.set_attribute(key, value);
                }
                button.set_text_content(Some(label));
                let _ = li.append_child(&button);
            }
        }
    }

    /// Posts the turn and hands each server-sent event, parsed, to `on_event`
    /// as it arrives.
    async fn stream(body: &str, mut on_event: impl FnMut(JsValue)) -> Result<(), String> {
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        let headers = js_sys::Object::new();
        let _ = Reflect::set(&headers, &"content-type".into(), &"application/json".into());
        let _ = Reflect::set(&headers, &"accept".into(), &"text/event-stream".into());
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(body));
        let offline = |_| "Cadence could not be reached. Check the connection and send it again.".to_owned();
        let res: web_sys::Response =
            JsFuture::from(window().fetch_with_str_and_init(TURN, &init)).await.map_err(offline)?.unchecked_into();
        if !res.ok() {
            return Err(refusal(&res).await);
        }
        let reader: web_sys::ReadableStreamDefaultReader =
            res.body().ok_or_else(|| BROKE_OFF.to_owned())?.get_reader().unchecked_into();
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let chunk = JsFuture::from(reader.read()).await.map_err(|_| BROKE_OFF.to_owned())?;
            if field(&chunk, "done").as_bool().unwrap_or(true) {
                return Ok(());
            }
            pending.extend(js_sys::Uint8Array::new(&field(&chunk, "value")).to_vec());
            // An event ends with a blank line; a character is never cut by one.
            while let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = pending.drain(..end + 2).collect();
                for line in String::from_utf8_lossy(&block).lines() {
                    if let Some(event) = line.strip_prefix("data:").and_then(|d| JSON::parse(d).ok()) {
                        on_event(event);
                    }
                }
            }
        }
    }

    /// What a refused turn says, from its status and the server's message.
    async fn refusal(res: &web_sys::Response) -> String {
        let status = res.status();
        if status == 401 {
            return "You are signed out. Sign in again, then send your message once more.".to_owned();
        }
        let body = match res.text() {
            Ok(text) => JsFuture::from(text).await.ok().and_then(|t| t.as_string()),
            Err(_) => None,
        };
        let said = body.and_then(|b| JSON::parse(&b).ok()).map(|v| text_of(&field(&v, "Invalid"), "message"));
        said.filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("The message could not be sent (HTTP {status}). Try again."))
    }
}
