//! Safe Markdown rendering for task descriptions: raw HTML is shown as text,
//! images are not loaded, and only http, https and mailto links and paths on
//! this site survive, each marked as user content, so that user text can
//! never inject script or pass for a link of ours.

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag as MdTag, TagEnd};
use pulldown_cmark_escape::{escape_href, escape_html};

/// What every link in user content says about itself: not endorsed, not
/// given a handle on this page, not told where it was followed from.
const LINK_REL: &str = "nofollow ugc noopener noreferrer";

/// Whether a link target may be kept: an absolute http(s) or mailto URL, or a
/// path on this site. `//host/…` and `\\host` look like paths but lead to
/// another site, so they are refused like any other scheme.
fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:") {
        return true;
    }
    let leaves_the_site = lower.starts_with("//") || lower.starts_with("/\\") || lower.starts_with('\\');
    !leaves_the_site && !lower.contains(':') && !lower.chars().any(char::is_control)
}

fn open_link(dest: &str, title: &str) -> String {
    let mut tag = String::from("<a href=\"");
    if safe_url(dest) {
        // Writing to a String cannot fail.
        let _ = escape_href(&mut tag, dest);
    } else {
        tag.push('#');
    }
    tag.push_str("\" rel=\"");
    tag.push_str(LINK_REL);
    tag.push('"');
    if !title.is_empty() {
        tag.push_str(" title=\"");
        let _ = escape_html(&mut tag, title);
        tag.push('"');
    }
    tag.push('>');
    tag
}

/// Renders Markdown to HTML that is safe to insert into a page.
pub fn render(source: &str) -> String {
    let parser =
        Parser::new_ext(source, Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS).map(|event| match event {
            // Raw HTML in the source is text; the only markup is what we write here.
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            Event::Start(MdTag::Link { dest_url, title, .. }) => Event::InlineHtml(open_link(&dest_url, &title).into()),
            Event::End(TagEnd::Link) => Event::InlineHtml(CowStr::from("</a>")),
            Event::Start(MdTag::Image { dest_url, .. }) => Event::Text(dest_url),
            Event::End(TagEnd::Image) => Event::Text(CowStr::from("")),
            other => other,
        });
    let mut out = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut out, parser);
    out
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn raw_html_is_escaped_not_rendered() {
        let out = render("hello <script>alert(1)</script>");
        assert!(!out.contains("<script>"), "{out}");
        assert!(out.contains("&lt;script&gt;"), "{out}");
    }

    #[test]
    fn javascript_links_are_neutralised() {
        let out = render("[click](javascript:alert(1))");
        assert!(!out.contains("javascript:"), "{out}");
        assert!(out.contains("href=\"#\""), "{out}");
    }

    #[test]
    fn protocol_relative_and_backslash_links_do_not_lead_to_another_site() {
        for target in ["//evil.example/x", "/\\evil.example", "\\\\evil.example", " //evil.example"] {
            let out = render(&format!("[x](<{target}>)"));
            assert!(!out.contains("evil.example\""), "{target}: {out}");
            assert!(out.contains("href=\"#\""), "{target}: {out}");
        }
        assert!(render("[ok](/tasks?tag=work)").contains("href=\"/tasks?tag=work\""));
    }

    #[test]
    fn links_are_marked_as_user_content() {
        let out = render("[site](https://example.com \"a \\\"title\\\"\")");
        assert!(out.contains("href=\"https://example.com\""), "{out}");
        assert!(out.contains("rel=\"nofollow ugc noopener noreferrer\""), "{out}");
        assert!(out.contains("title=\"a &quot;title&quot;\""), "{out}");
        let auto = render("<https://example.com/a?b=1&c=2>");
        assert!(auto.contains("rel=\"nofollow ugc noopener noreferrer\""), "{auto}");
        assert!(auto.contains("href=\"https://example.com/a?b=1&amp;c=2\""), "{auto}");
    }

    #[test]
    fn ordinary_markdown_renders() {
        let out = render("**bold** and [site](https://example.com)");
        assert!(out.contains("<strong>bold</strong>"));
        assert!(out.contains("href=\"https://example.com\""));
    }

    #[test]
    fn images_are_not_loaded() {
        let out = render("![x](https://tracker.example/p.gif)");
        assert!(!out.contains("<img"), "{out}");
    }
}
