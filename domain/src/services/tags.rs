//! Tags across all of a user's tasks: their counts and colours, and renaming,
//! merging, recolouring and deleting one everywhere at once. Each change is
//! one unit of work that edits every task carrying the tag as the task form
//! would (`write_edit`), so each changed task gets its own `TaskUpdated`
//! event and reminders, and the owner's list version moves with it.

use crate::account::User;
use crate::error::{ServiceError, ValidationError};
use crate::ports::UnitOfWork;
use crate::tag::{TagColour, TagColours, TagCount};
use crate::task::{Tag, Tags, Task, TaskId};
use crate::timer::Timer;

use super::Services;

impl Services {
    /// Each of the user's tags with its open and total task counts and its colour, by name.
    pub async fn tag_counts(&self, user: &User) -> Result<Vec<TagCount>, ServiceError> {
        Ok(self.store.tag_counts(user.id).await?)
    }

    /// The colours of the tags `task` carries, for its row rendered alone;
    /// nothing is read for a task without tags.
    pub async fn task_tag_colours(&self, user: &User, task: &Task) -> Result<TagColours, ServiceError> {
        if task.tags.is_empty() {
            return Ok(TagColours::default());
        }
        Ok(self.store.task_tag_colours(user.id, task.id).await?)
    }

    /// Renames `from` to `to` on every task of the user that carries it,
    /// keeping its place among each task's tags; a task that has `to` already
    /// just loses `from` (the two merge). The colour goes with the name,
    /// unless `to` has one of its own. Returns the new name as normalised.
    pub async fn rename_tag(&self, user: &User, from: &str, to: &str) -> Result<Tag, ServiceError> {
        let from = known_name(from)?;
        let to = Tag::parse(to).map_err(|e| ValidationError::new("to", e.message))?;
        let mut uow = self.store.begin().await?;
        let ids = uow.tagged_task_ids(user.id, &from).await?;
        if ids.is_empty() {
            return Err(ServiceError::NotFound);
        }
        if from == to {
            return Ok(to);
        }
        let colour = match uow.tag_colour(user.id, &to).await? {
            Some(own) => Some(own),
            None => uow.tag_colour(user.id, &from).await?,
        };
        let (_, timers) = self.retag(&mut *uow, user, &ids, |tags| tags.renamed(&from, &to)).await?;
        uow.set_tag_colour(user.id, &from, None).await?;
        if colour.is_some() {
            uow.set_tag_colour(user.id, &to, colour).await?;
        }
        uow.commit().await?;
        self.timers_set(&timers);
        Ok(to)
    }

    /// Gives a tag a colour from the palette, or takes its colour away (an
    /// empty choice). No task changes, so no event is written; the list
    /// version moves all the same, since the list's chips show the colour.
    pub async fn recolour_tag(&self, user: &User, tag: &str, colour: &str) -> Result<Option<TagColour>, ServiceError> {
        let tag = known_name(tag)?;
        let colour = TagColour::parse(colour)?;
        let mut uow = self.store.begin().await?;
        if uow.tagged_task_ids(user.id, &tag).await?.is_empty() {
            return Err(ServiceError::NotFound);
        }
        uow.set_tag_colour(user.id, &tag, colour).await?;
        uow.commit().await?;
        Ok(colour)
    }

    /// Takes a tag off every task of the user that carries it (the tasks
    /// stay) and forgets its colour. Returns how many tasks changed.
    pub async fn delete_tag(&self, user: &User, tag: &str) -> Result<usize, ServiceError> {
        let tag = known_name(tag)?;
        let mut uow = self.store.begin().await?;
        let ids = uow.tagged_task_ids(user.id, &tag).await?;
        if ids.is_empty() {
            return Err(ServiceError::NotFound);
        }
        let (changed, timers) = self.retag(&mut *uow, user, &ids, |tags| tags.without(&tag)).await?;
        uow.set_tag_colour(user.id, &tag, None).await?;
        uow.commit().await?;
        self.timers_set(&timers);
        Ok(changed)
    }

    /// Edits the tags of each task in `ids` with `change`, through the task
    /// edit's own write; returns how many tasks changed and the timers set.
    async fn retag(
        &self,
        uow: &mut dyn UnitOfWork,
        user: &User,
        ids: &[TaskId],
        change: impl Fn(&Tags) -> Tags,
    ) -> Result<(usize, Vec<Timer>), ServiceError> {
        let now = self.clock.now();
        let (mut changed, mut timers) = (0, Vec::new());
        for id in ids {
            let before = uow.task_for_update(user.id, *id).await?;
            let tags = change(&before.tags);
            if tags == before.tags {
                continue;
            }
            let after = Task { tags, updated_at: now, ..before.clone() };
            timers.extend(self.write_edit(uow, before, &after, now).await?);
            changed += 1;
        }
        Ok((changed, timers))
    }
}

/// The tag a form names as one the user has: a name that does not parse
/// cannot be one, and is reported like a tag that is not there.
fn known_name(raw: &str) -> Result<Tag, ServiceError> {
    Tag::parse(raw).map_err(|_| ServiceError::NotFound)
}
