//! The interactive leaves, hydrated in the browser. Each enhances HTML the
//! server rendered and that works without it: the task board (quick-add and
//! the complete toggles of its rows, kept live), the time zone field, the
//! bell, the toasts, the header's search (matches as you type), the
//! keyboard shortcuts and the chat box. The live ones share the tab's one live connection.

mod bell;
mod chat;
mod desktop;
mod live;
mod search_box;
mod shortcuts;
mod task_board;
mod time_zone;
mod toasts;

pub use bell::Bell;
pub use chat::ChatBox;
pub use desktop::DesktopNotifications;
pub use search_box::SearchBox;
pub use shortcuts::{Shortcuts, ShortcutsDialog};
pub use task_board::TaskBoard;
pub use time_zone::TimeZoneInput;
pub use toasts::Toasts;
