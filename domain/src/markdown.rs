//! Safe Markdown rendering for task descriptions: raw HTML is shown as text and
//! only http, https and mailto links survive, so user text can never inject script.

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag as MdTag};

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("mailto:")
        || !lower.contains(':')
}

/// Renders Markdown to HTML that is safe to insert into a page.
pub fn render(source: &str) -> String {
    let parser =
        Parser::new_ext(source, Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS).map(|event| match event {
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            Event::Start(MdTag::Link { link_type, dest_url, title, id }) if !safe_url(&dest_url) => {
                Event::Start(MdTag::Link { link_type, dest_url: CowStr::from("#"), title, id })
            }
            Event::Start(MdTag::Image { dest_url, .. }) => Event::Text(dest_url),
            Event::End(pulldown_cmark::TagEnd::Image) => Event::Text(CowStr::from("")),
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
