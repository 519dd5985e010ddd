//! The activity log as its owner reads it.

use crate::account::User;
use crate::error::ServiceError;
use crate::event::{ActivityCursor, AuditEntry};
use crate::task::TaskId;

use super::Services;

impl Services {
    /// Newest first; only one task's history when `task` is given.
    pub async fn activity(
        &self,
        user: &User,
        task: Option<TaskId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, ServiceError> {
        Ok(self.store.activity(user.id, task, None, limit).await?)
    }

    /// A page of at most `limit` entries after `after` (from the newest
    /// without it), and the cursor of the next page when there is one.
    pub async fn activity_page(
        &self,
        user: &User,
        task: Option<TaskId>,
        after: Option<ActivityCursor>,
        limit: u32,
    ) -> Result<(Vec<AuditEntry>, Option<ActivityCursor>), ServiceError> {
        let mut entries = self.store.activity(user.id, task, after, limit.saturating_add(1)).await?;
        let next = if entries.len() > limit as usize {
            entries.truncate(limit as usize);
            entries.last().map(ActivityCursor::after)
        } else {
            None
        };
        Ok((entries, next))
    }
}
