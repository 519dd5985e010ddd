//! Changing many tasks at once: which change (complete, reopen, a priority,
//! a tag added or taken off, delete), what it does to one task, and the undo
//! record that puts every task back as it was before the action.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::account::UserId;
use crate::error::ValidationError;
use crate::task::{Priority, Tag, Tags, Task, TaskId};

/// Most tasks one action changes: "select all matching" on a huge list is
/// refused by name rather than holding the database for a minute.
pub const MAX_BULK: usize = 1000;

fn has(task: &Task, tag: &Tag) -> bool {
    task.tags.iter().any(|t| t == tag)
}

/// How long an action can be undone.
pub const UNDO_MINUTES: i64 = 30;

/// One change applied to every selected task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BulkAction {
    Complete,
    Reopen,
    Prioritise(Priority),
    Tag(Tag),
    Untag(Tag),
    Delete,
}

impl BulkAction {
    /// Reads the bulk bar's choice: `complete`, `reopen`, `delete`,
    /// `priority` with a priority, or `tag`/`untag` with a tag name.
    pub fn parse(action: &str, priority: &str, tag: &str) -> Result<Self, ValidationError> {
        let tag = || Tag::parse(tag).map_err(|e| ValidationError::new("tag", e.message));
        match action.trim() {
            "complete" => Ok(Self::Complete),
            "reopen" => Ok(Self::Reopen),
            "delete" => Ok(Self::Delete),
            "priority" => {
                Priority::parse(priority).map(Self::Prioritise).map_err(|e| ValidationError::new("priority", e.message))
            }
            "tag" => tag().map(Self::Tag),
            "untag" => tag().map(Self::Untag),
            _ => Err(ValidationError::new("action", "Choose what to do with the selected tasks.")),
        }
    }

    /// The task after this action, or `None` when it changes nothing (or,
    /// for `Delete`, the task itself: deleting is not an edit).
    pub fn apply(&self, task: &Task, now: DateTime<Utc>) -> Option<Task> {
        let edited = |t: Task| Some(Task { updated_at: now, ..t });
        match self {
            Self::Complete if !task.is_completed() => edited(Task { completed_at: Some(now), ..task.clone() }),
            Self::Reopen if task.is_completed() => edited(Task { completed_at: None, ..task.clone() }),
            Self::Prioritise(p) if task.priority != *p => edited(Task { priority: *p, ..task.clone() }),
            // A task with the most tags it can have keeps them: it is left out, not failed.
            Self::Tag(tag) if !has(task, tag) => {
                let tags = Tags::from_tags(task.tags.iter().cloned().chain([tag.clone()]).collect()).ok()?;
                edited(Task { tags, ..task.clone() })
            }
            Self::Untag(tag) if has(task, tag) => edited(Task { tags: task.tags.without(tag), ..task.clone() }),
            Self::Delete => Some(task.clone()),
            _ => None,
        }
    }

    /// "3 tasks completed", for the undo notice.
    pub fn summary(&self, count: usize) -> String {
        let tasks = if count == 1 { "1 task".to_owned() } else { format!("{count} tasks") };
        match self {
            Self::Complete => format!("{tasks} completed"),
            Self::Reopen => format!("{tasks} reopened"),
            Self::Prioritise(p) => format!("{tasks} set to {} priority", p.label().to_lowercase()),
            Self::Tag(t) => format!("#{} added to {tasks}", t.as_str()),
            Self::Untag(t) => format!("#{} taken off {tasks}", t.as_str()),
            Self::Delete => format!("{tasks} deleted"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UndoId(pub Uuid);

impl UndoId {
    pub fn parse(raw: &str) -> Option<Self> {
        Uuid::try_parse(raw.trim()).ok().map(Self)
    }
}

/// What undoing one action does: each task back as it was (`restore`; a
/// deleted one comes back), and the tasks the action made go (`remove`: the
/// next instance a deleted repeating task was followed by).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UndoRecord {
    pub id: UndoId,
    pub user_id: UserId,
    /// When the action ran: every task it changed carries this `updated_at`,
    /// so a task changed again since is left alone.
    pub at: DateTime<Utc>,
    pub summary: String,
    pub restore: Vec<Task>,
    pub remove: Vec<TaskId>,
}

impl UndoRecord {
    /// Whether it can still be used at `now`.
    pub fn fresh(&self, now: DateTime<Utc>) -> bool {
        now - self.at <= chrono::Duration::minutes(UNDO_MINUTES)
    }
}

/// What an action did, for the notice that offers to undo it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkOutcome {
    /// `None` when nothing changed, so there is nothing to undo.
    pub undo: Option<UndoId>,
    pub changed: usize,
    pub summary: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::TaskTitle;

    fn task() -> Task {
        let t0 = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        Task {
            id: TaskId(Uuid::now_v7()),
            user_id: UserId(Uuid::nil()),
            title: TaskTitle::parse("t").unwrap(),
            description: None,
            priority: Priority::None,
            tags: Tags::parse("home").unwrap(),
            due: None,
            repeat: None,
            reminders: Vec::new(),
            completed_at: None,
            created_at: t0,
            updated_at: t0,
        }
    }

    #[test]
    fn the_bulk_bar_names_the_field_it_cannot_read() {
        assert_eq!(BulkAction::parse("complete", "", "").unwrap(), BulkAction::Complete);
        assert_eq!(BulkAction::parse("priority", "high", "").unwrap(), BulkAction::Prioritise(Priority::High));
        assert_eq!(BulkAction::parse("tag", "", " Work ").unwrap(), BulkAction::Tag(Tag::parse("work").unwrap()));
        assert_eq!(BulkAction::parse("explode", "", "").unwrap_err().field, "action");
        assert_eq!(BulkAction::parse("priority", "loud", "").unwrap_err().field, "priority");
        assert_eq!(BulkAction::parse("untag", "", "a/b").unwrap_err().field, "tag");
    }

    #[test]
    fn an_action_changes_only_what_it_names_and_skips_tasks_it_would_not_change() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let t = task();
        let done = BulkAction::Complete.apply(&t, now).unwrap();
        assert_eq!((done.completed_at, done.updated_at, &done.tags), (Some(now), now, &t.tags));
        assert_eq!(BulkAction::Complete.apply(&done, now), None, "already done");
        assert_eq!(BulkAction::Reopen.apply(&t, now), None, "already open");
        let work = Tag::parse("work").unwrap();
        let tagged = BulkAction::Tag(work.clone()).apply(&t, now).unwrap();
        assert_eq!(tagged.tags, Tags::parse("home, work").unwrap(), "added last");
        assert_eq!(BulkAction::Tag(work.clone()).apply(&tagged, now), None);
        assert_eq!(BulkAction::Untag(work).apply(&tagged, now).unwrap().tags, t.tags);
        assert_eq!(BulkAction::Prioritise(Priority::None).apply(&t, now), None);
        assert_eq!(BulkAction::Delete.summary(1), "1 task deleted");
        assert_eq!(BulkAction::Prioritise(Priority::Urgent).summary(3), "3 tasks set to urgent priority");
    }
}
