//! Pages as a browser parses them (html5ever, through `scraper`): the text a person reads,
//! the attributes a browser acts on, the upload form and the `/uploaded` page, and the
//! check that nothing taken from input (file names, titles, types) became markup.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use scraper::{ElementRef, Html, Selector};

/// A CSS selector; panics when `css` is not one.
pub fn selector(css: &str) -> Selector {
    Selector::parse(css).unwrap_or_else(|e| panic!("bad selector {css}: {e}"))
}

/// One element as a test reads it: its name, its attributes (values decoded) and its text.
#[derive(Debug, Clone)]
pub struct Element {
    /// Lower-case element name.
    pub name: String,
    /// Attributes in source order.
    pub attrs: Vec<(String, String)>,
    /// The text it shows: every text node inside it, joined, trimmed.
    pub text: String,
    /// Its markup, re-serialised (for messages).
    pub html: String,
}

impl Element {
    fn of(e: ElementRef) -> Element {
        Element {
            name: e.value().name().to_string(),
            attrs: e
                .value()
                .attrs()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            text: text(e),
            html: e.html(),
        }
    }

    /// An attribute's value (`Some("")` for a bare attribute such as `required`).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// True when `class` lists `c`.
    pub fn has_class(&self, c: &str) -> bool {
        self.attr("class")
            .is_some_and(|v| v.split_ascii_whitespace().any(|x| x == c))
    }
}

/// The text an element shows: its text nodes joined (character references decoded by the
/// parser), trimmed.
pub fn text(e: ElementRef) -> String {
    e.text().collect::<String>().trim().to_string()
}

/// Every element matching `css`, in document order.
pub fn select(html: &str, css: &str) -> Vec<Element> {
    Html::parse_document(html)
        .select(&selector(css))
        .map(Element::of)
        .collect()
}

/// The first element matching `css`.
pub fn first(html: &str, css: &str) -> Option<Element> {
    select(html, css).into_iter().next()
}

/// The text of the first element matching `css`.
pub fn text_of(html: &str, css: &str) -> Option<String> {
    first(html, css).map(|e| e.text)
}

/// The text of the element with `id`.
pub fn text_with_id(html: &str, id: &str) -> Option<String> {
    text_of(html, &format!("[id=\"{id}\"]"))
}

/// The text of the first element with class `class`.
pub fn text_with_class(html: &str, class: &str) -> Option<String> {
    text_of(html, &format!(".{class}"))
}

/// The upload form on `/upload/{profile}`, as a browser without JavaScript sees it.
#[derive(Debug, Clone)]
pub struct UploadForm {
    /// `action`: where the form posts (S3).
    pub action: String,
    /// Hidden inputs in document order.
    pub hidden: Vec<(String, String)>,
    /// The options of the `Content-Type` select, if it is a select.
    pub type_options: Vec<String>,
    /// The prefilled `Content-Type` text input, if it is one.
    pub type_text: Option<String>,
    /// The file input.
    pub file: Element,
    /// Names of every form control, in order (`input`, `select`, `textarea`).
    pub control_names: Vec<String>,
}

/// Scrapes the upload form; panics with the page when it is not there.
pub fn upload_form(html: &str) -> UploadForm {
    let doc = Html::parse_document(html);
    let form = doc
        .select(&selector("form#upload-form"))
        .next()
        .unwrap_or_else(|| panic!("no upload form in:\n{html}"));
    let attr = |n: &str| form.value().attr(n);
    let action = attr("action").expect("form action").to_string();
    assert_eq!(attr("method"), Some("post"));
    assert_eq!(attr("enctype"), Some("multipart/form-data"));
    let mut hidden = Vec::new();
    let mut type_text = None;
    let mut file = None;
    let mut control_names = Vec::new();
    for c in form.select(&selector("input, select, textarea")) {
        let c = Element::of(c);
        let name = c.attr("name").unwrap_or("").to_string();
        control_names.push(name.clone());
        if c.name != "input" {
            continue;
        }
        match c.attr("type").unwrap_or("text") {
            "hidden" => hidden.push((name, c.attr("value").unwrap_or("").to_string())),
            "file" => file = Some(c),
            _ if name == "Content-Type" => {
                type_text = Some(c.attr("value").unwrap_or("").to_string())
            }
            _ => {}
        }
    }
    let type_options = form
        .select(&selector(r#"select[name="Content-Type"] option"#))
        .map(|o| o.value().attr("value").expect("option value").to_string())
        .collect();
    UploadForm {
        action,
        hidden,
        type_options,
        type_text,
        file: file.expect("the form has a file input"),
        control_names,
    }
}

/// What `/uploaded` shows for its first file.
#[derive(Debug)]
pub struct UploadedFile {
    pub key: String,
    pub size: String,
    pub content_type: String,
    pub view: String,
    pub download: String,
    pub preview: Option<String>,
}

/// Scrapes a verified `/uploaded` page; panics with the page when it is not one.
pub fn uploaded_file(html: &str) -> UploadedFile {
    assert_eq!(
        text_with_id(html, "done").as_deref(),
        Some("Upload verified"),
        "not a verified upload page:\n{html}"
    );
    let href = |class: &str| {
        first(html, &format!("a.{class}"))
            .and_then(|a| a.attr("href").map(str::to_string))
            .unwrap_or_else(|| panic!("no a.{class} in:\n{html}"))
    };
    UploadedFile {
        key: text_with_class(html, "key").expect("dd.key"),
        size: text_with_class(html, "size").expect("dd.size"),
        content_type: text_with_class(html, "type").expect("dd.type"),
        view: href("view"),
        download: href("download"),
        preview: first(html, "img.preview").and_then(|i| i.attr("src").map(str::to_string)),
    }
}

/// The element names the server's templates write (`templates/*.html`), with the ones the
/// parser adds itself. Anything else on a page came from input.
fn template_elements() -> &'static BTreeSet<String> {
    static NAMES: OnceLock<BTreeSet<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut names: BTreeSet<String> = ["html", "head", "body"].map(String::from).into();
        for entry in std::fs::read_dir(dir).expect("templates/") {
            let source = std::fs::read_to_string(entry.expect("template").path()).expect("read");
            for (i, _) in source.match_indices('<') {
                let name: String = source[i + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
                    names.insert(name.to_ascii_lowercase());
                }
            }
        }
        names
    })
}

/// Asserts that nothing in the page came from input as markup: every element is one the
/// templates write, the only `<script>` is an empty one loading same-origin code (app.js),
/// no element has an event handler or a `javascript:` URL, and no image, frame, SVG, object
/// or style is there but the upload's preview. Names and titles shown on the page must
/// therefore have been escaped into text.
#[track_caller]
pub fn assert_no_injected_markup(html: &str, what: &str) {
    let doc = Html::parse_document(html);
    let mut scripts = 0;
    for e in doc.root_element().descendent_elements() {
        let el = e.value();
        let name = el.name();
        let shown = || e.html();
        assert!(
            template_elements().contains(name),
            "{what}: <{name}> is no element the templates write: {}",
            shown()
        );
        if name == "script" {
            scripts += 1;
            assert!(
                el.attr("src").is_some_and(|s| s.starts_with("/static/")),
                "{what}: a script without a same-origin src: {}",
                shown()
            );
            assert!(
                e.text().all(|t| t.trim().is_empty()),
                "{what}: a script with inline code: {}",
                shown()
            );
        }
        for (n, v) in el.attrs() {
            assert!(
                !n.to_ascii_lowercase().starts_with("on"),
                "{what}: event handler in {}",
                shown()
            );
            assert!(
                !v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("javascript:"),
                "{what}: javascript: URL in {}",
                shown()
            );
        }
        assert!(
            !["img", "iframe", "svg", "object", "embed", "style"].contains(&name)
                || (name == "img"
                    && el.has_class("preview", scraper::CaseSensitivity::CaseSensitive)),
            "{what}: unexpected <{name}> element: {}",
            shown()
        );
    }
    assert_eq!(scripts, 1, "{what}: exactly one script element (app.js)");
}
