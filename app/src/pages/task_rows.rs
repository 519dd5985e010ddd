//! The task list's rows, written straight to HTML. The list is the page people
//! look at most; built through the view tree, its fifty rows took a third of
//! the server's time per page (see the README's profile), so they are written
//! here with one escaping function for every value, text and attribute alike.
//! The quick-add server function renders the rows it adds with the same code.

use std::fmt::Write as _;

use domain::Priority;
use server_fn::ServerFn as _;

use crate::api::{SetCompleted, TaskRow};

/// Appends `s` escaped for HTML text and for double- or single-quoted attribute values.
/// Runs without special characters are copied whole (the profile of the list
/// page showed a per-character push here among its hottest symbols).
fn escape(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        // The five are ASCII, never part of a multi-byte character, so `i` is a boundary.
        out.push_str(&s[start..i]);
        out.push_str(entity);
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// One `<li>` per row: a toggle form that works without JavaScript, then the
/// task's title, priority, due date and tags.
pub fn rows_html(rows: &[TaskRow]) -> String {
    rows_html_marked(rows, &[])
}

/// `rows_html` with the start of each word a search matched marked in the titles.
pub fn rows_html_marked(rows: &[TaskRow], terms: &[String]) -> String {
    let mut out = String::with_capacity(rows.len() * 640);
    for row in rows {
        write_row(&mut out, row, terms);
    }
    out
}

/// The title, escaped, with `<mark>` around what the search matched.
fn write_title(out: &mut String, title: &str, terms: &[String]) {
    let mut at = 0;
    for range in domain::task_list::highlights(title, terms) {
        escape(out, &title[at..range.start]);
        out.push_str("<mark>");
        escape(out, &title[range.clone()]);
        out.push_str("</mark>");
        at = range.end;
    }
    escape(out, &title[at..]);
}

fn write_row(out: &mut String, row: &TaskRow, terms: &[String]) {
    let pressing = row.priority != Priority::None;
    out.push_str("<li class=\"task\"");
    if pressing {
        // Priorities are fixed words; nothing to escape.
        let _ = write!(out, " data-priority=\"{}\"", row.priority.as_str());
    }
    // The selection box belongs to the bulk bar's form (`form=`), outside the row:
    // forms cannot nest, and the row has its own.
    out.push_str("><input type=\"checkbox\" class=\"select\" form=\"bulk-form\" name=\"ids[]\" value=\"");
    escape(out, &row.id);
    out.push_str("\" aria-label=\"Select: ");
    escape(out, &row.title);
    // The button carries what it asks for: a browser posts the submitter's
    // name and value with the form, so no hidden field is needed for it.
    let _ = write!(
        out,
        "\"><form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"id\" value=\"",
        SetCompleted::PATH
    );
    escape(out, &row.id);
    let _ = write!(
        out,
        "\"><button class=\"check\" name=\"completed\" value=\"{}\" aria-pressed=\"{}\" aria-label=\"Done: ",
        !row.completed, row.completed
    );
    escape(out, &row.title);
    // Classless inside the row, styled by position (`.task > div > a`, `.task p`):
    // on a page of fifty rows every repeated attribute costs kilobytes.
    out.push_str("\">\u{2713}</button></form><div><a href=\"/tasks/");
    escape(out, &row.id);
    out.push_str("\">");
    write_title(out, &row.title, terms);
    out.push_str("</a>");
    if !pressing && row.due_label.is_none() && row.tags.is_empty() && !row.recurring {
        out.push_str("</div></li>");
        return;
    }
    out.push_str("<p>");
    if pressing {
        let _ = write!(out, "<span class=\"badge\">{}</span>", row.priority.label());
    }
    if row.recurring {
        out.push_str("<span class=\"repeat\" title=\"Repeats\">\u{21bb} Repeats</span>");
    }
    if let Some(due) = &row.due_label {
        out.push_str(if row.overdue { "<span class=\"overdue\">Overdue · " } else { "<span>" });
        escape(out, due);
        out.push_str("</span>");
    }
    for tag in &row.tags {
        out.push_str("<a href=\"/tasks?tag=");
        escape(out, tag);
        out.push('"');
        // Only a coloured chip carries the attribute; the stylesheet maps each
        // palette name to its colour. A closed set of words, escaped all the same.
        if let Some(colour) = row.colours.get(tag) {
            out.push_str(" data-colour=\"");
            escape(out, colour.as_str());
            out.push('"');
        }
        out.push_str(">#");
        escape(out, tag);
        out.push_str("</a>");
    }
    out.push_str("</p></div></li>");
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use domain::tag::TagColour;

    use super::*;

    fn row(title: &str) -> TaskRow {
        TaskRow {
            id: "0193a5c4-0000-7000-8000-000000000001".into(),
            title: title.into(),
            completed: false,
            priority: Priority::High,
            due_label: Some("Mon 30 Mar 2026".into()),
            overdue: true,
            tags: vec!["work".into(), "\"><b>".into()],
            colours: BTreeMap::new(),
            recurring: false,
        }
    }

    #[test]
    fn every_value_is_escaped_in_text_and_in_attributes() {
        let html = rows_html(&[row("</li><script>alert('x')</script> & \"q\" é✓")]);
        assert!(!html.contains("<script>") && !html.contains("</li><"), "{html}");
        assert!(html.contains(
            "aria-label=\"Done: &lt;/li&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot; é✓\""
        ));
        assert!(html.contains("aria-label=\"Select: &lt;/li&gt;&lt;script&gt;"), "{html}");
        assert!(html.contains("href=\"/tasks?tag=&quot;&gt;&lt;b&gt;\">#&quot;&gt;&lt;b&gt;</a>"), "{html}");
    }

    #[test]
    fn search_matches_are_marked_in_titles_and_stay_escaped() {
        let html = rows_html_marked(&[row("<b>Crème</b> & crème")], &["creme".to_owned()]);
        assert!(html.contains("\">&lt;b&gt;<mark>Crème</mark>&lt;/b&gt; &amp; <mark>crème</mark></a>"), "{html}");
        assert!(html.contains("aria-label=\"Done: &lt;b&gt;Crème&lt;/b&gt; &amp; crème\""), "labels stay plain text");
    }

    #[test]
    fn a_row_has_its_toggle_form_title_link_and_facts() {
        let html = rows_html(&[row("Buy milk")]);
        assert!(html.starts_with(
            "<li class=\"task\" data-priority=\"high\"><input type=\"checkbox\" class=\"select\" form=\"bulk-form\" \
             name=\"ids[]\" value=\"0193a5c4-0000-7000-8000-000000000001\" aria-label=\"Select: Buy milk\"><form \
             method=\"post\" action=\"/api/set_completed\">"
        ));
        assert!(html.contains("<button class=\"check\" name=\"completed\" value=\"true\" aria-pressed=\"false\""));
        assert!(html.contains("<div><a href=\"/tasks/0193a5c4-0000-7000-8000-000000000001\">Buy milk</a>"));
        assert!(html
            .contains("<p><span class=\"badge\">High</span><span class=\"overdue\">Overdue · Mon 30 Mar 2026</span>"));
        assert!(html.ends_with("</p></div></li>"));
        let plain = TaskRow { priority: Priority::None, due_label: None, tags: Vec::new(), ..row("Plain") };
        let html = rows_html(&[plain]);
        assert!(html.starts_with("<li class=\"task\"><input"), "no priority attribute for no priority: {html}");
        assert!(html.ends_with("Plain</a></div></li>"), "no facts, no paragraph for them: {html}");
    }

    #[test]
    fn a_coloured_tags_chip_carries_its_palette_name_and_an_uncoloured_one_no_attribute() {
        let colours = BTreeMap::from([("work".to_owned(), TagColour::Teal)]);
        let tags = vec!["home".to_owned(), "work".to_owned()];
        let html = rows_html(&[TaskRow { tags, colours, ..row("Plan") }]);
        assert!(
            html.contains(
                "<a href=\"/tasks?tag=home\">#home</a><a href=\"/tasks?tag=work\" data-colour=\"teal\">#work</a>"
            ),
            "{html}"
        );
        assert_eq!(html.matches("data-colour").count(), 1, "only the coloured tag: {html}");
        assert!(!rows_html(&[row("Plain")]).contains("data-colour"), "no colours, no attributes");
    }

    #[test]
    fn a_repeating_task_shows_its_repeat_badge() {
        let repeating = TaskRow { recurring: true, ..row("Water plants") };
        assert!(rows_html(&[repeating]).contains("<span class=\"repeat\" title=\"Repeats\">\u{21bb} Repeats</span>"));
        assert!(!rows_html(&[row("Once")]).contains("class=\"repeat\""));
    }
}
