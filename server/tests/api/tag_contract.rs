//! Tags across tasks (counts, rename and merge, colours, delete, and the
//! colours the list's chips read), through the tags service on the `Store`
//! port, run unchanged on SQLite and PostgreSQL.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Duration;
use domain::ports::{SessionRecord, Store, SystemClock};
use domain::services::Services;
use domain::tag::{TagColour, TagCount};
use domain::task::{Tags, Task, TaskId};
use domain::{ServiceError, Tag, User};

use crate::contract::{add_user, now, task};
use crate::helpers::TestDb;

fn services(store: &Arc<dyn Store>) -> Services {
    Services::new(store.clone(), Arc::new(SystemClock), Arc::new(server::hasher::Argon2Hasher::new()))
}

/// Saves a task of `owner` with these tags, completed if `done`.
async fn tagged(store: &Arc<dyn Store>, owner: &User, title: &str, tags: &str, done: bool) -> Task {
    let t = Task { tags: Tags::parse(tags).unwrap(), completed_at: done.then(now), ..task(owner, title) };
    let mut uow = store.begin().await.unwrap();
    assert!(uow.insert_task(&t).await.unwrap());
    uow.commit().await.unwrap();
    t
}

fn names(task: &Task) -> Vec<String> {
    task.tags.iter().map(|t| t.as_str().to_owned()).collect()
}

async fn tags_of(store: &Arc<dyn Store>, t: &Task) -> Vec<String> {
    names(&store.task(t.user_id, t.id).await.unwrap())
}

/// Each tag as (name, open, total, colour).
async fn counts(store: &Arc<dyn Store>, u: &User) -> Vec<(String, u64, u64, Option<TagColour>)> {
    let counts: Vec<TagCount> = store.tag_counts(u.id).await.unwrap();
    counts.into_iter().map(|c| (c.tag.as_str().to_owned(), c.open, c.total, c.colour)).collect()
}

fn row(name: &str, open: u64, total: u64, colour: Option<TagColour>) -> (String, u64, u64, Option<TagColour>) {
    (name.to_owned(), open, total, colour)
}

/// How many events of each type the outbox holds for each of the user's tasks.
async fn events_per_task(store: &Arc<dyn Store>, u: &User) -> BTreeMap<(TaskId, String), usize> {
    let mut seen = BTreeMap::new();
    for entry in store.activity(u.id, None, None, 1000).await.unwrap() {
        *seen.entry((entry.task_id.expect("a task event"), entry.event_type)).or_default() += 1;
    }
    seen
}

/// The owner's list version, as a signed-in request reads it.
async fn list_version(store: &Arc<dyn Store>, u: &User) -> i64 {
    let hash = format!("tags-{}", u.id);
    if store.session_user(&hash, now()).await.unwrap().is_none() {
        let mut uow = store.begin().await.unwrap();
        let session = SessionRecord {
            token_hash: hash.clone(),
            user_id: u.id,
            created_at: now(),
            expires_at: now() + Duration::days(1),
        };
        uow.insert_session(&session).await.unwrap();
        uow.commit().await.unwrap();
    }
    store.session_user(&hash, now()).await.unwrap().unwrap().list_version
}

pub async fn each_tag_is_counted_open_and_in_all_with_its_colour_in_name_order(store: Arc<dyn Store>) {
    let u = add_user(&store, "counts@example.com").await;
    let other = add_user(&store, "counts2@example.com").await;
    tagged(&store, &u, "one", "work, home", false).await;
    tagged(&store, &u, "two", "work", true).await;
    tagged(&store, &u, "three", "work, errands", false).await;
    tagged(&store, &u, "untagged", "", false).await;
    tagged(&store, &other, "theirs", "work, secret", false).await;
    let svc = services(&store);
    svc.recolour_tag(&u, "home", "Teal").await.unwrap();

    assert_eq!(
        counts(&store, &u).await,
        [row("errands", 1, 1, None), row("home", 1, 1, Some(TagColour::Teal)), row("work", 2, 3, None)],
        "open and total per tag, a colour once set, and nothing of another user's"
    );
    assert_eq!(counts(&store, &other).await, [row("secret", 1, 1, None), row("work", 1, 1, None)]);
    assert_eq!(svc.tag_counts(&u).await.unwrap().len(), 3, "the service reads the same counts");
    let none = add_user(&store, "counts3@example.com").await;
    assert!(counts(&store, &none).await.is_empty());
}

pub async fn renaming_a_tag_renames_it_on_every_task_in_its_place_and_takes_its_colour_along(store: Arc<dyn Store>) {
    let u = add_user(&store, "rename@example.com").await;
    let a = tagged(&store, &u, "a", "home, work, errands", false).await;
    let b = tagged(&store, &u, "b", "work", true).await;
    let c = tagged(&store, &u, "c", "home", false).await;
    let svc = services(&store);
    svc.recolour_tag(&u, "work", "blue").await.unwrap();

    let renamed = svc.rename_tag(&u, "#work", "  Office Hours ").await.unwrap();

    assert_eq!(renamed.as_str(), "office-hours", "the new name is normalised as any tag is");
    assert_eq!(tags_of(&store, &a).await, ["home", "office-hours", "errands"], "in the old tag's place");
    assert_eq!(tags_of(&store, &b).await, ["office-hours"], "completed tasks too");
    assert_eq!(tags_of(&store, &c).await, ["home"], "a task without the tag is left alone");
    assert_eq!(
        counts(&store, &u).await,
        [row("errands", 1, 1, None), row("home", 2, 2, None), row("office-hours", 1, 2, Some(TagColour::Blue))]
    );
    let filtered = domain::TaskFilter { tags_all: [Tag::parse("office-hours").unwrap()].into(), ..Default::default() };
    let page = store.tasks(u.id, &filtered, &domain::PageRequest { cursor: domain::Cursor::Start, size: 10 }).await;
    assert_eq!(page.unwrap().total, 1, "the list's tag filter finds the open task under the new name");
}

pub async fn renaming_onto_an_existing_tag_merges_them_keeping_one_in_the_targets_place_and_colour(
    store: Arc<dyn Store>,
) {
    let u = add_user(&store, "merge@example.com").await;
    let both = tagged(&store, &u, "both", "work, home, office", false).await;
    let target_first = tagged(&store, &u, "target first", "office, home, work", false).await;
    let only_old = tagged(&store, &u, "only old", "home, work", false).await;
    let svc = services(&store);
    svc.recolour_tag(&u, "work", "red").await.unwrap();
    svc.recolour_tag(&u, "office", "green").await.unwrap();

    svc.rename_tag(&u, "work", "office").await.unwrap();

    assert_eq!(tags_of(&store, &both).await, ["home", "office"], "one office, where it was");
    assert_eq!(tags_of(&store, &target_first).await, ["office", "home"]);
    assert_eq!(tags_of(&store, &only_old).await, ["home", "office"]);
    assert_eq!(
        counts(&store, &u).await,
        [row("home", 3, 3, None), row("office", 3, 3, Some(TagColour::Green))],
        "the target's colour wins; the old tag and its colour are gone"
    );
}

pub async fn a_tag_without_a_colour_of_its_own_takes_the_renamed_tags_colour_on_merge(store: Arc<dyn Store>) {
    let u = add_user(&store, "merge-colour@example.com").await;
    tagged(&store, &u, "a", "work", false).await;
    tagged(&store, &u, "b", "office", false).await;
    let svc = services(&store);
    svc.recolour_tag(&u, "work", "purple").await.unwrap();
    svc.rename_tag(&u, "work", "office").await.unwrap();
    assert_eq!(counts(&store, &u).await, [row("office", 2, 2, Some(TagColour::Purple))]);
}

pub async fn recolouring_stores_a_palette_name_clears_with_an_empty_choice_and_refuses_anything_else(
    store: Arc<dyn Store>,
) {
    let u = add_user(&store, "colour@example.com").await;
    tagged(&store, &u, "a", "work", false).await;
    let svc = services(&store);

    assert_eq!(svc.recolour_tag(&u, "work", "ORANGE").await.unwrap(), Some(TagColour::Orange));
    assert_eq!(counts(&store, &u).await, [row("work", 1, 1, Some(TagColour::Orange))]);
    assert_eq!(
        svc.recolour_tag(&u, "work", "pink").await.unwrap(),
        Some(TagColour::Pink),
        "a second choice replaces the first"
    );
    assert_eq!(counts(&store, &u).await, [row("work", 1, 1, Some(TagColour::Pink))]);
    match svc.recolour_tag(&u, "work", "#f00\"><script>").await {
        Err(ServiceError::Invalid(e)) => assert_eq!(e.field, "colour"),
        other => panic!("expected a colour error, got {other:?}"),
    }
    assert_eq!(counts(&store, &u).await[0].3, Some(TagColour::Pink), "a refused colour changes nothing");
    assert_eq!(svc.recolour_tag(&u, "work", "").await.unwrap(), None);
    assert_eq!(counts(&store, &u).await, [row("work", 1, 1, None)]);
    assert!(matches!(svc.recolour_tag(&u, "nope", "red").await, Err(ServiceError::NotFound)));
}

pub async fn deleting_a_tag_takes_it_off_every_task_keeps_the_tasks_and_forgets_its_colour(store: Arc<dyn Store>) {
    let u = add_user(&store, "delete@example.com").await;
    let a = tagged(&store, &u, "a", "home, work, errands", false).await;
    let b = tagged(&store, &u, "b", "work", true).await;
    let svc = services(&store);
    svc.recolour_tag(&u, "work", "yellow").await.unwrap();

    assert_eq!(svc.delete_tag(&u, "work").await.unwrap(), 2);

    assert_eq!(tags_of(&store, &a).await, ["home", "errands"]);
    assert!(tags_of(&store, &b).await.is_empty(), "the task stays, untagged");
    assert_eq!(store.task(u.id, b.id).await.unwrap().completed_at, b.completed_at, "and otherwise as it was");
    assert_eq!(counts(&store, &u).await, [row("errands", 1, 1, None), row("home", 1, 1, None)]);
    assert!(matches!(svc.delete_tag(&u, "work").await, Err(ServiceError::NotFound)), "it is gone");
    // Used again later, the tag starts without the colour it had.
    tagged(&store, &u, "c", "work", false).await;
    assert_eq!(counts(&store, &u).await[2], row("work", 1, 1, None));
}

pub async fn each_changed_task_gets_one_updated_event_and_the_list_version_moves_once_per_change(
    store: Arc<dyn Store>,
) {
    store.register_subscribers(&["audit-log"]).await.unwrap();
    let u = add_user(&store, "events@example.com").await;
    let a = tagged(&store, &u, "a", "work", false).await;
    let b = tagged(&store, &u, "b", "work, home", true).await;
    let c = tagged(&store, &u, "c", "home", false).await;
    let svc = services(&store);
    let start = events_per_task(&store, &u).await;
    let version = list_version(&store, &u).await;

    svc.rename_tag(&u, "work", "office").await.unwrap();

    let after = events_per_task(&store, &u).await;
    let updated = |map: &BTreeMap<(TaskId, String), usize>, t: &Task| {
        map.get(&(t.id, "task.updated".to_owned())).copied().unwrap_or(0)
    };
    assert_eq!((updated(&after, &a), updated(&after, &b), updated(&after, &c)), (1, 1, 0), "one per changed task");
    assert_eq!(after.len(), start.len() + 2, "and no other event");
    assert_eq!(list_version(&store, &u).await, version + 1, "two tasks changed in one transaction: one version");

    svc.delete_tag(&u, "home").await.unwrap();
    let last = events_per_task(&store, &u).await;
    assert_eq!((updated(&last, &b), updated(&last, &c)), (2, 1));
    assert_eq!(list_version(&store, &u).await, version + 2);

    svc.recolour_tag(&u, "office", "blue").await.unwrap();
    assert_eq!(events_per_task(&store, &u).await, last, "a colour changes no task, so it writes no event");
}

pub async fn a_tag_change_leaves_other_users_tags_tasks_and_colours_alone(store: Arc<dyn Store>) {
    let u = add_user(&store, "mine@example.com").await;
    let other = add_user(&store, "theirs@example.com").await;
    tagged(&store, &u, "mine", "work", false).await;
    let theirs = tagged(&store, &other, "theirs", "work, private", false).await;
    let svc = services(&store);
    svc.recolour_tag(&other, "work", "grey").await.unwrap();
    let their_version = list_version(&store, &other).await;

    svc.recolour_tag(&u, "work", "red").await.unwrap();
    svc.rename_tag(&u, "work", "office").await.unwrap();
    svc.delete_tag(&u, "office").await.unwrap();

    assert_eq!(tags_of(&store, &theirs).await, ["work", "private"]);
    assert_eq!(counts(&store, &other).await, [row("private", 1, 1, None), row("work", 1, 1, Some(TagColour::Grey))]);
    assert_eq!(list_version(&store, &other).await, their_version);
    for result in [
        svc.rename_tag(&u, "private", "mine").await.map(|_| ()),
        svc.recolour_tag(&u, "private", "red").await.map(|_| ()),
        svc.delete_tag(&u, "private").await.map(|_| ()),
    ] {
        assert!(matches!(result, Err(ServiceError::NotFound)), "another user's tag is not found: {result:?}");
    }
    assert_eq!(tags_of(&store, &theirs).await, ["work", "private"]);
}

pub async fn an_unknown_tag_is_not_found_and_a_bad_new_name_names_the_to_field(store: Arc<dyn Store>) {
    let u = add_user(&store, "bad@example.com").await;
    let t = tagged(&store, &u, "a", "work", false).await;
    let svc = services(&store);
    assert!(matches!(svc.rename_tag(&u, "nope", "x").await, Err(ServiceError::NotFound)));
    assert!(matches!(svc.rename_tag(&u, "a/b", "x").await, Err(ServiceError::NotFound)), "no tag has that name");
    for bad in ["", "   ", "a/b", &"x".repeat(33)] {
        match svc.rename_tag(&u, "work", bad).await {
            Err(ServiceError::Invalid(e)) => assert_eq!(e.field, "to", "{bad:?}"),
            other => panic!("{bad:?}: expected a validation error, got {other:?}"),
        }
    }
    assert_eq!(svc.rename_tag(&u, "work", "WORK").await.unwrap().as_str(), "work", "the same name changes nothing");
    assert_eq!(tags_of(&store, &t).await, ["work"]);
}

/// The tags and colours the list page reads with its rows, as (name, colour).
async fn page_tags(store: &Arc<dyn Store>, u: &User) -> Vec<(String, Option<TagColour>)> {
    let first = domain::PageRequest { cursor: domain::Cursor::Start, size: 10 };
    let page = store.tasks(u.id, &domain::TaskFilter::default(), &first).await.unwrap();
    page.tags.iter().map(|t| (t.as_str().to_owned(), page.colours.of(t))).collect()
}

pub async fn the_list_page_reads_each_tags_colour_with_its_tags_and_nothing_of_another_users(store: Arc<dyn Store>) {
    let u = add_user(&store, "page-colours@example.com").await;
    let other = add_user(&store, "page-colours2@example.com").await;
    tagged(&store, &u, "a", "work, home", false).await;
    tagged(&store, &u, "b", "errands", true).await;
    tagged(&store, &other, "theirs", "home, secret", false).await;
    let svc = services(&store);
    svc.recolour_tag(&u, "home", "red").await.unwrap();
    svc.recolour_tag(&u, "errands", "teal").await.unwrap();
    svc.recolour_tag(&other, "home", "blue").await.unwrap();
    svc.recolour_tag(&other, "secret", "green").await.unwrap();

    assert_eq!(
        page_tags(&store, &u).await,
        [
            ("errands".to_owned(), Some(TagColour::Teal)),
            ("home".to_owned(), Some(TagColour::Red)),
            ("work".to_owned(), None),
        ],
        "every tag in name order, a completed task's too, each with its own colour and never another user's"
    );
    svc.rename_tag(&u, "home", "house").await.unwrap();
    svc.rename_tag(&u, "errands", "work").await.unwrap();
    assert_eq!(
        page_tags(&store, &u).await,
        [("house".to_owned(), Some(TagColour::Red)), ("work".to_owned(), Some(TagColour::Teal))],
        "a renamed tag keeps its colour, and a tag merged into one without a colour brings its own"
    );
    svc.delete_tag(&u, "house").await.unwrap();
    assert_eq!(page_tags(&store, &u).await, [("work".to_owned(), Some(TagColour::Teal))]);
    assert_eq!(
        page_tags(&store, &other).await,
        [("home".to_owned(), Some(TagColour::Blue)), ("secret".to_owned(), Some(TagColour::Green))]
    );
}

pub async fn a_tasks_own_tag_colours_are_read_for_its_row_alone(store: Arc<dyn Store>) {
    let u = add_user(&store, "row-colours@example.com").await;
    let other = add_user(&store, "row-colours2@example.com").await;
    let a = tagged(&store, &u, "a", "work, home, errands", false).await;
    tagged(&store, &u, "b", "later", false).await;
    let theirs = tagged(&store, &other, "theirs", "work", false).await;
    let svc = services(&store);
    svc.recolour_tag(&u, "home", "pink").await.unwrap();
    svc.recolour_tag(&u, "later", "grey").await.unwrap();
    svc.recolour_tag(&other, "work", "orange").await.unwrap();

    let colours = svc.task_tag_colours(&u, &a).await.unwrap();

    let tag = |name: &str| Tag::parse(name).unwrap();
    assert_eq!(colours.of(&tag("home")), Some(TagColour::Pink));
    assert_eq!(colours.of(&tag("work")), None, "another user's colour for the same name is theirs alone");
    assert_eq!(colours.of(&tag("later")), None, "only the task's own tags are read");
    assert_eq!(svc.task_tag_colours(&other, &theirs).await.unwrap().of(&tag("work")), Some(TagColour::Orange));
    assert!(store.task_tag_colours(other.id, a.id).await.unwrap().is_empty(), "nor anything of another's task");
}

pub async fn recolouring_a_tag_raises_the_owners_list_version_so_a_cached_list_is_not_served(store: Arc<dyn Store>) {
    let u = add_user(&store, "colour-version@example.com").await;
    let other = add_user(&store, "colour-version2@example.com").await;
    tagged(&store, &u, "a", "home", false).await;
    tagged(&store, &other, "b", "home", false).await;
    let svc = services(&store);
    let (version, theirs) = (list_version(&store, &u).await, list_version(&store, &other).await);

    svc.recolour_tag(&u, "home", "red").await.unwrap();
    assert_eq!(list_version(&store, &u).await, version + 1, "a colour set");
    svc.recolour_tag(&u, "home", "").await.unwrap();
    assert_eq!(list_version(&store, &u).await, version + 2, "and taken away");
    assert!(svc.recolour_tag(&u, "home", "magenta").await.is_err());
    assert!(svc.recolour_tag(&u, "nope", "red").await.is_err());
    assert_eq!(list_version(&store, &u).await, version + 2, "a refused colour changes nothing");
    assert_eq!(list_version(&store, &other).await, theirs, "another user's list is not touched");
}

macro_rules! tag_contract_suite {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;
            contract_suite!(@tests $make;
                each_tag_is_counted_open_and_in_all_with_its_colour_in_name_order,
                renaming_a_tag_renames_it_on_every_task_in_its_place_and_takes_its_colour_along,
                renaming_onto_an_existing_tag_merges_them_keeping_one_in_the_targets_place_and_colour,
                a_tag_without_a_colour_of_its_own_takes_the_renamed_tags_colour_on_merge,
                recolouring_stores_a_palette_name_clears_with_an_empty_choice_and_refuses_anything_else,
                deleting_a_tag_takes_it_off_every_task_keeps_the_tasks_and_forgets_its_colour,
                each_changed_task_gets_one_updated_event_and_the_list_version_moves_once_per_change,
                a_tag_change_leaves_other_users_tags_tasks_and_colours_alone,
                an_unknown_tag_is_not_found_and_a_bad_new_name_names_the_to_field,
                the_list_page_reads_each_tags_colour_with_its_tags_and_nothing_of_another_users,
                a_tasks_own_tag_colours_are_read_for_its_row_alone,
                recolouring_a_tag_raises_the_owners_list_version_so_a_cached_list_is_not_served,
            );
        }
    };
}

tag_contract_suite!(sqlite, async { TestDb::sqlite() });
tag_contract_suite!(postgres, TestDb::postgres());
