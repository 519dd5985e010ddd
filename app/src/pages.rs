//! The server-rendered pages. They work without JavaScript: every form is an
//! `ActionForm` posting to a server function, every filter a GET query string.

use domain::{Priority, TaskFilter};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use server_fn::ServerFn;

use crate::api::{self, ActivityRow, TaskDetail, TaskRow};
use crate::echo::{echoed, typed_or, FormEcho};
use crate::error::AppError;
use crate::islands::{CompleteToggle, QuickAdd, TimeZoneInput};

/// Renders an error as a page, with its HTTP status; an anonymous visitor is sent to sign in.
fn error_view(e: AppError) -> AnyView {
    #[cfg(feature = "ssr")]
    {
        if e == AppError::Unauthenticated {
            let loc = leptos_router::hooks::use_location();
            let search = loc.search.get_untracked();
            let query = if search.is_empty() || search.starts_with('?') { search } else { format!("?{search}") };
            let here = format!("{}{}", loc.pathname.get_untracked(), query);
            let next: String = here
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            leptos_axum::redirect(&format!("/signin?next={next}"));
            // redirect() only sets 302 for requests that accept HTML; a page always redirects.
            if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                res.set_status(http::StatusCode::FOUND);
            }
        } else if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
            res.set_status(http::StatusCode::from_u16(e.status()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR));
        }
    }
    let heading = match e {
        AppError::NotFound => "Not found",
        AppError::Unauthenticated => "Please sign in",
        _ => "Something went wrong",
    };
    view! {
        <Title text=heading/>
        <section class="card error-page">
            <h1>{heading}</h1>
            <p>{e.to_string()}</p>
            <p><a href="/tasks">"Back to your tasks"</a></p>
        </section>
    }
    .into_any()
}

/// The first error of a server action, if the last submission failed.
fn action_error<S>(action: ServerAction<S>) -> Option<AppError>
where
    S: server_fn::ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    action.value().get_untracked().and_then(Result::err)
}

#[component]
fn FieldError(error: Option<AppError>, name: &'static str) -> impl IntoView {
    error.and_then(|e| e.for_field(name)).map(|msg| {
        view! { <p class="field-error" id=format!("{name}-error") role="alert">{msg}</p> }
    })
}

/// An error that belongs to the whole form rather than one field.
#[component]
fn FormError(error: Option<AppError>) -> impl IntoView {
    error.filter(|e| !e.is_field_error()).map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
}

fn invalid(error: &Option<AppError>, name: &str) -> Option<&'static str> {
    error.as_ref().and_then(|e| e.for_field(name)).map(|_| "true")
}

#[component]
pub fn Header() -> impl IntoView {
    let sign_out = ServerAction::<api::SignOut>::new();
    view! {
        <header class="site-header">
            <a class="skip" href="#main">"Skip to content"</a>
            <a class="brand" href="/">"Cadence"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match api::me().await {
                        Ok(Some(me)) => {
                            view! {
                                <nav aria-label="Main">
                                    <a href="/tasks">"Tasks"</a>
                                    <a href="/activity">"Activity"</a>
                                    <a href="/settings" title=me.email.clone()>{me.display_name.clone()}</a>
                                    <ActionForm action=sign_out attr:class="inline">
                                        <button type="submit" class="link-button">"Sign out"</button>
                                    </ActionForm>
                                </nav>
                            }
                            .into_any()
                        }
                        _ => {
                            view! {
                                <nav aria-label="Main">
                                    <a href="/signin">"Sign in"</a>
                                    <a href="/signup" class="button small">"Sign up"</a>
                                </nav>
                            }
                            .into_any()
                        }
                    }
                })}
            </Suspense>
        </header>
    }
}

#[component]
pub fn Home() -> impl IntoView {
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                if let Ok(Some(_)) = api::me().await {
                    #[cfg(feature = "ssr")]
                    {
                        leptos_axum::redirect("/tasks");
                        if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                            res.set_status(http::StatusCode::FOUND);
                        }
                    }
                }
                view! {
                    <Title text=""/>
                    <section class="hero">
                        <h1>"Deadlines you can rely on."</h1>
                        <p>"Cadence keeps your tasks, due dates and priorities in one fast, quiet place."</p>
                        <p class="actions">
                            <a class="button" href="/signup">"Create an account"</a>
                            <a class="button secondary" href="/signin">"Sign in"</a>
                        </p>
                    </section>
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn SignIn() -> impl IntoView {
    let action = ServerAction::<api::SignIn>::new();
    let error = action_error(action);
    let next = use_query_map().get_untracked().get("next").unwrap_or_default();
    let email = echoed(api::SignIn::PATH).map(|e| e.value("email")).unwrap_or_default();
    view! {
        <Title text="Sign in"/>
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <FormError error=error.clone()/>
            <ActionForm action=action>
                <input type="hidden" name="next" value=next/>
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" value=email required/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required/>
                <button type="submit">"Sign in"</button>
            </ActionForm>
            <p>"New here? " <a href="/signup">"Create an account"</a></p>
        </section>
    }
}

#[component]
pub fn SignUp() -> impl IntoView {
    let action = ServerAction::<api::SignUp>::new();
    let error = action_error(action);
    let echo = echoed(api::SignUp::PATH);
    let detect = echo.is_none();
    let echo = echo.unwrap_or_default();
    let zone = Some(echo.value("time_zone")).filter(|z| !z.is_empty()).unwrap_or_else(|| "UTC".to_owned());
    view! {
        <Title text="Sign up"/>
        <section class="card narrow">
            <h1>"Create your account"</h1>
            <FormError error=error.clone()/>
            <ActionForm action=action>
                <label for="display_name">"Name"</label>
                <input id="display_name" name="display_name" autocomplete="name" maxlength="80" required
                    value=echo.value("display_name") aria-invalid=invalid(&error, "display_name")/>
                <FieldError error=error.clone() name="display_name"/>
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="email" required
                    value=echo.value("email") aria-invalid=invalid(&error, "email")/>
                <FieldError error=error.clone() name="email"/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="new-password" minlength="8"
                    maxlength="128" required aria-describedby="password-hint" aria-invalid=invalid(&error, "password")/>
                <p class="hint" id="password-hint">"At least 8 characters."</p>
                <FieldError error=error.clone() name="password"/>
                <label for="time_zone">"Time zone"</label>
                <TimeZoneInput value=zone detect/>
                <TimeZoneList/>
                <FieldError error=error.clone() name="time_zone"/>
                <button type="submit">"Create account"</button>
            </ActionForm>
            <p>"Already have an account? " <a href="/signin">"Sign in"</a></p>
        </section>
    }
}

/// All IANA zone names, for the time zone field's suggestions.
#[component]
fn TimeZoneList() -> impl IntoView {
    view! {
        <datalist id="time-zones">
            {chrono_tz::TZ_VARIANTS.iter().map(|tz| view! { <option value=tz.name()/> }).collect_view()}
        </datalist>
    }
}

/// One task in a list. Used by the server list and by the quick-add island.
#[component]
pub fn TaskRowView(row: TaskRow) -> impl IntoView {
    let href = format!("/tasks/{}", row.id);
    let priority = row.priority;
    view! {
        <li class="task" data-priority=priority.as_str() data-testid="task-row">
            <CompleteToggle id=row.id.clone() completed=row.completed title=row.title.clone()/>
            <div class="task-main">
                <a class="task-title" href=href>{row.title.clone()}</a>
                <div class="task-meta">
                    {(priority != Priority::None)
                        .then(|| view! { <span class=format!("badge priority-{}", priority.as_str())>{priority.label()}</span> })}
                    {row.due_label.clone().map(|d| {
                        view! { <span class="due" class:overdue=row.overdue>{if row.overdue { format!("Overdue · {d}") } else { d }}</span> }
                    })}
                    {row.tags.iter().map(|t| view! { <a class="tag" href=format!("/tasks?tag={t}")>{format!("#{t}")}</a> }).collect_view()}
                </div>
            </div>
        </li>
    }
}

#[component]
pub fn TaskListPage() -> impl IntoView {
    let query = use_query_map();
    let key = move || {
        let q = query.read();
        (
            q.get("completed").unwrap_or_default(),
            q.get("tag").unwrap_or_default(),
            q.get("priority").unwrap_or_default(),
            q.get("page").unwrap_or_default(),
        )
    };
    view! {
        <Title text="Tasks"/>
        <div class="page-head">
            <h1>"Tasks"</h1>
            <a class="button secondary" href="/tasks/new">"New task with details"</a>
        </div>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (completed, tag, priority, page) = key();
                let filter = TaskFilter::from_query(Some(&completed), Some(&tag), Some(&priority));
                match api::list_tasks(completed.clone(), tag.clone(), priority.clone(), page).await {
                    Ok(list) => {
                        let empty = list.rows.is_empty();
                        let filtered = !tag.is_empty() || !priority.is_empty();
                        let past_the_end = empty && list.total > 0;
                        view! {
                            <QuickAdd/>
                            <form method="get" action="/tasks" class="filters" aria-label="Filter tasks">
                                <label>"Tag "
                                    <select name="tag">
                                        <option value="" selected=tag.is_empty()>"Any"</option>
                                        {list.tags.iter().map(|t| view! { <option value=t.clone() selected=*t == tag>{t.clone()}</option> }).collect_view()}
                                    </select>
                                </label>
                                <label>"Priority "
                                    <select name="priority">
                                        <option value="" selected=priority.is_empty()>"Any"</option>
                                        {Priority::ALL.iter().map(|p| view! { <option value=p.as_str() selected=p.as_str() == priority>{p.label()}</option> }).collect_view()}
                                    </select>
                                </label>
                                <label class="check-label">
                                    <input type="checkbox" name="completed" value="1" checked=completed == "1"/>
                                    " Show completed"
                                </label>
                                <button type="submit" class="secondary">"Apply"</button>
                                {filtered.then(|| view! { <a href="/tasks">"Clear filters"</a> })}
                            </form>
                            {if past_the_end {
                                view! { <p class="empty">"This page is past the end of the list. " <a href=list_href(&filter, 1)>"Go to the first page"</a></p> }.into_any()
                            } else if empty {
                                view! { <p class="empty">{if filtered { "No tasks match these filters." } else { "Nothing to do. Add your first task above." }}</p> }.into_any()
                            } else {
                                let shown = list.rows.len() as u64;
                                view! {
                                    <ul class="task-list" aria-label="Tasks">
                                        {list.rows.into_iter().map(|row| view! { <TaskRowView row/> }).collect_view()}
                                    </ul>
                                    <Pager filter=filter.clone() page=list.page pages=list.pages page_size=list.page_size shown total=list.total/>
                                }.into_any()
                            }}
                        }.into_any()
                    }
                    Err(e) => error_view(e),
                }
            })}
        </Suspense>
    }
}

/// The task list's address for a filter and page, with only the parameters
/// that differ from the defaults, so links stay short and shareable.
fn list_href(filter: &TaskFilter, page: u32) -> String {
    let mut params = Vec::new();
    if let Some(tag) = &filter.tag {
        // Tags are letters, digits, '-' and '_': nothing to escape.
        params.push(format!("tag={}", tag.as_str()));
    }
    if let Some(priority) = filter.priority {
        params.push(format!("priority={}", priority.as_str()));
    }
    if filter.show_completed {
        params.push("completed=1".to_owned());
    }
    if page > 1 {
        params.push(format!("page={page}"));
    }
    if params.is_empty() {
        "/tasks".to_owned()
    } else {
        format!("/tasks?{}", params.join("&"))
    }
}

/// "Tasks 51–100 of 1,000" with links to the neighbouring pages; hidden when one page holds everything.
#[component]
fn Pager(filter: TaskFilter, page: u32, pages: u32, page_size: u32, shown: u64, total: u64) -> impl IntoView {
    let first = u64::from(page - 1) * u64::from(page_size) + 1;
    let last = first + shown - 1;
    (pages > 1).then(|| {
        view! {
            <nav class="pager" aria-label="Pages">
                {(page > 1).then(|| view! { <a rel="prev" href=list_href(&filter, page - 1)>"← Previous"</a> })}
                <span class="pager-status">{format!("Tasks {first}–{last} of {total} · page {page} of {pages}")}</span>
                {(page < pages).then(|| view! { <a rel="next" href=list_href(&filter, page + 1)>"Next →"</a> })}
            </nav>
        }
    })
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
    view! {
        <FormError error=error.clone()/>
        <label for="title">"Title"</label>
        <input id="title" name="title" value=title maxlength="200" required aria-invalid=invalid(&error, "title")/>
        <FieldError error=error.clone() name="title"/>
        <label for="description">"Description " <span class="hint">"(Markdown)"</span></label>
        <textarea id="description" name="description" rows="6" maxlength="10000">{description}</textarea>
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

/// Awaits `load` (on the server: the page is rendered once it resolves) and
/// renders its value, or the error page.
fn load_then<T, Fut>(
    load: impl Fn() -> Fut + Clone + Send + Sync + 'static,
    render: impl Fn(T) -> AnyView + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Send + 'static,
    Fut: std::future::Future<Output = Result<T, AppError>> + Send + 'static,
{
    view! {
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let (load, render) = (load.clone(), render.clone());
                Suspend::new(async move {
                    match load().await {
                        Ok(value) => render(value),
                        Err(e) => error_view(e),
                    }
                })
            }}
        </Suspense>
    }
}

/// The signed-in user, or `Unauthenticated` (which sends the visitor to sign in).
async fn signed_in() -> Result<api::Viewer, AppError> {
    api::me().await?.ok_or(AppError::Unauthenticated)
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
                    <ul class="task-list single"><TaskRowView row=row.clone()/></ul>
                </div>
                {(!d.description.is_empty()).then(|| view! { <div class="markdown" inner_html=d.description_html.clone()></div> })}
                <dl class="facts">
                    <dt>"Created"</dt><dd>{d.created_label.clone()}</dd>
                    {d.completed_label.clone().map(|c| view! { <dt>"Completed"</dt><dd>{c}</dd> })}
                </dl>
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
                <ActionForm action=action>
                    <input type="hidden" name="id" value=d.row.id.clone()/>
                    <div class="actions">
                        <button type="submit" class="danger">"Delete task"</button>
                        <a href=format!("/tasks/{}", d.row.id)>"Keep it"</a>
                    </div>
                </ActionForm>
            </section>
        }
        .into_any()
    })
}

#[component]
fn ActivityList(rows: Vec<ActivityRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="empty">"No activity yet."</p> }.into_any();
    }
    view! {
        <ol class="activity" data-testid="activity">
            {rows.into_iter().map(|r| view! {
                <li data-type=r.event_type.clone()>
                    <time>{r.when.clone()}</time>
                    {match r.task_id.clone() {
                        Some(id) if r.event_type != "task.deleted" => view! { <a href=format!("/tasks/{id}")>{r.summary.clone()}</a> }.into_any(),
                        _ => view! { <span>{r.summary.clone()}</span> }.into_any(),
                    }}
                </li>
            }).collect_view()}
        </ol>
    }
    .into_any()
}

#[component]
pub fn Activity() -> impl IntoView {
    view! {
        <Title text="Activity"/>
        <h1>"Activity"</h1>
        {load_then(api::activity, |rows| view! { <section class="card"><ActivityList rows/></section> }.into_any())}
    }
}

#[component]
pub fn Settings() -> impl IntoView {
    let profile = ServerAction::<api::UpdateProfile>::new();
    let password = ServerAction::<api::ChangePassword>::new();
    let (profile_error, password_error) = (action_error(profile), action_error(password));
    let saved = use_query_map().get_untracked().get("saved");
    view! {
        <Title text="Settings"/>
        <h1>"Settings"</h1>
        {load_then(signed_in, move |me| {
            let (profile_error, password_error, saved) = (profile_error.clone(), password_error.clone(), saved.clone());
            let echo = echoed(api::UpdateProfile::PATH);
            let display_name = typed_or(echo.as_ref(), "display_name", || me.display_name.clone());
            let time_zone = typed_or(echo.as_ref(), "time_zone", || me.time_zone.clone());
            view! {
                {saved.map(|what| view! { <p class="notice" role="status">{if what == "password" { "Password changed." } else { "Settings saved." }}</p> })}
                <section class="card">
                    <h2>"Profile"</h2>
                    <p class="hint">"Signed in as " {me.email.clone()}</p>
                    <ActionForm action=profile>
                        <FormError error=profile_error.clone()/>
                        <label for="display_name">"Name"</label>
                        <input id="display_name" name="display_name" value=display_name maxlength="80" required/>
                        <FieldError error=profile_error.clone() name="display_name"/>
                        <label for="time_zone">"Time zone"</label>
                        <TimeZoneInput value=time_zone detect=false/>
                        <TimeZoneList/>
                        <FieldError error=profile_error.clone() name="time_zone"/>
                        <button type="submit">"Save"</button>
                    </ActionForm>
                </section>
                <section class="card">
                    <h2>"Password"</h2>
                    <ActionForm action=password>
                        <FormError error=password_error.clone()/>
                        <label for="current_password">"Current password"</label>
                        <input id="current_password" name="current_password" type="password" autocomplete="current-password" required/>
                        <FieldError error=password_error.clone() name="current_password"/>
                        <label for="new_password">"New password"</label>
                        <input id="new_password" name="new_password" type="password" autocomplete="new-password" minlength="8" maxlength="128" required/>
                        <FieldError error=password_error.clone() name="new_password"/>
                        <button type="submit">"Change password"</button>
                    </ActionForm>
                </section>
            }
            .into_any()
        })}
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    error_view(AppError::NotFound)
}
