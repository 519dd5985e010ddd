//! Copies of recently read task-list pages, kept by this process and trusted
//! only while the user's list version is the one they were read at. Every
//! change to a user's tasks raises that version in its own transaction, on
//! whichever replica makes it, and each request reads the current version
//! (pages with their session, in one query they make anyway; the REST API
//! with one indexed read), so a copy is used only when nothing in the list
//! can have changed. Time-dependent parts (overdue, due labels in the
//! viewer's zone) are computed from the copy at every render.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use domain::{Cursor, PageRequest, TaskFilter, TaskPage, UserId};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    user: UserId,
    filter: TaskFilter,
    cursor: Cursor,
    size: u32,
}

struct Entry {
    version: i64,
    kept: Kept,
    last_used: u64,
    weight: usize,
}

/// A page kept at a list version, and a slot for its rendering as the REST
/// API sends it (its JSON), made once by the first request that needs it:
/// serialising 1,000 rows costs more than reading the version that proves
/// them current.
#[derive(Clone)]
pub struct Kept {
    pub page: Arc<TaskPage>,
    pub rendered: Arc<OnceLock<Bytes>>,
}

/// A bounded map from (user, filter, page) to the page read at a list version.
pub struct ListCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    entries: HashMap<Key, Entry>,
    clock: u64,
    /// The entries' weights together, never over `capacity`.
    weight: usize,
}

impl ListCache {
    /// Room, in pages of the list's usual size: about 10 KB each, so a few MB.
    pub const DEFAULT_CAPACITY: usize = 512;

    /// A cache of `capacity` pages' room; 0 keeps none, so every list is read from the database.
    pub fn new(capacity: usize) -> Self {
        Self { capacity, inner: Mutex::new(Inner { entries: HashMap::new(), clock: 0, weight: 0 }) }
    }

    /// The page, if it was read at exactly `version`.
    pub fn get(&self, user: UserId, filter: &TaskFilter, request: &PageRequest, version: i64) -> Option<Kept> {
        let key = Key { user, filter: filter.clone(), cursor: request.cursor.clone(), size: request.size };
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner.entries.get_mut(&key).filter(|e| e.version == version)?;
        entry.last_used = now;
        Some(entry.kept.clone())
    }

    /// Keeps a page read at `version`; when full, forgets the pages used
    /// longest ago until it fits. A page of the API's 1,000 rows takes the
    /// room of twenty of the list's 50, so big pages cannot crowd the
    /// memory out; one bigger than the whole cache is not kept (but is
    /// still returned, with a slot of its own).
    pub fn put(
        &self,
        user: UserId,
        filter: &TaskFilter,
        request: &PageRequest,
        version: i64,
        page: Arc<TaskPage>,
    ) -> Kept {
        let kept = Kept { page, rendered: Arc::new(OnceLock::new()) };
        let weight = (request.size as usize).div_ceil(PageRequest::DEFAULT_SIZE as usize).max(1);
        if weight > self.capacity {
            return kept;
        }
        let key = Key { user, filter: filter.clone(), cursor: request.cursor.clone(), size: request.size };
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.clock += 1;
        let now = inner.clock;
        if let Some(old) = inner.entries.remove(&key) {
            inner.weight -= old.weight;
        }
        while inner.weight + weight > self.capacity {
            let Some(oldest) = inner.entries.iter().min_by_key(|(_, e)| e.last_used).map(|(k, _)| k.clone()) else {
                break;
            };
            if let Some(gone) = inner.entries.remove(&oldest) {
                inner.weight -= gone.weight;
            }
        }
        inner.weight += weight;
        inner.entries.insert(key, Entry { version, kept: kept.clone(), last_used: now, weight });
        kept
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

    fn first() -> PageRequest {
        PageRequest { cursor: Cursor::Start, size: PageRequest::DEFAULT_SIZE }
    }

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
        cache.put(user, &filter, &first(), 3, page(10));
        assert_eq!(cache.get(user, &filter, &first(), 3).map(|k| k.page.total), Some(10));
        assert!(cache.get(user, &filter, &first(), 4).is_none(), "a newer version misses");
        assert!(cache.get(UserId(Uuid::from_u128(2)), &filter, &first(), 3).is_none(), "another user misses");
        let other = TaskFilter { status: domain::query::Status::All, ..TaskFilter::default() };
        assert!(cache.get(user, &other, &first(), 3).is_none(), "another filter misses");
    }

    #[test]
    fn a_cache_of_no_pages_keeps_nothing() {
        let cache = ListCache::new(0);
        let (user, filter) = (UserId(Uuid::from_u128(1)), TaskFilter::default());
        cache.put(user, &filter, &first(), 0, page(1));
        assert!(cache.is_empty());
        assert!(cache.get(user, &filter, &first(), 0).is_none());
    }

    #[test]
    fn the_page_used_longest_ago_makes_room() {
        let cache = ListCache::new(2);
        let filter = TaskFilter::default();
        let user = |n| UserId(Uuid::from_u128(n));
        cache.put(user(1), &filter, &first(), 0, page(1));
        cache.put(user(2), &filter, &first(), 0, page(2));
        assert!(cache.get(user(1), &filter, &first(), 0).is_some());
        cache.put(user(3), &filter, &first(), 0, page(3));
        assert_eq!(cache.len(), 2);
        assert!(cache.get(user(2), &filter, &first(), 0).is_none(), "user 2's page was the idlest");
        assert!(cache.get(user(1), &filter, &first(), 0).is_some());
    }

    #[test]
    fn a_page_of_another_size_is_another_page_and_a_big_one_takes_the_room_of_several() {
        let cache = ListCache::new(21);
        let filter = TaskFilter::default();
        let user = |n| UserId(Uuid::from_u128(n));
        let all = PageRequest { cursor: Cursor::Start, size: 1000 };
        cache.put(user(1), &filter, &first(), 0, page(1));
        assert!(cache.get(user(1), &filter, &all, 0).is_none(), "the first 50 are not the first 1,000");
        cache.put(user(2), &filter, &first(), 0, page(2));
        cache.put(user(1), &filter, &all, 0, page(1000));
        assert_eq!(cache.get(user(1), &filter, &all, 0).map(|k| k.page.total), Some(1000));
        assert_eq!(cache.len(), 2, "20 + 1 fill the room of 21: the idlest small page went");
        assert!(cache.get(user(1), &filter, &first(), 0).is_none());
        cache.put(user(3), &filter, &PageRequest { cursor: Cursor::Start, size: 1100 }, 0, page(1100));
        assert!(cache.get(user(3), &filter, &PageRequest { cursor: Cursor::Start, size: 1100 }, 0).is_none());
        assert_eq!(cache.len(), 2, "a page bigger than the whole cache is not kept, and evicts nothing");
    }

    #[test]
    fn a_rendering_made_once_is_shared_by_later_reads_until_the_version_moves() {
        let cache = ListCache::new(8);
        let (user, filter) = (UserId(Uuid::from_u128(1)), TaskFilter::default());
        let kept = cache.put(user, &filter, &first(), 1, page(3));
        assert_eq!(kept.rendered.get_or_init(|| Bytes::from_static(b"[3]")), &Bytes::from_static(b"[3]"));
        let again = cache.get(user, &filter, &first(), 1).unwrap();
        assert_eq!(again.rendered.get(), Some(&Bytes::from_static(b"[3]")), "the first rendering is reused");
        let newer = cache.put(user, &filter, &first(), 2, page(4));
        assert!(newer.rendered.get().is_none(), "a page read at a newer version is rendered anew");
        assert!(cache.get(user, &filter, &first(), 1).is_none());
    }
}
