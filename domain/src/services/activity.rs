//! The activity log as its owner reads it.

use crate::account::User;
use crate::error::ServiceError;
use crate::event::AuditEntry;
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
        Ok(self.store.activity(user.id, task, limit).await?)
    }
}
