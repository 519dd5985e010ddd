//! Tasks' pages: the list with its filters and pages, one task, and the
//! forms that create, edit and delete tasks. List rows are plain server HTML
//! (`task_rows`); the `TaskBoard` island around them makes quick-add and the
//! complete toggles work without a reload.

use domain::query::{Sort, TaskQuery};
use domain::{Priority, TaskFilter};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use server_fn::ServerFn;

use super::activity::ActivityList;
use super::task_rows::rows_html_marked;
use super::views::{SaveView, ViewsNav};
use super::{action_error, error_view, invalid, load_then, raw_text, signed_in, FieldError, FormError};
use crate::api::{self, TaskDetail, TaskList};
use crate::error::AppError;
use crate::forms::{echoed, typed_or, FormEcho};
use crate::islands::TaskBoard;

/// The list's filter and page, as the query string gives them.
#[derive(Clone, Default, PartialEq)]
struct ListQuery {
    /// The search box: words and filters in the compact text form.
    q: String,
    /// The sort menu's choice (`-priority`); links carry the order in `q` instead.
    sort: String,
    completed: String,
    tag: String,
    priority: String,
    after: String,
    before: String,
}

#[component]
pub fn TaskListPage() -> impl IntoView {
    let query = use_query_map();
    let key = move || {
        let q = query.read();
        let get = |name: &str| q.get(name).unwrap_or_default();
        ListQuery {
            q: get("q"),
            sort: get("sort"),
            completed: get("completed"),
            tag: get("tag"),
            priority: get("priority"),
            after: get("after"),
            before: get("before"),
        }
    };
    // The action a bulk post just made, to offer its undo; not part of the list's key.
    let undo = query.get_untracked().get("undo").unwrap_or_default();
    view! {
        <Title text="Tasks"/>
        <div class="with-sidebar">
        <ViewsNav/>
        <div class="main-col">
        <div class="page-head">
            <h1>"Tasks"</h1>
            <a class="button secondary" href="/tasks/new">"New task with details"</a>
        </div>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || { let undo = undo.clone(); Suspend::new(async move {
                let q = key();
                let done = if undo.is_empty() { None } else { api::undo_summary(undo.clone()).await.ok().flatten().map(|s| (undo, s)) };
                let list = api::list_tasks(q.completed.clone(), q.tag.clone(), q.priority.clone(), q.after.clone(), q.before.clone(), q.q.clone(), q.sort.clone()).await;
                match list {
                    Ok(list) => task_list(q, list, done),
                    Err(e) => error_view(e),
                }
            })}}
        </Suspense>
        </div>
        </div>
    }
}

fn task_list(q: ListQuery, list: TaskList, done: Option<(String, String)>) -> AnyView {
    let filter = TaskFilter::from_query(Some(&q.completed), Some(&q.tag), Some(&q.priority));
    let (query, problems) = api::list_query(&q.q, &q.sort);
    let filtered = !filter.tags_all.is_empty()
        || !filter.priorities.is_empty()
        || TaskQuery { sort: Sort::default(), ..query.clone() } != TaskQuery::default();
    let sort = query.sort;
    // The filter form's search without its order: the form's sort menu says that.
    let unsorted = TaskQuery { sort: Sort::default(), ..query.clone() }.to_string();
    let chips = query.chips();
    let terms = domain::task_list::search_terms(&query.words);
    let past_the_end = list.rows.is_empty() && list.total > 0;
    let empty_message =
        if filtered { "No tasks match these filters." } else { "Nothing to do. Add your first task above." };
    let shown = list.rows.len() as u64;
    let pager = Pager {
        query: q.clone(),
        first: list.first,
        shown,
        total: list.total,
        total_exact: list.total_exact,
        first_exact: list.first_exact,
        previous: list.previous,
        next: list.next,
    };
    view! {
        <form method="get" action="/tasks" role="search" class="search" aria-label="Search tasks">
            <label for="search-q">"Search"</label>
            <input type="search" id="search-q" name="q" value=q.q.clone() maxlength=api::MAX_QUERY.to_string()
                placeholder="rent #home !high due:<7d is:overdue -#someday" autocomplete="off" aria-describedby="search-help"/>
            <input type="hidden" name="sort" value=q.sort.clone()/>
            <button type="submit" class="secondary">"Search"</button>
        </form>
        <p id="search-help" class="hint">
            "Words find tasks by title, description or tag (the start of a word is enough). Narrow with "
            <code>"#tag"</code>", "<code>"#a,b"</code>" (either), "<code>"-#tag"</code>", "<code>"!high"</code>", "
            <code>"due:today"</code>", "<code>"due:<7d"</code>", "<code>"due:none"</code>", "<code>"is:overdue"</code>", "
            <code>"is:done"</code>", "<code>"is:recurring"</code>", "<code>"has:reminder"</code>"."
        </p>
        {(!chips.is_empty()).then(|| view! {
            <ul class="chips" aria-label="Search filters">
                {chips.into_iter().map(|chip| {
                    let href = list_href(&ListQuery { q: chip.without.to_string(), sort: String::new(), ..q.clone() }, None);
                    let remove = format!("Remove {}", chip.label);
                    view! { <li class="chip"><span>{chip.label}</span><a href=href aria-label=remove>"\u{d7}"</a></li> }
                }).collect_view()}
            </ul>
        })}
        {problems.into_iter().map(|p| view! { <p class="field-error" role="alert">{p.message}</p> }).collect_view()}
        {(query != TaskQuery::default()).then(|| view! { <SaveView q=query.to_string()/> })}
        <form method="get" action="/tasks" class="filters" aria-label="Filter tasks">
            <input type="hidden" name="q" value=unsorted/>
            <label>"Tag "
                <select name="tag">
                    <option value="" selected=q.tag.is_empty()>"Any"</option>
                    {list.tags.into_iter().map(|t| { let (selected, value) = (t == q.tag, t.clone()); view! { <option value=value selected=selected>{t}</option> } }).collect_view()}
                </select>
            </label>
            <label>"Priority "
                <select name="priority">
                    <option value="" selected=q.priority.is_empty()>"Any"</option>
                    {Priority::ALL.iter().map(|p| view! { <option value=p.as_str() selected=p.as_str() == q.priority>{p.label()}</option> }).collect_view()}
                </select>
            </label>
            <label>"Order "
                <select name="sort">
                    {Sort::ALL.iter().map(|s| {
                        view! { <option value=s.param() selected=*s == sort>{s.menu_label()}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label class="check-label">
                <input type="checkbox" name="completed" value="1" checked=filter.status != domain::query::Status::Open/>
                " Show completed"
            </label>
            <button type="submit" class="secondary">"Apply"</button>
            {filtered.then(|| view! { <a href="/tasks">"Clear filters and search"</a> })}
        </form>
        {done.map(|(undo, summary)| view! {
            <div class="undo-toast" role="status">
                <span>{summary} "."</span>
                <form method="post" action=api::UndoBulk::PATH>
                    <input type="hidden" name="undo" value=undo/>
                    <input type="hidden" name="back" value=list_href(&q, None)/>
                    <button type="submit" class="secondary small">"Undo"</button>
                </form>
            </div>
        })}
        {(shown > 0).then(|| bulk_bar(&q, list.total, list.total_exact))}
        <TaskBoard>
            <form method="post" action=api::QuickAdd::PATH class="quick-add-form" data-zone=list.time_zone.clone()>
                <label for="quick-add-title" class="visually-hidden">"New task title"</label>
                <input id="quick-add-title" name="title" maxlength="500" required autocomplete="off"
                    placeholder="Add a task: Pay rent every month on the 1st at 9am #home !high"
                    aria-describedby="quick-add-hint quick-add-error"/>
                <button type="submit">"Add"</button>
            </form>
            <p id="quick-add-hint" class="hint">
                "Dates, times, repeats (\u{201c}every monday\u{201d}, \u{201c}every! 3 days\u{201d} from completion), "
                "reminders (\u{201c}remind me 1 hour before\u{201d}), #tags and !priority are read from the text; "
                "words in quotes stay in the title."
            </p>
            <ul id="quick-add-chips" class="chips" aria-label="What the new task will get" aria-live="polite" hidden></ul>
            <p id="quick-add-error" class="field-error" role="alert" hidden></p>
            <ul class="task-list" id="task-list" aria-label="Tasks" inner_html=rows_html_marked(&list.rows, &terms)></ul>
            {if past_the_end {
                view! { <p class="empty">"This page is past the end of the list. " <a href=list_href(&q, None)>"Go to the first page"</a></p> }.into_any()
            } else {
                view! { <p class="empty" id="task-list-empty" hidden={shown > 0}>{empty_message}</p> }.into_any()
            }}
        </TaskBoard>
        {pager.view()}
    }
    .into_any()
}

/// The bar that changes the selected rows (their boxes post with this form),
/// or with "all matching" every task the list's search selects.
fn bulk_bar(q: &ListQuery, total: u64, exact: bool) -> impl IntoView {
    let page = if !q.after.is_empty() {
        Some(PageLink::After(&q.after))
    } else if !q.before.is_empty() {
        Some(PageLink::Before(&q.before))
    } else {
        None
    };
    let back = list_href(q, page);
    // The search with the filter form's choices folded in: one `q` says what "all matching" is.
    let (mut query, _) = api::list_query(&q.q, &q.sort);
    let legacy = TaskFilter::from_query(Some(&q.completed), Some(&q.tag), Some(&q.priority));
    query.tags_all.extend(legacy.tags_all);
    query.priorities.extend(legacy.priorities);
    if legacy.status == domain::query::Status::All && query.status == domain::query::Status::Open {
        query.status = domain::query::Status::All;
    }
    let all_label = match (total, exact) {
        (1, true) => "The 1 matching task".to_owned(),
        (n, true) => format!("All {n} matching tasks"),
        (n, false) => format!("All matching tasks (more than {n})"),
    };
    view! {
        <form id="bulk-form" method="post" action=api::BulkTasks::PATH class="bulk-bar" aria-label="Change selected tasks">
            <input type="hidden" name="back" value=back/>
            <input type="hidden" name="q" value=query.to_string()/>
            <span class="bulk-count" id="bulk-count" aria-live="polite">"Selected tasks:"</span>
            <label class="check-label"><input type="checkbox" name="all" value="1"/>" " {all_label}</label>
            <label>"Action "
                <select name="action">
                    <option value="complete">"Complete"</option>
                    <option value="reopen">"Reopen"</option>
                    <option value="priority">"Set priority"</option>
                    <option value="tag">"Add tag"</option>
                    <option value="untag">"Remove tag"</option>
                    <option value="delete">"Delete"</option>
                </select>
            </label>
            <label>"Priority "
                <select name="priority">
                    {Priority::ALL.iter().map(|p| view! { <option value=p.as_str()>{p.label()}</option> }).collect_view()}
                </select>
            </label>
            <label>"Tag " <input name="tag" maxlength="32" size="10" autocomplete="off"/></label>
            <button type="submit" class="secondary small">"Change selected"</button>
        </form>
    }
}

/// Where a page link points: after or before a row's list key.
enum PageLink<'a> {
    After(&'a str),
    Before(&'a str),
}

/// The task list's address for a search, filter and page, with only the
/// parameters that differ from the defaults, so links stay short and shareable.
fn list_href(q: &ListQuery, page: Option<PageLink>) -> String {
    let mut params = Vec::new();
    // The search in its canonical form: the same link for the same view.
    let (query, _) = api::list_query(&q.q, &q.sort);
    if query != TaskQuery::default() {
        params.push(query.to_query_string());
    }
    let filter = TaskFilter::from_query(Some(&q.completed), Some(&q.tag), Some(&q.priority));
    for tag in &filter.tags_all {
        // Tags are letters, digits, '-' and '_': nothing to escape.
        params.push(format!("tag={}", tag.as_str()));
    }
    for priority in &filter.priorities {
        params.push(format!("priority={}", priority.as_str()));
    }
    if filter.status != domain::query::Status::Open {
        params.push("completed=1".to_owned());
    }
    // Cursors are list keys: digits and lower-case letters only.
    match page {
        Some(PageLink::After(key)) => params.push(format!("after={key}")),
        Some(PageLink::Before(key)) => params.push(format!("before={key}")),
        None => {}
    }
    if params.is_empty() {
        "/tasks".to_owned()
    } else {
        format!("/tasks?{}", params.join("&"))
    }
}

/// "Tasks 51–100 of 1000" with links to the neighbouring pages; hidden when one page holds everything.
struct Pager {
    query: ListQuery,
    first: u64,
    shown: u64,
    total: u64,
    total_exact: bool,
    first_exact: bool,
    previous: Option<String>,
    next: Option<String>,
}

impl Pager {
    fn view(self) -> Option<impl IntoView> {
        let Self { query, first, shown, total, total_exact, first_exact, previous, next } = self;
        (previous.is_some() || next.is_some()).then(|| {
            let last = first + shown.max(1) - 1;
            view! {
                <nav class="pager" aria-label="Pages">
                    {previous.map(|k| view! { <a rel="prev" href=list_href(&query, Some(PageLink::Before(&k)))>"← Previous"</a> })}
                    <span class="pager-status">{match (first_exact, total_exact) {
                        (true, true) => format!("Tasks {first}–{last} of {total}"),
                        (true, false) => format!("Tasks {first}–{last} of more than {total}"),
                        (false, _) => format!("Tasks past the first {total}"),
                    }}</span>
                    {next.map(|k| view! { <a rel="next" href=list_href(&query, Some(PageLink::After(&k)))>"Next →"</a> })}
                </nav>
            }
        })
    }
}

/// The fields of the create and edit forms.
/// A form shown again after an error keeps what the user typed (`echo`);
/// otherwise the fields show the stored task, or nothing for a new one.
#[component]
fn TaskFields(
    #[prop(optional)] detail: Option<TaskDetail>,
    echo: Option<FormEcho>,
    error: Option<AppError>,
) -> impl IntoView {
    let d = detail.as_ref();
    let field = |name: &str, stored: fn(&TaskDetail) -> String| {
        typed_or(echo.as_ref(), name, || d.map(stored).unwrap_or_default())
    };
    let title = field("title", |d| d.row.title.clone());
    let description = field("description", |d| d.description.clone());
    let priority = field("priority", |d| d.row.priority.as_str().to_owned());
    let tags = field("tags", |d| d.tags_input.clone());
    let due_date = field("due_date", |d| d.due_date.clone());
    let due_time = field("due_time", |d| d.due_time.clone());
    let reminders = field("reminders", |d| d.reminders_input.clone());
    let repeat = field("repeat", |d| d.repeat.repeat.clone());
    let repeat_every = field("repeat_every", |d| d.repeat.repeat_every.clone());
    let repeat_end = field("repeat_end", |d| d.repeat.repeat_end.clone());
    let repeat_until = field("repeat_until", |d| d.repeat.repeat_until.clone());
    let repeat_count = field("repeat_count", |d| d.repeat.repeat_count.clone());
    let repeat_from = field("repeat_from", |d| d.repeat.repeat_from.clone());
    let recurrence = field("recurrence", |d| d.repeat.recurrence.clone());
    let stored_days = d.map(|d| d.repeat.repeat_days.clone()).unwrap_or_default();
    let days = api::WEEKDAY_FIELDS.map(|(name, code, label)| {
        let checked = !typed_or(echo.as_ref(), name, || {
            if stored_days.split(',').any(|c| c == code) {
                "1".to_owned()
            } else {
                String::new()
            }
        })
        .is_empty();
        (name, label, checked)
    });
    let presets = [
        ("", "Does not repeat"),
        ("daily", "Daily"),
        ("weekdays", "Every weekday (Mon–Fri)"),
        ("weekly", "Weekly, on the days ticked below"),
        ("monthly", "Monthly, on the due date's day"),
        ("monthly_weekday", "Monthly, on the due date's weekday (e.g. 2nd Tuesday)"),
        ("yearly", "Yearly"),
        ("custom", "Custom rule (RRULE below)"),
    ];
    let ends = [("never", "Never"), ("until", "On a day"), ("count", "After a number of times")];
    let anchors = [
        ("schedule", "the schedule (completing late skips to the next date ahead)"),
        ("completion", "the day I complete it"),
    ];
    let chosen =
        |value: &str, current: &str, default: &str| value == current || (current.is_empty() && value == default);
    view! {
        <FormError error=error.clone()/>
        <label for="title">"Title"</label>
        <input id="title" name="title" value=title maxlength="200" required aria-invalid=invalid(&error, "title")/>
        <FieldError error=error.clone() name="title"/>
        <label for="description">"Description " <span class="hint">"(Markdown)"</span></label>
        <textarea id="description" name="description" rows="6" maxlength="10000">{raw_text(&description)}</textarea>
        <FieldError error=error.clone() name="description"/>
        <div class="row">
            <div>
                <label for="priority">"Priority"</label>
                <select id="priority" name="priority">
                    {Priority::ALL.iter().map(|p| view! { <option value=p.as_str() selected=p.as_str() == priority>{p.label()}</option> }).collect_view()}
                </select>
                <FieldError error=error.clone() name="priority"/>
            </div>
            <div>
                <label for="due_date">"Due date"</label>
                <input id="due_date" name="due_date" type="date" value=due_date aria-invalid=invalid(&error, "due_date")/>
                <FieldError error=error.clone() name="due_date"/>
            </div>
            <div>
                <label for="due_time">"Time " <span class="hint">"(optional)"</span></label>
                <input id="due_time" name="due_time" type="time" value=due_time aria-invalid=invalid(&error, "due_time")/>
                <FieldError error=error.clone() name="due_time"/>
            </div>
        </div>
        <label for="tags">"Tags " <span class="hint">"(comma-separated)"</span></label>
        <input id="tags" name="tags" value=tags placeholder="work, errands" aria-invalid=invalid(&error, "tags")/>
        <FieldError error=error.clone() name="tags"/>
        <label for="reminders">"Reminders " <span class="hint">"(comma-separated: at due, 15m, 2h, 1d, 1w before the due time, or 2026-12-24 18:00)"</span></label>
        <input id="reminders" name="reminders" value=reminders placeholder="at due, 15m, 1d" aria-invalid=invalid(&error, "reminders")/>
        <FieldError error=error.clone() name="reminders"/>
        <fieldset class="repeat">
            <legend>"Repeat"</legend>
            <div class="row">
                <div>
                    <label for="repeat">"Repeats"</label>
                    <select id="repeat" name="repeat" aria-invalid=invalid(&error, "repeat")>
                        {presets.into_iter().map(|(value, label)| view! { <option value=value selected=chosen(value, &repeat, "")>{label}</option> }).collect_view()}
                    </select>
                    <FieldError error=error.clone() name="repeat"/>
                </div>
                <div>
                    <label for="repeat_every">"Every " <span class="hint">"(days, weeks, months or years)"</span></label>
                    <input id="repeat_every" name="repeat_every" type="number" min="1" max="1000" value=repeat_every placeholder="1" aria-invalid=invalid(&error, "repeat_every")/>
                    <FieldError error=error.clone() name="repeat_every"/>
                </div>
            </div>
            <div class="weekdays" role="group" aria-label="Weekly on">
                {days.into_iter().map(|(name, label, checked)| view! {
                    <label class="check-label"><input type="checkbox" name=name value="1" checked=checked/>" " {label}</label>
                }).collect_view()}
            </div>
            <FieldError error=error.clone() name="repeat_days"/>
            <div class="row">
                <div>
                    <label for="repeat_end">"Ends"</label>
                    <select id="repeat_end" name="repeat_end">
                        {ends.into_iter().map(|(value, label)| view! { <option value=value selected=chosen(value, &repeat_end, "never")>{label}</option> }).collect_view()}
                    </select>
                    <FieldError error=error.clone() name="repeat_end"/>
                </div>
                <div>
                    <label for="repeat_until">"Last day"</label>
                    <input id="repeat_until" name="repeat_until" type="date" value=repeat_until aria-invalid=invalid(&error, "repeat_until")/>
                    <FieldError error=error.clone() name="repeat_until"/>
                </div>
                <div>
                    <label for="repeat_count">"Times"</label>
                    <input id="repeat_count" name="repeat_count" type="number" min="1" max="10000" value=repeat_count aria-invalid=invalid(&error, "repeat_count")/>
                    <FieldError error=error.clone() name="repeat_count"/>
                </div>
            </div>
            <label for="repeat_from">"Count the next one from"</label>
            <select id="repeat_from" name="repeat_from">
                {anchors.into_iter().map(|(value, label)| view! { <option value=value selected=chosen(value, &repeat_from, "schedule")>{label}</option> }).collect_view()}
            </select>
            <FieldError error=error.clone() name="repeat_from"/>
            <label for="recurrence">"Custom rule " <span class="hint">"(RFC 5545 RRULE, e.g. FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1; EXDATE lines skip days)"</span></label>
            <textarea id="recurrence" name="recurrence" rows="2" aria-invalid=invalid(&error, "recurrence")>{raw_text(&recurrence)}</textarea>
            <FieldError error=error.clone() name="recurrence"/>
        </fieldset>
    }
}

#[component]
pub fn NewTask() -> impl IntoView {
    let action = ServerAction::<api::CreateTask>::new();
    let error = action_error(action);
    view! {
        <Title text="New task"/>
        {load_then(signed_in, move |_| {
            let error = error.clone();
            view! {
                <section class="card">
                    <h1>"New task"</h1>
                    <ActionForm action=action>
                        <TaskFields echo=echoed(api::CreateTask::PATH) error/>
                        <div class="actions">
                            <button type="submit">"Create task"</button>
                            <a href="/tasks">"Cancel"</a>
                        </div>
                    </ActionForm>
                </section>
            }
            .into_any()
        })}
    }
}

fn task_id_param() -> String {
    use_params_map().get_untracked().get("id").unwrap_or_default()
}

/// Loads the task named in the URL and renders it, or the error page for it.
fn with_task(render: impl Fn(TaskDetail) -> AnyView + Clone + Send + Sync + 'static) -> impl IntoView {
    let id = task_id_param();
    load_then(move || api::get_task(id.clone()), render)
}

#[component]
pub fn TaskPage() -> impl IntoView {
    with_task(|d| {
        let row = d.row.clone();
        view! {
            <Title text=row.title.clone()/>
            <h1 class="visually-hidden">{row.title.clone()}</h1>
            <article class="card task-detail">
                <div class="page-head">
                    <ul class="task-list single" inner_html=super::task_rows::rows_html(std::slice::from_ref(&row))></ul>
                </div>
                {(!d.description.is_empty()).then(|| view! { <div class="markdown" inner_html=d.description_html.clone()></div> })}
                <dl class="facts">
                    <dt>"Created"</dt><dd>{d.created_label.clone()}</dd>
                    {d.completed_label.clone().map(|c| view! { <dt>"Completed"</dt><dd>{c}</dd> })}
                    {d.repeat_sentence.clone().map(|s| view! { <dt>"Repeats"</dt><dd class="repeat-rule">{s}</dd> })}
                    {d.repeat_anchor.clone().map(|a| view! { <dt>"Next one"</dt><dd>{a}</dd> })}
                    {(!d.reminders.is_empty()).then(|| view! {
                        <dt>"Reminders"</dt>
                        <dd><ul class="plain">{d.reminders.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view()}</ul></dd>
                    })}
                </dl>
                {(!d.upcoming.is_empty()).then(|| view! {
                    <h2 class="small-heading">"Upcoming"</h2>
                    <ol class="upcoming" aria-label="Upcoming occurrences">
                        {d.upcoming.iter().map(|u| view! { <li>{u.clone()}</li> }).collect_view()}
                    </ol>
                })}
                <div class="actions">
                    <a class="button" href=format!("/tasks/{}/edit", row.id)>"Edit"</a>
                    <a class="button danger" href=format!("/tasks/{}/delete", row.id)>"Delete…"</a>
                    <a href="/tasks">"Back to tasks"</a>
                </div>
            </article>
            <section class="card">
                <h2>"History"</h2>
                <ActivityList rows=d.history.clone()/>
            </section>
        }
        .into_any()
    })
}

#[component]
pub fn EditTask() -> impl IntoView {
    let action = ServerAction::<api::UpdateTask>::new();
    let error = action_error(action);
    with_task(move |d| {
        let (id, error) = (d.row.id.clone(), error.clone());
        view! {
            <Title text=format!("Edit {}", d.row.title)/>
            <section class="card">
                <h1>"Edit task"</h1>
                <ActionForm action=action>
                    <input type="hidden" name="id" value=id.clone()/>
                    <TaskFields detail=d echo=echoed(api::UpdateTask::PATH) error/>
                    <div class="actions">
                        <button type="submit">"Save changes"</button>
                        <a href=format!("/tasks/{id}")>"Cancel"</a>
                    </div>
                </ActionForm>
            </section>
        }
        .into_any()
    })
}

#[component]
pub fn DeleteTask() -> impl IntoView {
    let action = ServerAction::<api::DeleteTask>::new();
    with_task(move |d| {
        view! {
            <Title text="Delete task"/>
            <section class="card narrow">
                <h1>"Delete this task?"</h1>
                <p>"\u{201c}" {d.row.title.clone()} "\u{201d} will be deleted. Its history stays in your activity log."</p>
                {d.row.recurring.then(|| view! { <p>"It repeats. Delete only this one, and the next one takes its place; or delete this one and all following, and the series ends."</p> })}
                <ActionForm action=action>
                    <input type="hidden" name="id" value=d.row.id.clone()/>
                    <div class="actions">
                        {if d.row.recurring {
                            view! {
                                <button type="submit" class="danger" name="scope" value="this">"Delete this one"</button>
                                <button type="submit" class="danger" name="scope" value="following">"Delete this and all following"</button>
                            }.into_any()
                        } else {
                            view! { <button type="submit" class="danger">"Delete task"</button> }.into_any()
                        }}
                        <a href=format!("/tasks/{}", d.row.id)>"Keep it"</a>
                    </div>
                </ActionForm>
            </section>
        }
        .into_any()
    })
}
