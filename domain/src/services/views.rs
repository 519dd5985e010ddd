//! Saved views and the Upcoming week: naming the list's current search and
//! order, moving and deleting those names, and the next seven days with the
//! occurrences repeating tasks will have.

use crate::account::User;
use crate::error::{ServiceError, StoreError, ValidationError};
use crate::query::{DueFilter, TaskQuery};
use crate::tag::TagColours;
use crate::task_list::{PageRequest, TaskFilter};
use crate::views::{self, Move, SavedView, UpcomingDay, ViewId, ViewName};

use super::Services;

/// Most views a user keeps: a sidebar, not a database.
pub const MAX_VIEWS: usize = 50;

/// Most dated tasks the Upcoming week lists.
const UPCOMING_LIMIT: u32 = 500;

impl Services {
    pub async fn saved_views(&self, user: &User) -> Result<Vec<SavedView>, ServiceError> {
        Ok(self.store.saved_views(user.id).await?)
    }

    /// Names `query` (the list's search, with its order) and pins it last in the sidebar.
    pub async fn save_view(&self, user: &User, name: &str, query: &str) -> Result<SavedView, ServiceError> {
        let name = ViewName::parse(name)?;
        let query = TaskQuery::parse(query).map_err(|e| ValidationError::new("query", e.message))?;
        let existing = self.store.saved_views(user.id).await?;
        if existing.len() >= MAX_VIEWS {
            return Err(ValidationError::new(
                "name",
                format!("You can keep up to {MAX_VIEWS} views; delete one first."),
            )
            .into());
        }
        let view = SavedView {
            id: ViewId(uuid::Uuid::now_v7()),
            user_id: user.id,
            name,
            query,
            position: existing.last().map_or(0, |v| v.position + 1),
            created_at: self.clock.now(),
        };
        let mut uow = self.store.begin().await?;
        match uow.insert_view(&view).await {
            Err(StoreError::Conflict { .. }) => {
                return Err(ValidationError::new("name", "You already have a view with this name.").into())
            }
            other => other?,
        }
        uow.commit().await?;
        Ok(view)
    }

    pub async fn delete_view(&self, user: &User, id: ViewId) -> Result<(), ServiceError> {
        let mut uow = self.store.begin().await?;
        uow.delete_view(user.id, id).await?;
        uow.commit().await?;
        Ok(())
    }

    /// Moves a view one place up or down the sidebar.
    pub async fn move_view(&self, user: &User, id: ViewId, direction: Move) -> Result<(), ServiceError> {
        let existing = self.store.saved_views(user.id).await?;
        if !existing.iter().any(|v| v.id == id) {
            return Err(ServiceError::NotFound);
        }
        let order = views::reorder(&existing, id, direction);
        let mut uow = self.store.begin().await?;
        uow.set_view_order(user.id, &order).await?;
        uow.commit().await?;
        Ok(())
    }

    /// The next seven days in the user's zone, today first, and the colours
    /// of the user's tags (read with the dated tasks) for the rows' chips.
    pub async fn upcoming(&self, user: &User) -> Result<(Vec<UpcomingDay>, TagColours), ServiceError> {
        let today = super::local_day(self.clock.now(), user.time_zone);
        let query = TaskQuery { due: Some(DueFilter::Next(views::UPCOMING_DAYS)), ..TaskQuery::default() };
        let filter = TaskFilter::of(&query, today, user.time_zone);
        let page = PageRequest { size: UPCOMING_LIMIT, ..PageRequest::first() };
        let dated = self.store.tasks(user.id, &filter, &page).await?;
        let repeating = self.store.repeating_tasks(user.id).await?;
        let days = views::upcoming(today, views::UPCOMING_DAYS, user.time_zone, &dated.tasks, &repeating);
        Ok((days, dated.colours))
    }
}
