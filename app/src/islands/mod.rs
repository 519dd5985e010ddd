//! The interactive leaves, hydrated in the browser. Each enhances HTML the
//! server rendered and that works without it: the task board (quick-add and
//! the complete toggles of its rows) and the time zone field.

mod task_board;
mod time_zone;

pub use task_board::TaskBoard;
pub use time_zone::TimeZoneInput;
