//! Search as you type: the header's few best matches for what is typed so
//! far, read exactly as the list reads its `q` (so "See all" shows the same
//! tasks), with the matched words marked here on the server: folding accents
//! needs Unicode's decomposition tables, which stay out of the WASM.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// How many matches the header shows; the rest are a "See all" away.
pub const SUGGESTIONS: usize = 8;

/// One match: the task and its title cut into runs, each marked or not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    pub id: String,
    pub title: Vec<(String, bool)>,
}

/// The first matches of a search and how many there are in all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestions {
    pub items: Vec<Suggestion>,
    pub total: u64,
    /// Whether `total` is exact (past the list's count cap it says "more than").
    pub total_exact: bool,
}

/// `title` in runs, with the words the search `terms` matched marked.
pub fn marked_title(title: &str, terms: &[String]) -> Vec<(String, bool)> {
    let mut runs = Vec::new();
    let mut at = 0;
    for range in domain::task_list::highlights(title, terms) {
        if range.start > at {
            runs.push((title[at..range.start].to_owned(), false));
        }
        runs.push((title[range.clone()].to_owned(), true));
        at = range.end;
    }
    if at < title.len() || runs.is_empty() {
        runs.push((title[at..].to_owned(), false));
    }
    runs
}

#[server(endpoint = "search_tasks")]
pub async fn search_tasks(q: String) -> Result<Suggestions, AppError> {
    // The list's own read (its filters, order, count cap and cache), first page.
    let e = String::new;
    let list = super::list_tasks(e(), e(), e(), e(), e(), q.clone(), e()).await?;
    let (query, _) = super::list_query(&q, "");
    let terms = domain::task_list::search_terms(&query.words);
    let items = list
        .rows
        .into_iter()
        .take(SUGGESTIONS)
        .map(|row| Suggestion { title: marked_title(&row.title, &terms), id: row.id })
        .collect();
    Ok(Suggestions { items, total: list.total, total_exact: list.total_exact })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(q: &str) -> Vec<String> {
        domain::task_list::search_terms(&domain::query::TaskQuery::parse_lenient(q).0.words)
    }

    #[test]
    fn marks_the_start_of_each_matching_word() {
        let runs = marked_title("Pay the rental fee", &terms("rent pa"));
        let want = [("Pa", true), ("y the ", false), ("rent", true), ("al fee", false)];
        assert_eq!(runs, want.map(|(t, m)| (t.to_owned(), m)));
    }

    #[test]
    fn folds_accents_as_the_stores_do() {
        let runs = marked_title("Crème brûlée", &terms("creme #dessert"));
        assert_eq!(runs, vec![("Crème".to_owned(), true), (" brûlée".to_owned(), false)]);
    }

    #[test]
    fn a_title_without_a_match_is_one_plain_run() {
        assert_eq!(marked_title("Call mum", &terms("is:overdue")), vec![("Call mum".to_owned(), false)]);
    }
}
