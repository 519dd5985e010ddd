//! The REST API's OpenAPI 3.1 document and its reference page. The document
//! is assembled from the handlers' `#[utoipa::path]` annotations as their
//! routers are merged (`api::operations`), so it describes what is routed;
//! it is served at `/api/v1/openapi.json`, and `/api/v1/docs` renders it on
//! the server as plain HTML with a stylesheet of its own: no script and
//! nothing from another site, so it works offline and under the app's
//! Content-Security-Policy.

use std::fmt::Write as _;
use std::sync::Arc;

use app::auth::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::Value;
use utoipa::openapi::schema::SchemaType;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, Object, ObjectBuilder, OpenApi, OpenApiBuilder, Type};

/// The name of the one security scheme, as operations require it:
/// `security(("bearer" = ["read"]))`.
pub const BEARER: &str = "bearer";

const DESCRIPTION: &str = "Cadence's tasks for scripts and other apps. Every request carries a personal \
access token, made in Settings → API tokens, as `Authorization: Bearer cad_…`; a token may read, or read and \
write. Bodies are JSON, and every error is an RFC 9457 problem (`application/problem+json`) whose `type` \
names its kind; a 422 names each field that is wrong in `errors`.

Every answer that shows one task carries its `ETag`: send it back as `If-Match` so a change or delete \
applies only to the version you read, or as `If-None-Match` to be told it has not changed.";

/// The document every resource's operations are merged into: its info and
/// the bearer scheme.
pub fn document() -> OpenApi {
    let bearer = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("cad_…")
        .description(Some(
            "A personal access token from Settings → API tokens: `cad_` and 43 letters and digits. \
             Its scopes are `read`, or `read` and `write`; each operation names the one it needs, \
             and a read-only token asked to change something gets a 403 `insufficient_scope`.",
        ))
        .build();
    OpenApiBuilder::new()
        .info(InfoBuilder::new().title("Cadence API").version("1").description(Some(DESCRIPTION)).build())
        .components(Some(ComponentsBuilder::new().security_scheme(BEARER, SecurityScheme::Http(bearer)).build()))
        .build()
}

/// The document a resource's router starts from: only its tag, so the
/// reference page groups its operations under a heading that says what
/// they are for.
pub fn resource(tag: &str, description: &str) -> OpenApi {
    OpenApiBuilder::new().tags(Some([TagBuilder::new().name(tag).description(Some(description)).build()])).build()
}

/// A string field that takes one of a few names (`schema_with` needs a
/// function of no arguments, so each such field has a small one calling this).
pub fn one_of(description: &str, names: &[&str], nullable: bool) -> Object {
    let (kind, mut values) = if nullable {
        (SchemaType::Array(vec![Type::String, Type::Null]), vec![Value::Null])
    } else {
        (SchemaType::Type(Type::String), Vec::new())
    };
    values.splice(0..0, names.iter().map(|n| Value::from(*n)));
    ObjectBuilder::new().schema_type(kind).enum_values(Some(values)).description(Some(description)).build()
}

/// The document as served, and as the page reads it.
struct Published {
    json: String,
    document: Value,
}

/// `GET /api/v1/openapi.json`, `GET /api/v1/docs` and its stylesheet. None
/// needs a token: they say what the API is, not what anyone has.
pub fn routes(document: &OpenApi) -> Router {
    let json = document.to_json().expect("an OpenAPI document serialises");
    let document = serde_json::from_str(&json).expect("the document reads back");
    Router::new()
        .route("/api/v1/openapi.json", get(openapi_json))
        .route("/api/v1/docs", get(docs))
        .with_state(Arc::new(Published { json, document }))
        .route("/api/v1/docs.css", get(stylesheet))
}

async fn openapi_json(State(published): State<Arc<Published>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], published.json.clone())
}

async fn docs(
    State(published): State<Arc<Published>>,
    state: Option<Extension<AppState>>,
    headers: HeaderMap,
) -> Html<String> {
    // The curl examples name this server as its users reach it.
    let configured = state.and_then(|Extension(s)| s.public_origin.clone());
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(|h| format!("http://{h}"));
    let origin = configured.or(host).unwrap_or_else(|| "http://127.0.0.1:3000".to_owned());
    Html(page(&published.document, origin.trim_end_matches('/')))
}

async fn stylesheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=300")], STYLE)
}

/// The methods an OpenAPI path item may hold, in the order the page shows them.
const METHODS: [&str; 8] = ["get", "post", "put", "patch", "delete", "options", "head", "trace"];

/// Each operation of the document, in its paths' order: (method, path, operation).
fn operations(doc: &Value) -> Vec<(&str, &str, &Value)> {
    let Some(paths) = doc["paths"].as_object() else {
        return Vec::new();
    };
    paths
        .iter()
        .flat_map(|(path, item)| METHODS.iter().filter_map(move |m| item.get(*m).map(|op| (*m, path.as_str(), op))))
        .collect()
}

/// The reference page: the document's operations grouped by tag, each with
/// its parameters, request fields, responses and a curl example, then the
/// schemas. Every text from the document is escaped.
fn page(doc: &Value, origin: &str) -> String {
    let title = doc["info"]["title"].as_str().unwrap_or("API");
    let ops = operations(doc);
    let mut tags: Vec<(String, String)> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| (text(&t["name"]).to_owned(), text(&t["description"]).to_owned()))
        .collect();
    for (_, _, op) in &ops {
        let tag = first_tag(op);
        if !tags.iter().any(|(name, _)| name == tag) {
            tags.push((tag.to_owned(), String::new()));
        }
    }

    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\"><title>{t} reference</title>\
         <link rel=\"stylesheet\" href=\"/api/v1/docs.css\"></head><body>\
         <header><h1>{t} <small>version {v}</small></h1>{d}\
         <p>The examples read a token from <code>$CADENCE_TOKEN</code> and ids from shell variables such as \
         <code>$ID</code>. The OpenAPI {o} document: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>.</p>\
         </header><nav><h2>Contents</h2><ul>",
        t = esc(title),
        v = esc(text(&doc["info"]["version"])),
        d = prose(text(&doc["info"]["description"])),
        o = esc(text(&doc["openapi"])),
    );
    out.push_str("<li><a href=\"#authentication\">Authentication</a></li>");
    for (tag, _) in &tags {
        let _ = write!(out, "<li><a href=\"#tag-{a}\">{t}</a><ul>", a = anchor(tag), t = esc(tag));
        for (method, path, op) in ops.iter().filter(|(_, _, op)| first_tag(op) == tag) {
            let _ = write!(
                out,
                "<li><a href=\"#{a}\"><span class=\"method\">{m}</span> <code>{p}</code></a> {s}</li>",
                a = op_anchor(method, path, op),
                m = method.to_ascii_uppercase(),
                p = esc(path),
                s = esc(text(&op["summary"])),
            );
        }
        out.push_str("</ul></li>");
    }
    out.push_str("<li><a href=\"#schemas\">Schemas</a></li></ul></nav><main>");

    out.push_str("<section id=\"authentication\"><h2>Authentication</h2>");
    for (name, scheme) in doc["components"]["securitySchemes"].as_object().into_iter().flatten() {
        let _ = write!(
            out,
            "<h3><code>{n}</code>: {k} {s}</h3>{d}<pre><code>Authorization: Bearer {f}</code></pre>",
            n = esc(name),
            k = esc(text(&scheme["type"])),
            s = esc(text(&scheme["scheme"])),
            d = prose(text(&scheme["description"])),
            f = esc(text(&scheme["bearerFormat"])),
        );
    }
    out.push_str("</section>");

    for (tag, description) in &tags {
        let _ = write!(
            out,
            "<section id=\"tag-{a}\"><h2>{t}</h2>{d}",
            a = anchor(tag),
            t = esc(tag),
            d = prose(description)
        );
        for (method, path, op) in ops.iter().filter(|(_, _, op)| first_tag(op) == tag) {
            operation(&mut out, doc, origin, method, path, op);
        }
        out.push_str("</section>");
    }

    out.push_str("<section id=\"schemas\"><h2>Schemas</h2>");
    for (name, schema) in doc["components"]["schemas"].as_object().into_iter().flatten() {
        let _ = write!(
            out,
            "<article class=\"schema\" id=\"schema-{a}\"><h3>{n}</h3>{d}{f}</article>",
            a = anchor(name),
            n = esc(name),
            d = prose(text(&schema["description"])),
            f = fields(doc, schema),
        );
    }
    out.push_str("</section></main></body></html>\n");
    out
}

/// One operation's entry.
fn operation(out: &mut String, doc: &Value, origin: &str, method: &str, path: &str, op: &Value) {
    let _ = write!(
        out,
        "<article class=\"operation\" id=\"{a}\"><h3><span class=\"method {m}\">{mu}</span> <code>{p}</code></h3>\
         <p class=\"summary\">{s}</p>{d}",
        a = op_anchor(method, path, op),
        m = esc(method),
        mu = method.to_ascii_uppercase(),
        p = esc(path),
        s = esc(text(&op["summary"])),
        d = prose(text(&op["description"])),
    );
    for requirement in op["security"].as_array().into_iter().flatten() {
        for (scheme, scopes) in requirement.as_object().into_iter().flatten() {
            let scopes: Vec<String> =
                scopes.as_array().into_iter().flatten().map(|s| format!("<code>{}</code>", esc(text(s)))).collect();
            let _ = write!(
                out,
                "<p class=\"auth\">Needs a <code>{}</code> token with the {} scope.</p>",
                esc(scheme),
                scopes.join(" and ")
            );
        }
    }

    let params: Vec<&Value> = op["parameters"].as_array().into_iter().flatten().collect();
    if !params.is_empty() {
        out.push_str(
            "<h4>Parameters</h4><table><thead><tr><th>Name</th><th>In</th><th>Type</th><th>Required</th>\
             <th>Description</th></tr></thead><tbody>",
        );
        for p in &params {
            let _ = write!(
                out,
                "<tr><td><code>{n}</code></td><td>{i}</td><td>{t}</td><td>{r}</td><td>{d}</td></tr>",
                n = esc(text(&p["name"])),
                i = esc(text(&p["in"])),
                t = type_of(&p["schema"]),
                r = yes_no(p["required"].as_bool().unwrap_or(false)),
                d = inline(text(&p["description"])),
            );
        }
        out.push_str("</tbody></table>");
    }

    let body = &op["requestBody"];
    for (media, content) in body["content"].as_object().into_iter().flatten() {
        let _ = write!(
            out,
            "<h4>Request body</h4><p><code>{m}</code>, {t}{r}. {d}</p>{f}",
            m = esc(media),
            t = type_of(&content["schema"]),
            r = if body["required"].as_bool().unwrap_or(false) { ", required" } else { "" },
            d = inline(text(&body["description"])),
            f = fields(doc, &content["schema"]),
        );
    }

    out.push_str(
        "<h4>Responses</h4><table><thead><tr><th>Status</th><th>Meaning</th><th>Body</th><th>Headers</th></tr>\
         </thead><tbody>",
    );
    for (status, response) in op["responses"].as_object().into_iter().flatten() {
        let bodies: Vec<String> = response["content"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(media, c)| format!("{} <code>{}</code>", type_of(&c["schema"]), esc(media)))
            .collect();
        let headers: Vec<String> = response["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, h)| {
                let about = text(&h["description"]);
                let about = if about.is_empty() { String::new() } else { format!(": {}", inline(about)) };
                format!("<code>{}</code>{about}", esc(name))
            })
            .collect();
        let _ = write!(
            out,
            "<tr><td>{s}</td><td>{d}</td><td>{b}</td><td>{h}</td></tr>",
            s = esc(status),
            d = inline(text(&response["description"])),
            b = bodies.join("<br>"),
            h = headers.join("<br>"),
        );
    }
    out.push_str("</tbody></table>");

    let _ =
        write!(out, "<h4>Example</h4><pre><code>{}</code></pre></article>", esc(&curl(doc, origin, method, path, op)));
}

/// A curl command for an operation: the token from `$CADENCE_TOKEN`, each
/// path parameter from a shell variable of its name, the query parameters
/// that have an example, and the request body's example.
fn curl(doc: &Value, origin: &str, method: &str, path: &str, op: &Value) -> String {
    let params: Vec<&Value> = op["parameters"].as_array().into_iter().flatten().collect();
    let mut url = path.to_owned();
    for p in params.iter().filter(|p| p["in"] == "path") {
        let name = text(&p["name"]);
        url = url.replace(&format!("{{{name}}}"), &format!("${}", name.to_ascii_uppercase()));
    }
    let query: Vec<String> = params
        .iter()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["example"].as_str().map(|e| format!("{}={}", text(&p["name"]), percent(e))))
        .collect();
    if !query.is_empty() {
        url = format!("{url}?{}", query.join("&"));
    }
    let mut lines = vec![if method == "get" {
        format!("curl \"{origin}{url}\"")
    } else {
        format!("curl -X {} \"{origin}{url}\"", method.to_ascii_uppercase())
    }];
    lines.push("-H \"Authorization: Bearer $CADENCE_TOKEN\"".to_owned());
    let json = &op["requestBody"]["content"]["application/json"];
    if let Some(example) = example_of(doc, json) {
        lines.push("-H \"Content-Type: application/json\"".to_owned());
        let example = serde_json::to_string(example).unwrap_or_default();
        lines.push(format!("-d '{}'", example.replace('\'', "'\\''")));
    }
    lines.join(" \\\n     ")
}

/// A media type's example: its own, or the first of its schema's.
fn example_of<'a>(doc: &'a Value, media: &'a Value) -> Option<&'a Value> {
    media
        .get("example")
        .or_else(|| media["examples"].as_object().and_then(|e| e.values().next()).map(|e| &e["value"]))
        .or_else(|| resolve(doc, &media["schema"])["examples"].get(0))
}

/// An object schema's properties as a table (name, type, required,
/// description), the required ones first; nothing for a schema without
/// properties.
fn fields(doc: &Value, schema: &Value) -> String {
    let schema = resolve(doc, schema);
    let Some(properties) = schema["properties"].as_object() else {
        return String::new();
    };
    let required: Vec<&str> = schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let mut out = String::from(
        "<table><thead><tr><th>Field</th><th>Type</th><th>Required</th><th>Description</th></tr></thead><tbody>",
    );
    let mut properties: Vec<(&String, &Value)> = properties.iter().collect();
    properties.sort_by_key(|(name, _)| !required.contains(&name.as_str()));
    for (name, property) in properties {
        let mut about = text(&property["description"]);
        if about.is_empty() {
            about = text(&resolve(doc, property)["description"]);
        }
        let _ = write!(
            out,
            "<tr><td><code>{n}</code></td><td>{t}</td><td>{r}</td><td>{d}</td></tr>",
            n = esc(name),
            t = type_of(property),
            r = yes_no(required.contains(&name.as_str())),
            d = inline(about),
        );
    }
    out.push_str("</tbody></table>");
    out
}

/// A schema's type in a few words, a named schema linked to its entry.
fn type_of(schema: &Value) -> String {
    if let Some(name) = ref_name(schema) {
        return format!("<a href=\"#schema-{}\">{}</a>", anchor(name), esc(name));
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            return options.iter().map(type_of).collect::<Vec<_>>().join(" or ");
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut words: Vec<String> = types
        .iter()
        .map(|t| match *t {
            "array" => format!("array of {}", type_of(&schema["items"])),
            other => esc(other),
        })
        .collect();
    if words.is_empty() {
        words.push("any".to_owned());
    }
    let mut out = words.join(" or ");
    if let Some(format) = schema["format"].as_str() {
        let _ = write!(out, " ({})", esc(format));
    }
    if let Some(values) = schema["enum"].as_array() {
        let names: Vec<String> = values.iter().map(|v| format!("<code>{}</code>", esc(&v.to_string()))).collect();
        let _ = write!(out, ": {}", names.join(", "));
    }
    let bounds =
        [("minimum", "at least"), ("maximum", "at most"), ("minLength", "length ≥"), ("maxLength", "length ≤")];
    for (key, words) in bounds {
        if let Some(n) = schema[key].as_u64() {
            let _ = write!(out, ", {words} {n}");
        }
    }
    out
}

fn ref_name(schema: &Value) -> Option<&str> {
    schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/"))
}

/// The schema a `$ref` names, or the schema itself.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match ref_name(schema) {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    }
}

fn first_tag(op: &Value) -> &str {
    op["tags"].get(0).and_then(Value::as_str).unwrap_or("Other")
}

/// An operation's fragment: its `operationId`, else its method and path.
fn op_anchor(method: &str, path: &str, op: &Value) -> String {
    match op["operationId"].as_str() {
        Some(id) => anchor(id),
        None => anchor(&format!("{method}-{path}")),
    }
}

/// A fragment identifier: letters, digits, `-` and `_`; anything else becomes `-`.
fn anchor(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '-' }).collect()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

fn yes_no(yes: bool) -> &'static str {
    if yes {
        "yes"
    } else {
        "no"
    }
}

/// Text for HTML, in an element or a quoted attribute.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
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
    out
}

/// A description's text with its `code` spans, escaped. The document's
/// Markdown is otherwise shown as written.
fn inline(s: &str) -> String {
    s.split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 { format!("<code>{}</code>", esc(part)) } else { esc(part) })
        .collect()
}

/// A description as paragraphs, one per blank-line-separated block.
fn prose(s: &str) -> String {
    s.split("\n\n").map(str::trim).filter(|p| !p.is_empty()).map(|p| format!("<p>{}</p>", inline(p))).collect()
}

/// A query value for a URL: everything but RFC 3986's unreserved characters
/// percent-encoded.
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const STYLE: &str = "\
:root { color-scheme: light dark; --fg: #1d2125; --muted: #5c6670; --bg: #fff; --line: #d9dee3; --code: #f3f5f7; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6e9ec; --muted: #9aa5b1; --bg: #16191c; --line: #343a40; --code: #22272b; }
}
body { font: 16px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto; max-width: 60rem; padding: 1rem; }
h1 small { font-size: 1rem; color: var(--muted); font-weight: normal; }
h2 { border-bottom: 1px solid var(--line); padding-bottom: .25rem; margin-top: 2.5rem; }
h3 { margin-top: 2rem; }
code, pre { font-family: ui-monospace, monospace; font-size: .9em; background: var(--code); border-radius: 3px; }
code { padding: 0 .2em; }
pre { padding: .75rem; overflow-x: auto; }
pre code { padding: 0; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid var(--line); padding: .35rem .5rem; }
th { color: var(--muted); font-weight: 600; }
nav ul { padding-left: 1.25rem; }
.summary { font-weight: 600; }
.auth { color: var(--muted); }
.operation { border-top: 1px solid var(--line); }
.method { display: inline-block; min-width: 4.5em; font: 600 .85em ui-monospace, monospace; text-transform: uppercase; }
.method.get { color: #1a7f37; } .method.post { color: #0969da; } .method.patch { color: #9a6700; }
.method.delete { color: #cf222e; }
@media (max-width: 40rem) { table { display: block; overflow-x: auto; } }
";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "openapi": "3.1.0",
            "info": { "title": "Test <API>", "version": "1", "description": "Use `Bearer`.\n\nSecond." },
            "tags": [{ "name": "Things", "description": "About <things>." }],
            "paths": {
                "/things/{id}": {
                    "patch": {
                        "tags": ["Things"],
                        "operationId": "changeThing",
                        "summary": "Change <b>a</b> thing",
                        "security": [{ "bearer": ["write"] }],
                        "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
                        "requestBody": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } } },
                        "responses": { "200": { "description": "It's done", "content": {
                            "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } } } }
                    }
                }
            },
            "components": { "schemas": { "Thing": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": { "type": "string", "description": "A <script>alert(1)</script> name" },
                    "size": { "type": ["integer", "null"], "minimum": 0 }
                },
                "examples": [{ "name": "it's" }]
            } } }
        })
    }

    #[test]
    fn every_text_from_the_document_is_escaped_on_the_page() {
        let html = page(&doc(), "http://example.test");
        assert!(!html.contains("<script>") && !html.contains("<b>a</b>") && !html.contains("<API>"), "{html}");
        assert!(html.contains("A &lt;script&gt;alert(1)&lt;/script&gt; name"));
        assert!(html.contains("Change &lt;b&gt;a&lt;/b&gt; thing"));
        assert!(html.contains("<p>Use <code>Bearer</code>.</p><p>Second.</p>"), "code spans and paragraphs survive");
    }

    #[test]
    fn an_operation_shows_its_fields_types_scope_and_a_curl_example_with_its_body() {
        let html = page(&doc(), "http://example.test");
        assert!(html.contains("id=\"changeThing\""));
        assert!(html.contains("<span class=\"method patch\">PATCH</span> <code>/things/{id}</code>"));
        assert!(html.contains("with the <code>write</code> scope"));
        assert!(html.contains("<td><code>name</code></td><td>string</td><td>yes</td>"), "{html}");
        assert!(html.contains("<td><code>size</code></td><td>integer or null, at least 0</td><td>no</td>"), "{html}");
        assert!(html.contains("<a href=\"#schema-Thing\">Thing</a>"));
        let example =
            curl(&doc(), "http://example.test", "patch", "/things/{id}", &doc()["paths"]["/things/{id}"]["patch"]);
        assert_eq!(
            example,
            "curl -X PATCH \"http://example.test/things/$ID\" \\\n     -H \"Authorization: Bearer $CADENCE_TOKEN\" \
             \\\n     -H \"Content-Type: application/json\" \\\n     -d '{\"name\":\"it'\\''s\"}'"
        );
    }

    #[test]
    fn a_query_example_is_percent_encoded_in_the_curl_url() {
        assert_eq!(percent("#work !high due:week"), "%23work%20%21high%20due%3Aweek");
    }

    #[test]
    fn the_served_document_is_openapi_3_1_with_the_bearer_scheme() {
        let doc: Value = serde_json::from_str(&document().to_json().unwrap()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
        assert_eq!(doc["info"]["title"], "Cadence API");
        assert_eq!(doc["components"]["securitySchemes"][BEARER]["scheme"], "bearer");
    }
}
