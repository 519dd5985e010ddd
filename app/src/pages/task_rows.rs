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
fn escape(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// One `<li>` per row: a toggle form that works without JavaScript, then the
/// task's title, priority, due date and tags.
pub fn rows_html(rows: &[TaskRow]) -> String {
    let mut out = String::with_capacity(rows.len() * 640);
    for row in rows {
        write_row(&mut out, row);
    }
    out
}

fn write_row(out: &mut String, row: &TaskRow) {
    let pressing = row.priority != Priority::None;
    out.push_str("<li class=\"task\"");
    if pressing {
        // Priorities are fixed words; nothing to escape.
        let _ = write!(out, " data-priority=\"{}\"", row.priority.as_str());
    }
    let _ = write!(out, "><form method=\"post\" action=\"{}\" class=\"toggle-form\">", SetCompleted::PATH);
    out.push_str("<input type=\"hidden\" name=\"id\" value=\"");
    escape(out, &row.id);
    let _ = write!(
        out,
        "\"><input type=\"hidden\" name=\"completed\" value=\"{}\"><button type=\"submit\" class=\"check\" \
         aria-pressed=\"{}\" aria-label=\"Done: ",
        !row.completed, row.completed
    );
    escape(out, &row.title);
    out.push_str("\">\u{2713}</button></form><div class=\"task-main\"><a class=\"task-title\" href=\"/tasks/");
    escape(out, &row.id);
    out.push_str("\">");
    escape(out, &row.title);
    out.push_str("</a><div class=\"task-meta\">");
    if pressing {
        let _ = write!(out, "<span class=\"badge priority-{}\">{}</span>", row.priority.as_str(), row.priority.label());
    }
    if let Some(due) = &row.due_label {
        out.push_str(if row.overdue { "<span class=\"due overdue\">Overdue · " } else { "<span class=\"due\">" });
        escape(out, due);
        out.push_str("</span>");
    }
    for tag in &row.tags {
        out.push_str("<a class=\"tag\" href=\"/tasks?tag=");
        escape(out, tag);
        out.push_str("\">#");
        escape(out, tag);
        out.push_str("</a>");
    }
    out.push_str("</div></div></li>");
}

#[cfg(test)]
mod tests {
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
        }
    }

    #[test]
    fn every_value_is_escaped_in_text_and_in_attributes() {
        let html = rows_html(&[row("</li><script>alert('x')</script> & \"q\"")]);
        assert!(!html.contains("<script>") && !html.contains("</li><"), "{html}");
        assert!(html.contains(
            "aria-label=\"Done: &lt;/li&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;\""
        ));
        assert!(html.contains("href=\"/tasks?tag=&quot;&gt;&lt;b&gt;\">#&quot;&gt;&lt;b&gt;</a>"), "{html}");
    }

    #[test]
    fn a_row_has_its_toggle_form_title_link_and_facts() {
        let html = rows_html(&[row("Buy milk")]);
        assert!(html.starts_with(
            "<li class=\"task\" data-priority=\"high\"><form method=\"post\" action=\"/api/set_completed\""
        ));
        assert!(html.contains("name=\"completed\" value=\"true\"") && html.contains("aria-pressed=\"false\""));
        assert!(
            html.contains("<a class=\"task-title\" href=\"/tasks/0193a5c4-0000-7000-8000-000000000001\">Buy milk</a>")
        );
        assert!(html.contains("<span class=\"due overdue\">Overdue · Mon 30 Mar 2026</span>"));
        assert!(html.ends_with("</div></div></li>"));
        let plain = TaskRow { priority: Priority::None, due_label: None, tags: Vec::new(), ..row("Plain") };
        let html = rows_html(&[plain]);
        assert!(html.starts_with("<li class=\"task\"><form"), "no priority attribute for no priority: {html}");
        assert!(html.contains("<div class=\"task-meta\"></div>"));
    }
}
