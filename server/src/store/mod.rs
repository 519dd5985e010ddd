//! The storage adapters: SQLite (the embedded default) and PostgreSQL, one
//! module each, every one split by feature (accounts, tasks, audit, outbox).
//! Each backend writes its own SQL where the dialects differ (row locks,
//! `SKIP LOCKED`, tag aggregation); what they share is the decoding of rows
//! into domain values, here in `rows`. One contract suite runs on both.

use std::sync::Arc;

use domain::ports::Store;
use domain::StoreError;

mod group_commit;
pub mod postgres;
mod rows;
mod same_sql;
pub mod sqlite;
mod time_engine;

/// Whether opening the store brings its schema up to date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Migrations {
    /// Apply what is pending (the embedded default, and `server migrate`).
    Apply,
    /// Apply nothing, and refuse a database whose schema is behind this
    /// build: in a cluster, a Job migrates once per release and pods only check.
    Require,
}

/// Opens the store that `database_url` names, migrating it first.
pub async fn connect(database_url: &str) -> Result<Arc<dyn Store>, StoreError> {
    connect_with(database_url, Migrations::Apply).await
}

/// Opens the store that `database_url` names: `sqlite:` (the default) or `postgres:`.
pub async fn connect_with(database_url: &str, migrations: Migrations) -> Result<Arc<dyn Store>, StoreError> {
    if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::PgStore::open(database_url, migrations).await?))
    } else if database_url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(database_url, migrations).await?))
    } else {
        Err(StoreError::backend(std::io::Error::other("DATABASE_URL must start with sqlite: or postgres:")))
    }
}

/// Applies `migrator`'s pending migrations, or, with `Require`, fails naming
/// how many are pending.
pub(crate) async fn migrate<'c, A>(
    migrator: &sqlx::migrate::Migrator,
    pool: A,
    migrations: Migrations,
) -> Result<(), StoreError>
where
    A: sqlx::Acquire<'c>,
    <A::Connection as std::ops::Deref>::Target: sqlx::migrate::Migrate,
{
    let mut conn = pool.acquire().await.map_err(map_err)?;
    if migrations == Migrations::Apply {
        return migrator.run_direct(&mut *conn).await.map_err(StoreError::backend);
    }
    // A database never migrated has no table to list: everything is pending.
    let applied: Vec<i64> = match sqlx::migrate::Migrate::list_applied_migrations(&mut *conn).await {
        Ok(applied) => applied.into_iter().map(|m| m.version).collect(),
        Err(_) => Vec::new(),
    };
    let pending = migrator.iter().filter(|m| !applied.contains(&m.version)).count();
    if pending > 0 {
        return Err(StoreError::backend(std::io::Error::other(format!(
            "the database is {pending} migration(s) behind this build: run `server migrate` first"
        ))));
    }
    Ok(())
}

/// The routes the outbox's deliveries follow (see
/// `OutboxStore::route_deliveries`) and the bells rung when a commit wrote
/// some (see `OutboxStore::ring_on_commit`), shared by a store and its units of work.
#[derive(Clone, Default)]
pub(crate) struct Routing {
    routes: Arc<std::sync::OnceLock<domain::spine::Routes>>,
    bells: Arc<std::sync::OnceLock<Vec<(domain::spine::Wants, domain::spine::Bell)>>>,
}

/// Which bells a unit of work rings once it commits: one bit per bell, in the order they were given.
#[derive(Clone, Copy, Default)]
pub(crate) struct Rings(u64);

impl Routing {
    pub fn set(&self, routes: domain::spine::Routes) {
        let _ = self.routes.set(routes);
    }

    pub fn set_bells(&self, bells: Vec<(domain::spine::Wants, domain::spine::Bell)>) {
        // A bit each: more relays than that in one process would be a design change, not a setting.
        assert!(bells.len() <= 64, "at most 64 relays ring on commit");
        let _ = self.bells.set(bells);
    }

    /// Routes `event` as it is appended: returns the registered subscribers
    /// it is not delivered to, and adds to `rings` the bells of the relays
    /// that act on it, to ring once it is committed.
    pub fn route(&self, event: &domain::event::EventEnvelope, rings: &mut Rings) -> Vec<&'static str> {
        for (i, (wants, _)) in self.bells.get().into_iter().flatten().enumerate() {
            if wants(&event.payload) {
                rings.0 |= 1 << i;
            }
        }
        self.routes.get().map(|routes| routes.not_for(&event.payload)).unwrap_or_default()
    }

    /// Rings the bells in `rings`: call once what they were gathered for is committed.
    pub fn ring(&self, rings: Rings) {
        if rings.0 == 0 {
            return;
        }
        for (i, (_, bell)) in self.bells.get().into_iter().flatten().enumerate() {
            if rings.0 & (1 << i) != 0 {
                bell();
            }
        }
    }
}

/// Turns a sqlx error into the store's vocabulary: unique violations become a
/// `Conflict` naming the field, everything else stays an opaque backend error.
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::RowNotFound => StoreError::NotFound,
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let text = format!("{} {}", db.constraint().unwrap_or_default(), db.message());
            let field = if text.contains("email") {
                "email"
            } else if text.contains("saved_views") {
                "name"
            } else if text.contains("task_tags") {
                "tags"
            } else if text.contains("event_id") {
                "event id"
            } else {
                "id"
            };
            StoreError::Conflict { field }
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound,
        _ => StoreError::backend(e),
    }
}

/// A unit of work's feed entry: whose, its type and its data.
pub(crate) type FeedEntry = (domain::UserId, String, serde_json::Value);

/// A unit of work's feed entries, grouped by user (in user order, each
/// user's in the order they were made): each user's are numbered together.
pub(crate) fn feed_by_user(entries: Vec<FeedEntry>) -> Vec<(domain::UserId, Vec<(String, serde_json::Value)>)> {
    let mut by_user: std::collections::BTreeMap<domain::UserId, Vec<(String, serde_json::Value)>> =
        std::collections::BTreeMap::new();
    for (user, event_type, data) in entries {
        by_user.entry(user).or_default().push((event_type, data));
    }
    by_user.into_iter().collect()
}

/// Milliseconds since the epoch: how delivery schedules are stored, so both
/// databases compare them as plain integers.
pub(crate) fn millis(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_millis()
}

/// The SQL spoken to a store where the two differ (full-text search).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// A value a task list's query binds, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
    Time(chrono::DateTime<chrono::Utc>),
    Id(uuid::Uuid),
}

/// Adds a parameter after the user and the list-key range (`$1` to `$3`) and names its placeholder.
fn push(params: &mut Vec<Param>, value: Param) -> String {
    params.push(value);
    format!("${}", params.len() + 3)
}

/// The `WHERE` clause of a task list and what it binds after its first three
/// parameters (`$1` the user, `$2` and `$3` the list-key range, exclusive).
pub(crate) struct Matches {
    pub sql: String,
    pub params: Vec<Param>,
    /// The search's own clause in `sql`, when there are words (its terms are `$4`).
    search: Option<String>,
    /// Whether the search is all there is to the filter.
    only_search: bool,
}

/// A list's `Matches`. Each part of the filter adds its clause only when it
/// is set, so an unfiltered list (and its count) reads nothing but the
/// `(user_id, list_key)` index.
pub(crate) fn list_matches(filter: &domain::TaskFilter, dialect: Dialect) -> Matches {
    let mut sql = String::from("t.user_id = $1 AND t.list_key > $2 AND t.list_key < $3");
    let mut params: Vec<Param> = Vec::new();
    // The search first, so its terms are `$4`.
    let search = (!filter.terms.is_empty()).then(|| {
        // The terms are folded runs of letters and digits: nothing in them is syntax to either engine.
        match dialect {
            Dialect::Sqlite => {
                // Never the scope column: a word must not find its writer's own id.
                let query = format!("{{title body}} : ({})", fts5_query(&filter.terms));
                let p = push(&mut params, Param::Text(query));
                format!(" AND t.search_id IN ({})", fts5_hits(filter.status, &p))
            }
            Dialect::Postgres => {
                let query = filter.terms.iter().map(|t| format!("{t}:*")).collect::<Vec<_>>().join(" & ");
                let p = push(&mut params, Param::Text(query));
                format!(" AND t.search @@ {}", pg_tsquery(&p))
            }
        }
    });
    sql.push_str(search.as_deref().unwrap_or_default());
    let searched = sql.len();
    // Sets of task ids next: with the list index holding the id, these are
    // tested without reading the row, which only the later clauses need.
    for tag in &filter.tags_all {
        let p = push(&mut params, Param::Text(tag.as_str().to_owned()));
        sql.push_str(&format!(" AND t.id IN (SELECT g.task_id FROM task_tags g WHERE g.user_id = $1 AND g.tag = {p})"));
    }
    for (set, negated) in [(&filter.tags_any, ""), (&filter.tags_none, "NOT ")] {
        if !set.is_empty() {
            let list: Vec<String> = set.iter().map(|t| push(&mut params, Param::Text(t.as_str().to_owned()))).collect();
            sql.push_str(&format!(
                " AND t.id {negated}IN (SELECT g.task_id FROM task_tags g WHERE g.user_id = $1 AND g.tag IN ({}))",
                list.join(", ")
            ));
        }
    }
    if !filter.priorities.is_empty() {
        let list: Vec<String> = filter.priorities.iter().map(|p| push(&mut params, Param::Int(p.rank()))).collect();
        sql.push_str(&format!(" AND t.priority IN ({})", list.join(", ")));
    }
    match filter.due {
        None => {}
        Some(domain::task_list::DueWindow::Undated) => sql.push_str(" AND t.due_at IS NULL"),
        Some(domain::task_list::DueWindow::Between { from, to }) => {
            sql.push_str(" AND t.due_at IS NOT NULL");
            if let Some(from) = from {
                sql.push_str(&format!(" AND t.due_at >= {}", push(&mut params, Param::Time(from))));
            }
            if let Some(to) = to {
                sql.push_str(&format!(" AND t.due_at < {}", push(&mut params, Param::Time(to))));
            }
        }
    }
    match filter.recurring {
        Some(true) => sql.push_str(" AND t.series_id IS NOT NULL"),
        Some(false) => sql.push_str(" AND t.series_id IS NULL"),
        None => {}
    }
    match filter.has_reminders {
        Some(true) => sql.push_str(" AND t.reminders <> ''"),
        Some(false) => sql.push_str(" AND t.reminders = ''"),
        None => {}
    }
    let only_search = search.is_some() && sql.len() == searched;
    Matches { sql, params, search, only_search }
}

/// The search rows (each task's `search_id`) of the user's (`$1`) tasks with
/// the status that match the FTS5 query `query` (an SQL text expression). The
/// query names the scope tokens of migration 0013, so FTS5 reads this user's
/// hits only.
fn fts5_hits(status: domain::query::Status, query: &str) -> String {
    use domain::query::Status;
    let suffix = match status {
        Status::Open => "o",
        Status::Done => "d",
        Status::All => "",
    };
    format!("SELECT rowid FROM task_search WHERE task_search MATCH 'scope : u' || lower(hex($1)) || '{suffix} AND (' || {query} || ')'")
}

/// A tsquery from the text bound as `p`. List reads are planned for their
/// values (unnamed statements), so the planner folds it once and knows how
/// many rows it matches.
fn pg_tsquery(p: &str) -> String {
    format!("to_tsquery('simple', cadence_fold({p}))")
}

/// Every term as a prefix, all required.
fn fts5_query(terms: &[String]) -> String {
    terms.iter().map(|t| format!("\"{t}\"*")).collect::<Vec<_>>().join(" ")
}

/// How many rows from the top of the list a ranked first page on PostgreSQL
/// looks through for a page of title hits (`ListPlan::title_window`): about
/// 2 ms of walking, against 10 ms to sort 8,000 matches.
const TITLE_WINDOW: i64 = 2000;

/// What a list is ordered by ahead of its list key, when it is not the list's
/// own order: an expression of the row (`{a}` stands for its alias).
struct Lead {
    expr: String,
    descending: bool,
    /// For a search's rank: whether the row's title holds every term (`{a}`
    /// for its alias). The rank is 0 for those, 1 for the rest.
    title_hit: Option<String>,
    /// On SQLite, for a search's rank: whether the row is a match of rank 1,
    /// in one FTS5 query (the matches `NOT` the title hits).
    rest: Option<String>,
}

impl Lead {
    /// The lead for a filter's order; `None` for the list's own order.
    /// Ranked searches add the parameter their rank reads.
    fn of(filter: &domain::TaskFilter, dialect: Dialect, params: &mut Vec<Param>) -> Option<Self> {
        use domain::query::SortKey;
        let sort = filter.sort;
        let expr = match sort.key {
            _ if filter.ranked() => {
                // Every term in the title ranks 0, the rest 1: title hits above description hits.
                let (hit, rest) = match dialect {
                    Dialect::Sqlite => {
                        let title = format!("title : ({})", fts5_query(&filter.terms));
                        let p = push(params, Param::Text(title));
                        let rest = fts5_hits(filter.status, &format!("'(' || $4 || ') NOT (' || {p} || ')'"));
                        (
                            format!("{{a}}.search_id IN ({})", fts5_hits(filter.status, &p)),
                            Some(format!("{{a}}.search_id IN ({rest})")),
                        )
                    }
                    Dialect::Postgres => {
                        // Weight A is the title's (migration 0007).
                        let title = filter.terms.iter().map(|t| format!("{t}:*A")).collect::<Vec<_>>().join(" & ");
                        let p = push(params, Param::Text(title));
                        (format!("{{a}}.search @@ {}", pg_tsquery(&p)), None)
                    }
                };
                let expr = format!("(CASE WHEN {hit} THEN 0 ELSE 1 END)");
                return Some(Self { expr, descending: false, title_hit: Some(hit), rest });
            }
            SortKey::Due if !sort.descending => return None,
            // Undated tasks stay last either way: the smallest value, read backwards.
            SortKey::Due => match dialect {
                Dialect::Sqlite => "COALESCE({a}.due_at, '')",
                Dialect::Postgres => "COALESCE({a}.due_at, '-infinity'::timestamptz)",
            },
            SortKey::Priority => "{a}.priority",
            SortKey::Created => "{a}.created_at",
            SortKey::Updated => "{a}.updated_at",
            SortKey::Title => "lower({a}.title)",
        };
        Some(Self { expr: expr.to_owned(), descending: sort.descending, title_hit: None, rest: None })
    }

    fn on(&self, alias: &str) -> String {
        self.expr.replace("{a}", alias)
    }

    /// `compare` with the lead alone first, a bound an index can seek to
    /// (planners do not seek on a row value over an expression).
    fn seek(&self, op: &str, p: &str) -> String {
        format!(
            "{} {op}= (SELECT {} FROM tasks c WHERE c.user_id = $1 AND c.id = {p}) AND {}",
            self.on("t"),
            self.on("c"),
            self.compare(op, p)
        )
    }

    /// The row's place, compared with the place of the task `id` names (bound as `p`).
    fn compare(&self, op: &str, p: &str) -> String {
        format!(
            "({}, t.list_key) {op} (SELECT {}, c.list_key FROM tasks c WHERE c.user_id = $1 AND c.id = {p})",
            self.on("t"),
            self.on("c")
        )
    }
}

/// The two reads of a list page, built once for either backend: the rows
/// (one more than the page shows, to know whether another follows) and then
/// the count of every match and of those before the page.
///
/// In the list's own order a cursor is a list key, compared as it is. In any
/// other order the list is read by an expression and then the list key, and a
/// cursor names its row by the task id every key ends with: the row's place is
/// read afresh, so a task changed since the page was shown still anchors it.
pub(crate) struct ListPlan {
    matches: String,
    /// What `matches` binds, then what the lead binds.
    params: Vec<Param>,
    matched: usize,
    /// The search's own clause in `matches`, if any.
    search: Option<String>,
    /// On SQLite, when the filter is a search and nothing else: its hits, which count the whole list.
    search_hits: Option<String>,
    lead: Option<Lead>,
    bounds: (&'static str, &'static str),
    cursor: domain::Cursor,
    size: u32,
    dialect: Dialect,
}

/// One read: its SQL, the list-key range it binds as `$2` and `$3` after the
/// user, and the parameters after those.
pub(crate) struct ListRead {
    pub sql: String,
    pub low: String,
    pub high: String,
    pub params: Vec<Param>,
}

impl ListPlan {
    pub(crate) fn new(filter: &domain::TaskFilter, page: &domain::PageRequest, dialect: Dialect) -> Self {
        let Matches { sql: matches, mut params, search, only_search } = list_matches(filter, dialect);
        let matched = params.len();
        let search_hits = (only_search && dialect == Dialect::Sqlite).then(|| fts5_hits(filter.status, "$4"));
        let lead = Lead::of(filter, dialect, &mut params);
        let mut cursor = page.cursor.clone();
        // A cursor that names no task cannot anchor an ordered read: start from the top.
        if let (Some(_), domain::Cursor::After(key) | domain::Cursor::Before(key)) = (&lead, &page.cursor) {
            if key.task_id().is_none() {
                cursor = domain::Cursor::Start;
            }
        }
        let bounds = filter.key_bounds();
        Self { matches, params, matched, search, search_hits, lead, bounds, cursor, size: page.size, dialect }
    }

    /// `matches` without the search's own clause, for reads that test the search their own way.
    fn matches_but_search(&self) -> String {
        match &self.search {
            Some(clause) => self.matches.replacen(clause.as_str(), "", 1),
            None => self.matches.clone(),
        }
    }

    /// Whether the rows come last first (a previous page), to be reversed.
    pub(crate) fn backwards(&self) -> bool {
        matches!(self.cursor, domain::Cursor::Before(_))
    }

    /// Whether this is the first page, before which nothing comes.
    pub(crate) fn at_start(&self) -> bool {
        self.cursor == domain::Cursor::Start
    }

    /// The page's rows, selected by `columns` (aliased `t`).
    pub(crate) fn rows(&self, columns: &str) -> ListRead {
        let (lower, upper) = self.bounds;
        let mut params = self.params.clone();
        let mut matches = self.matches.clone();
        let backwards = self.backwards();
        let (low, high, order) = match &self.lead {
            None => {
                let (low, high) = match &self.cursor {
                    domain::Cursor::Start => (lower, upper),
                    domain::Cursor::After(key) => (key.as_str().max(lower), upper),
                    domain::Cursor::Before(key) => (lower, key.as_str().min(upper)),
                };
                let dir = if backwards { "DESC" } else { "ASC" };
                (low.to_owned(), high.to_owned(), format!("t.list_key {dir}"))
            }
            // PostgreSQL's planner sorts a bitmap scan of the matches faster than it walks the list twice.
            Some(Lead { title_hit: Some(hit), rest: Some(rest), .. }) => {
                return self.ranked_rows(columns, hit, rest, params)
            }
            Some(lead) => {
                let reversed = lead.descending != backwards;
                if let domain::Cursor::After(key) | domain::Cursor::Before(key) = &self.cursor {
                    let id = key.task_id().map(|id| id.0).unwrap_or_default();
                    let p = push(&mut params, Param::Id(id));
                    matches.push_str(&format!(" AND {}", lead.seek(if reversed { "<" } else { ">" }, &p)));
                }
                if self.dialect == Dialect::Sqlite {
                    // The status's key range selects most rows: a unary `+` keeps SQLite from
                    // choosing the list index for it and sorting, rather than reading the sort's index.
                    matches = matches.replacen(
                        "t.list_key > $2 AND t.list_key < $3",
                        "+t.list_key > $2 AND +t.list_key < $3",
                        1,
                    );
                }
                let dir = if reversed { "DESC" } else { "ASC" };
                let order = format!("{} {dir}, t.list_key {dir}", lead.on("t"));
                (lower.to_owned(), upper.to_owned(), order)
            }
        };
        let limit = push(&mut params, Param::Int(i64::from(self.size) + 1));
        ListRead { sql: format!("{columns} WHERE {matches} ORDER BY {order} LIMIT {limit}"), low, high, params }
    }

    /// On PostgreSQL, a ranked search's first page read from the top of the
    /// list alone: the first `TITLE_WINDOW` rows the rest of the filter
    /// selects, walked in order, and the title hits among them. Title hits
    /// rank first, so when the window holds a whole page of them (one more
    /// than the page shows) that is the page, and every match need not be
    /// read and sorted; the caller falls back to `rows` otherwise. The
    /// planner cannot make that choice itself: it estimates a prefix query
    /// it has no statistics for as common, and walks the whole list for a
    /// word that is not in it.
    pub(crate) fn title_window(&self, columns: &str) -> Option<ListRead> {
        let (Dialect::Postgres, true, Some(Lead { title_hit: Some(hit), .. })) =
            (self.dialect, self.at_start(), &self.lead)
        else {
            return None;
        };
        let (lower, upper) = self.bounds;
        let base = self.matches_but_search();
        let mut params = self.params.clone();
        let window = push(&mut params, Param::Int(TITLE_WINDOW));
        let limit = push(&mut params, Param::Int(i64::from(self.size) + 1));
        let sql = format!(
            "{columns} JOIN (SELECT w.id, w.list_key FROM (SELECT t.id, t.list_key, t.search FROM tasks t \
             WHERE {base} ORDER BY t.list_key LIMIT {window}) w WHERE {} ORDER BY w.list_key LIMIT {limit}) f \
             ON f.id = t.id WHERE t.user_id = $1 ORDER BY f.list_key",
            hit.replace("{a}", "w")
        );
        Some(ListRead { sql, low: lower.to_owned(), high: upper.to_owned(), params })
    }

    /// On PostgreSQL, a ranked search's first page and the count of every
    /// match in one statement: the matches (`m`, which `columns` may count)
    /// are read once for both the sort and the count, where two statements
    /// would each search the index, about 2 ms per prefix term. The count is
    /// exact; the caller caps it as `count` would.
    pub(crate) fn ranked_with_count(&self, columns: &str) -> Option<ListRead> {
        let (Dialect::Postgres, true, Some(lead @ Lead { title_hit: Some(_), .. })) =
            (self.dialect, self.at_start(), &self.lead)
        else {
            return None;
        };
        let (lower, upper) = self.bounds;
        let mut params = self.params.clone();
        let limit = push(&mut params, Param::Int(i64::from(self.size) + 1));
        let sql = format!(
            "WITH m AS MATERIALIZED (SELECT t.id, t.list_key, {} AS rnk FROM tasks t WHERE {}) \
             {columns} JOIN (SELECT m.id, m.rnk, m.list_key FROM m ORDER BY m.rnk, m.list_key LIMIT {limit}) p \
             ON p.id = t.id WHERE t.user_id = $1 ORDER BY p.rnk, p.list_key",
            lead.on("t"),
            self.matches
        );
        Some(ListRead { sql, low: lower.to_owned(), high: upper.to_owned(), params })
    }

    /// A ranked search's page on SQLite in two ordered reads that each stop at a page:
    /// the title hits in the list's order, then the rest, joined by rank. Each
    /// walks the list index only until it has a page, where one sort of every
    /// match would read them all, and each tests its rows against one FTS5 hit
    /// list of its own (the title hits; the matches `NOT` those). A cursor's rank is read once: a group the
    /// cursor is past yields nothing, the cursor's own group starts after it.
    fn ranked_rows(&self, columns: &str, hit: &str, rest: &str, mut params: Vec<Param>) -> ListRead {
        let (lower, upper) = self.bounds;
        let backwards = self.backwards();
        let (first_rank, dir, past) = if backwards { (1, "DESC", "<") } else { (0, "ASC", ">") };
        // Each group's own hits stand for the search's: the title hits, and the matches that are not.
        let base = self.matches_but_search();
        let mut groups =
            [(0, format!(" AND {}", hit.replace("{a}", "t"))), (1, format!(" AND {}", rest.replace("{a}", "t")))];
        if let domain::Cursor::After(key) | domain::Cursor::Before(key) = &self.cursor {
            let id = push(&mut params, Param::Id(key.task_id().map(|id| id.0).unwrap_or_default()));
            let of_cursor = |what: &str| format!("(SELECT {what} FROM tasks c WHERE c.user_id = $1 AND c.id = {id})");
            let (rank, key) = (
                of_cursor(&format!("CASE WHEN {} THEN 0 ELSE 1 END", hit.replace("{a}", "c"))),
                of_cursor("c.list_key"),
            );
            for (group, clause) in &mut groups {
                if *group == first_rank {
                    // The cursor's group, read first: only when the cursor is in it, after it.
                    clause.push_str(&format!(" AND {rank} = {group} AND t.list_key {past} {key}"));
                } else {
                    // Read second: whole when the cursor was in the first group, else after it.
                    clause.push_str(&format!(" AND ({rank} = {first_rank} OR t.list_key {past} {key})"));
                }
            }
        }
        let limit = push(&mut params, Param::Int(i64::from(self.size) + 1));
        let read = |(group, clause): &(i32, String)| {
            format!(
                "SELECT * FROM (SELECT t.id AS rid, {group} AS rnk, t.list_key AS lk FROM tasks t WHERE {base}{clause} \
                 ORDER BY t.list_key {dir} LIMIT {limit}) g{group}"
            )
        };
        let sql = format!(
            "{columns} JOIN (SELECT * FROM ({} UNION ALL {}) ranked ORDER BY rnk {dir}, lk {dir} LIMIT {limit}) r \
             ON r.rid = t.id WHERE t.user_id = $1 ORDER BY r.rnk {dir}, r.lk {dir}",
            read(&groups[0]),
            read(&groups[1])
        );
        ListRead { sql, low: lower.to_owned(), high: upper.to_owned(), params }
    }

    /// Every match, and how many come before the page's `first` row (all of
    /// them when the page is empty): `SELECT total, before`, each counted to
    /// one past `COUNT_CAP` at most.
    pub(crate) fn count(&self, first: Option<&domain::TaskSummary>) -> ListRead {
        let (lower, upper) = self.bounds;
        // Only what the statement names: a statement is prepared once per text, with its parameters.
        let mut params = self.params[..self.matched].to_vec();
        let before = match (&self.lead, first) {
            // Nothing before the first page, nor before an empty previous page.
            _ if self.at_start() || (first.is_none() && self.backwards()) => None,
            (_, None) => Some("1 = 1".to_owned()),
            (None, Some(first)) => {
                let p = push(&mut params, Param::Text(first.list_key().as_str().to_owned()));
                Some(format!("t.list_key < {p}"))
            }
            (Some(lead), Some(first)) => {
                params = self.params.clone();
                let p = push(&mut params, Param::Id(first.id.0));
                Some(lead.compare(if lead.descending { ">" } else { "<" }, &p))
            }
        };
        // Each count stops one past the cap: a list's place beyond it is "more than", not a number
        // worth reading every match for.
        let capped = |extra: &str| {
            format!(
                "(SELECT COUNT(*) FROM (SELECT 1 FROM tasks t WHERE {}{extra} LIMIT {}) capped)",
                self.matches,
                domain::task_list::COUNT_CAP + 1
            )
        };
        // FTS5 counts a plain search's hits from its own index, scoped to the user and status.
        let total = match &self.search_hits {
            Some(hits) => format!(
                "(SELECT COUNT(*) FROM (SELECT 1 FROM ({hits}) h LIMIT {}) capped)",
                domain::task_list::COUNT_CAP + 1
            ),
            None => capped(""),
        };
        let before_sql = match before {
            None if self.dialect == Dialect::Postgres => "0::BIGINT".to_owned(),
            None => "0".to_owned(),
            Some(cond) => capped(&format!(" AND {cond}")),
        };
        ListRead { sql: format!("SELECT {total}, {before_sql}"), low: lower.to_owned(), high: upper.to_owned(), params }
    }
}

/// Binds what a list read numbered after its first three parameters.
pub(crate) fn bind_params<'q, DB, O>(
    mut query: sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>,
    params: &'q [Param],
) -> sqlx::query::QueryAs<'q, DB, O, <DB as sqlx::Database>::Arguments<'q>>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    chrono::DateTime<chrono::Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    uuid::Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    for param in params {
        query = match param {
            Param::Int(n) => query.bind(*n),
            Param::Text(text) => query.bind(text.as_str()),
            Param::Time(at) => query.bind(*at),
            Param::Id(id) => query.bind(*id),
        };
    }
    query
}

/// A user's distinct tags in order, one index probe per tag (a "loose index
/// scan"), rather than reading every tag of every task to drop the repeats.
pub(crate) const DISTINCT_TAGS: &str = "WITH RECURSIVE seen(tag) AS ( \
         SELECT MIN(tag) FROM task_tags WHERE user_id = $1 \
         UNION ALL \
         SELECT (SELECT MIN(g.tag) FROM task_tags g WHERE g.user_id = $1 AND g.tag > seen.tag) \
         FROM seen WHERE seen.tag IS NOT NULL) \
     SELECT tag FROM seen WHERE tag IS NOT NULL";

/// The subscriber whose open deliveries the activity log reads as well.
pub(crate) const AUDIT_SUBSCRIBER: &str = crate::spine::consumers::AuditLogger::NAME;

/// The user's events the audit consumer has not recorded yet, from the outbox:
/// joined with what it has, the activity log shows every committed change at
/// once (read-your-writes), though the log itself is kept asynchronously.
pub(crate) const UNRECORDED_EVENTS: &str = "SELECT o.payload FROM outbox_deliveries d JOIN outbox o ON o.seq = d.seq \
     WHERE d.subscriber = $1 AND d.done_at IS NULL AND o.user_id = $2";

/// Joins recorded entries with events not recorded yet: one entry per event,
/// newest first, only one task's when `task` is given, only those after
/// `after`, at most `limit`. `as_stored` gives an event's instant as the log
/// keeps it, so an entry is ordered and paged the same before and after it
/// is recorded.
pub(crate) fn merge_activity(
    mut entries: Vec<domain::event::AuditEntry>,
    unrecorded: impl IntoIterator<Item = serde_json::Value>,
    task: Option<domain::TaskId>,
    after: Option<domain::event::ActivityCursor>,
    limit: u32,
    as_stored: impl Fn(chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc>,
) -> Vec<domain::event::AuditEntry> {
    for value in unrecorded {
        // An event that cannot be read is a dead letter's business, not the page's.
        let Ok(event) = domain::EventEnvelope::decode(&value) else { continue };
        if !event.payload.is_audited() || (task.is_some() && event.task_id != task) {
            continue;
        }
        let mut entry = domain::event::AuditEntry::from_envelope(&event);
        entry.occurred_at = as_stored(entry.occurred_at);
        if after.is_some_and(|cursor| !cursor.precedes(&entry)) {
            continue;
        }
        if !entries.iter().any(|e| e.event_id == entry.event_id) {
            entries.push(entry);
        }
    }
    entries.sort_by(|a, b| b.occurred_at.cmp(&a.occurred_at).then(b.event_id.cmp(&a.event_id)));
    entries.truncate(limit as usize);
    entries
}

/// Decodes a query's rows into domain values, failing on the first that does not parse.
pub(crate) fn decode_all<R, T>(
    rows: Vec<R>,
    decode: impl Fn(R) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.into_iter().map(decode).collect()
}

/// What a pool holds now, for the metrics.
pub(crate) fn usage<DB: sqlx::Database>(name: &'static str, pool: &sqlx::Pool<DB>) -> domain::ports::PoolUsage {
    let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
    domain::ports::PoolUsage { name, open: pool.size(), idle, max: pool.options().get_max_connections() }
}
