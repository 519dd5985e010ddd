//! Copies of recently read task-list pages, kept by this process and trusted
//! only while the user's list version is the one they were read at. Every
//! change to a user's tasks raises that version in its own transaction, on
//! whichever replica makes it, and each request reads the current version
//! with its session (one query it makes anyway), so a copy is used only when
//! nothing in the list can have changed. Time-dependent parts (overdue, due
//! labels in the viewer's zone) are computed from the copy at every render.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use domain::{Cursor, TaskFilter, TaskPage, UserId};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    user: UserId,
    filter: TaskFilter,
    cursor: Cursor,
}

struct Entry {
    version: i64,
    page: Arc<TaskPage>,
    last_used: u64,
}

/// A bounded map from (user, filter, page) to the page read at a list version.
pub struct ListCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    entries: HashMap<Key, Entry>,
    clock: u64,
}

impl ListCache {
    /// Pages kept at most: about 10 KB each, so a few MB.
    pub const DEFAULT_CAPACITY: usize = 512;

    /// A cache of `capacity` pages; 0 keeps none, so every list is read from the database.
    pub fn new(capacity: usize) -> Self {
        Self { capacity, inner: Mutex::new(Inner { entries: HashMap::new(), clock: 0 }) }
    }

    /// The page, if it was read at exactly `version`.
    pub fn get(&self, user: UserId, filter: &TaskFilter, cursor: &Cursor, version: i64) -> Option<Arc<TaskPage>> {
        let key = Key { user, filter: filter.clone(), cursor: cursor.clone() };
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner.entries.get_mut(&key).filter(|e| e.version == version)?;
        entry.last_used = now;
        Some(entry.page.clone())
    }

    /// Keeps a page read at `version`; when full, forgets the page used longest ago.
    pub fn put(&self, user: UserId, filter: &TaskFilter, cursor: &Cursor, version: i64, page: Arc<TaskPage>) {
        if self.capacity == 0 {
            return;
        }
        let key = Key { user, filter: filter.clone(), cursor: cursor.clone() };
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.clock += 1;
        let now = inner.clock;
        if inner.entries.len() >= self.capacity && !inner.entries.contains_key(&key) {
            if let Some(oldest) = inner.entries.iter().min_by_key(|(_, e)| e.last_used).map(|(k, _)| k.clone()) {
                inner.entries.remove(&oldest);
            }
        }
        inner.entries.insert(key, Entry { version, page, last_used: now });
    }

    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn page(total: u64) -> Arc<TaskPage> {
        Arc::new(TaskPage {
            tasks: Vec::new(),
            total,
            offset: 0,
            more_after: false,
            tags: Vec::new(),
            colours: Default::default(),
        })
    }

    #[test]
    fn a_page_is_served_only_at_the_version_it_was_read_at() {
        let cache = ListCache::new(8);
        let (user, filter) = (UserId(Uuid::from_u128(1)), TaskFilter::default());
        cache.put(user, &filter, &Cursor::Start, 3, page(10));
        assert_eq!(cache.get(user, &filter, &Cursor::Start, 3).map(|p| p.total), Some(10));
        assert!(cache.get(user, &filter, &Cursor::Start, 4).is_none(), "a newer version misses");
        assert!(cache.get(UserId(Uuid::from_u128(2)), &filter, &Cursor::Start, 3).is_none(), "another user misses");
        let other = TaskFilter { status: domain::query::Status::All, ..TaskFilter::default() };
        assert!(cache.get(user, &other, &Cursor::Start, 3).is_none(), "another filter misses");
    }

    #[test]
    fn a_cache_of_no_pages_keeps_nothing() {
        let cache = ListCache::new(0);
        let (user, filter) = (UserId(Uuid::from_u128(1)), TaskFilter::default());
        cache.put(user, &filter, &Cursor::Start, 0, page(1));
        assert!(cache.is_empty());
        assert!(cache.get(user, &filter, &Cursor::Start, 0).is_none());
    }

    #[test]
    fn the_page_used_longest_ago_makes_room() {
        let cache = ListCache::new(2);
        let filter = TaskFilter::default();
        let user = |n| UserId(Uuid::from_u128(n));
        cache.put(user(1), &filter, &Cursor::Start, 0, page(1));
        cache.put(user(2), &filter, &Cursor::Start, 0, page(2));
        assert!(cache.get(user(1), &filter, &Cursor::Start, 0).is_some());
        cache.put(user(3), &filter, &Cursor::Start, 0, page(3));
        assert_eq!(cache.len(), 2);
        assert!(cache.get(user(2), &filter, &Cursor::Start, 0).is_none(), "user 2's page was the idlest");
        assert!(cache.get(user(1), &filter, &Cursor::Start, 0).is_some());
    }
}
