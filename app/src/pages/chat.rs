//! The chat page (`/chat`): a conversation with an AI assistant that acts on
//! the user's tasks through Cadence's own tools (add, find, change,
//! complete, delete after asking). The model is whichever OpenAI-compatible
//! endpoint the operator configured; without one the page says chat is off
//! and names the settings that turn it on. The chat box works without
//! JavaScript: its form posts here, and the server answers with this page
//! once the turn is over, the conversation in its lines; the island
//! (`islands::ChatBox`) streams turns instead, adding the same lines.

use leptos::prelude::*;
use leptos_meta::Title;

use super::{load_then, signed_in};
use crate::islands::ChatBox;

/// The page, which its plain form also posts to.
pub const CHAT_PAGE: &str = "/chat";

/// One line of the conversation as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatItem {
    User(String),
    Assistant(String),
    /// A tool call's line.
    Tool {
        summary: String,
        ok: bool,
    },
    /// A destructive call waiting for the user's approval.
    Confirm {
        id: String,
        summary: String,
    },
    Error(String),
}

/// What the server tells the page: whether chat is configured, and the
/// conversation its plain form led to (its lines, and its JSON for the next turn).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatSetup {
    pub on: bool,
    pub items: Vec<ChatItem>,
    pub messages: String,
}

fn chat_setup() -> ChatSetup {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>().and_then(|p| p.extensions.get::<ChatSetup>().cloned()).unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        ChatSetup::default()
    }
}

/// One line of the log, with the classes the island gives the lines it adds.
fn line_view(item: ChatItem, messages: &str) -> AnyView {
    let (class, text) = match item {
        ChatItem::User(text) => {
            return view! { <li class="chat-user"><span class="visually-hidden">"You: "</span>{text}</li> }.into_any()
        }
        ChatItem::Confirm { id, summary } => {
            return view! {
                <li class="chat-confirm">
                    <p>{summary}</p>
                    <form method="post" action=CHAT_PAGE class="inline">
                        <input type="hidden" name="messages" value=messages.to_owned()/>
                        <button type="submit" name="approve" value=id.clone() class="danger">"Confirm"</button>
                        <button type="submit" name="decline" value=id class="secondary">"Cancel"</button>
                    </form>
                </li>
            }
            .into_any()
        }
        ChatItem::Assistant(text) => ("chat-assistant", text),
        ChatItem::Tool { summary, ok: true } => ("chat-tool", summary),
        ChatItem::Tool { summary, ok: false } => ("chat-tool failed", summary),
        ChatItem::Error(text) => ("chat-error", text),
    };
    let role = (class == "chat-error").then_some("alert");
    view! { <li class=class role=role>{text}</li> }.into_any()
}

#[component]
pub fn ChatPage() -> impl IntoView {
    let setup = chat_setup();
    load_then(signed_in, move |_| {
        let ChatSetup { on, items, messages } = setup.clone();
        if !on {
            return view! {
                <Title text="Assistant"/>
                <h1>"Assistant"</h1>
                <section class="card">
                    <h2>"Chat is off"</h2>
                    <p>"No AI model is configured on this server. Its operator turns chat on by setting "
                        <code>"CADENCE_AI_BASE_URL"</code>" (an OpenAI-compatible endpoint) and "
                        <code>"CADENCE_AI_MODEL"</code>", and "<code>"CADENCE_AI_API_KEY"</code>
                        " when the endpoint needs a key."</p>
                </section>
            }
            .into_any();
        }
        let lines = items.into_iter().map(|item| line_view(item, &messages)).collect_view();
        view! {
            <Title text="Assistant"/>
            <h1>"Assistant"</h1>
            <p class="hint">"Ask in your own words: add, find, change or complete tasks. The assistant acts as you, \
                and asks before it deletes anything."</p>
            <ChatBox>
                <ol class="chat-log" aria-live="polite" aria-label="Conversation">{lines}</ol>
                <form class="chat-form" method="post" action=CHAT_PAGE>
                    <input type="hidden" name="messages" value=messages/>
                    <label for="chat-message" class="visually-hidden">"Message"</label>
                    <textarea id="chat-message" name="message" rows="2" maxlength="4000" required
                        placeholder="Add \u{201c}call the plumber\u{201d} for tomorrow at 9"></textarea>
                    <button type="submit">"Send"</button>
                </form>
            </ChatBox>
        }
        .into_any()
    })
}
