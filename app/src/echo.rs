//! What a form posted without JavaScript sent, so that a page shown again with
//! an error keeps what the user typed. The server puts a [`FormEcho`] in the
//! request's extensions when it renders such a page; the page reads it here.

/// The fields of a failed form post, secrets left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormEcho {
    /// The server function the form posted to, e.g. `/api/create_task`.
    pub action: String,
    fields: Vec<(String, String)>,
}

impl FormEcho {
    /// Keeps every field but passwords: those are never written back into a page.
    pub fn new(action: impl Into<String>, fields: impl IntoIterator<Item = (String, String)>) -> Self {
        let fields = fields.into_iter().filter(|(name, _)| !name.contains("password")).collect();
        Self { action: action.into(), fields }
    }

    /// The value the user sent for `name`, or an empty string when the form had no such field.
    pub fn value(&self, name: &str) -> String {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }
}

/// What the user typed into `name` when the form is shown again after an
/// error; otherwise what the page would show anyway (`stored`).
pub fn typed_or(echo: Option<&FormEcho>, name: &str, stored: impl FnOnce() -> String) -> String {
    echo.map_or_else(stored, |e| e.value(name))
}

/// The echo of a failed post to the server function at `action`, when this
/// page is being shown again because of one.
pub fn echoed(action: &str) -> Option<FormEcho> {
    #[cfg(feature = "ssr")]
    {
        use leptos::prelude::use_context;
        use_context::<http::request::Parts>()?.extensions.get::<FormEcho>().filter(|e| e.action == action).cloned()
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = action;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn passwords_are_never_echoed() {
        let echo = FormEcho::new(
            "/api/change_password",
            pairs(&[("password", "a"), ("current_password", "b"), ("new_password", "c"), ("email", "me@x.org")]),
        );
        assert_eq!(echo.value("password"), "");
        assert_eq!(echo.value("current_password"), "");
        assert_eq!(echo.value("new_password"), "");
        assert_eq!(echo.value("email"), "me@x.org");
    }

    #[test]
    fn a_field_the_form_did_not_send_reads_as_empty() {
        let echo = FormEcho::new("/api/create_task", pairs(&[("title", "Buy milk")]));
        assert_eq!((echo.value("title").as_str(), echo.value("tags").as_str()), ("Buy milk", ""));
    }

    #[test]
    fn a_form_shown_again_keeps_what_was_typed_even_when_it_was_emptied() {
        let echo = FormEcho::new("/api/update_profile", pairs(&[("display_name", "")]));
        assert_eq!(typed_or(Some(&echo), "display_name", || "Stored".to_owned()), "");
        assert_eq!(typed_or(None, "display_name", || "Stored".to_owned()), "Stored");
    }
}
