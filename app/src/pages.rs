//! The static pages, embedded in the binary so the app runs from anywhere. Each page is
//! `static/layout.html` (the head, the SVG defs, the top bar) around the page's own parts in
//! `static/pages/`, assembled once at startup, so the shared parts are written once and the
//! browser gets whole pages (nothing drawn late).

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::App;

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// The files under `/static/`, each listed once: its path there, its content type, its text.
macro_rules! static_files {
    ($($path:literal => $content_type:expr),* $(,)?) => {
        &[$(($path, $content_type, include_str!(concat!("../static/", $path)))),*]
    };
}

const STATIC: &[(&str, &str, &str)] = static_files![
    "icon.svg" => "image/svg+xml",
    "style.css" => "text/css; charset=utf-8",
    "js/alerts.js" => JS,
    "js/api.js" => JS,
    "js/base58.js" => JS,
    "js/charts.js" => JS,
    "js/dom.js" => JS,
    "js/format.js" => JS,
    "js/fund.js" => JS,
    "js/history.js" => JS,
    "js/live.js" => JS,
    "js/map.js" => JS,
    "js/meter.js" => JS,
    "js/meters.js" => JS,
    "js/notice.js" => JS,
    "js/page.js" => JS,
    "js/payments.js" => JS,
    "js/payout.js" => JS,
    "js/quote.js" => JS,
    "js/resident.js" => JS,
    "js/wallet.js" => JS,
];

const LAYOUT: &str = include_str!("../static/layout.html");

/// Parts two pages share, put where a page's main says `{{name}}`; their own `{{slots}}` take
/// the page's words.
const PARTS: &[(&str, &str)] = &[
    ("pick", include_str!("../static/pages/pick.html")),
    ("fund", include_str!("../static/pages/fund.html")),
];

/// One page: where it is served, and what it puts into the layout's slots.
struct Page {
    paths: &'static [&'static str],
    /// `data-page`, the nav link marked current, and the page's module `js/<name>.js`.
    name: &'static str,
    title: &'static str,
    /// What the page adds at the end of the top bar.
    topbar: &'static str,
    main: &'static str,
    /// The words the shared parts in its main need: `{{slot}}` → text.
    words: &'static [(&'static str, &'static str)],
}

const PAGES: &[Page] = &[
    Page {
        paths: &["/", "/index.html"],
        name: "map",
        title: "Community grid — map",
        topbar: include_str!("../static/pages/clock.html"),
        main: include_str!("../static/pages/map.html"),
        words: &[],
    },
    Page {
        paths: &["/resident.html"],
        name: "resident",
        title: "Resident — community grid",
        topbar: "",
        main: include_str!("../static/pages/resident.html"),
        words: &[
            ("pick-label", "Resident id"),
            ("pick-example", "carlos"),
            ("fund-name", "meter"),
            ("fund-label", "Meter id"),
            ("fund-list", "meter-ids"),
            ("fund-example", "pole-1"),
        ],
    },
    Page {
        paths: &["/meter.html"],
        name: "meter",
        title: "Meter — community grid",
        topbar: "",
        main: include_str!("../static/pages/meter.html"),
        words: &[
            ("pick-label", "Meter id"),
            ("pick-example", "pole-1"),
            ("fund-name", "from"),
            ("fund-label", "Your resident id"),
            ("fund-list", "resident-ids"),
            ("fund-example", "carlos"),
        ],
    },
];

/// A file's text without its first line when that is the comment saying what the file is.
fn part(file: &str) -> &str {
    match file.split_once('\n') {
        Some((first, rest)) if first.starts_with("<!--") => rest,
        _ => file,
    }
}

/// The page's HTML: its main with the shared parts and its words put in, then the layout with
/// its slots filled (the main last, so nothing in it is taken for a layout slot).
fn assemble(page: &Page) -> String {
    let mut main = part(page.main).to_string();
    for (name, text) in PARTS {
        main = main.replace(&format!("{{{{{name}}}}}"), part(text).trim_end());
    }
    main = main.replace("{{page}}", page.name);
    for (slot, word) in page.words {
        main = main.replace(&format!("{{{{{slot}}}}}"), word);
    }
    let mut html = part(LAYOUT)
        .replace("{{title}}", page.title)
        .replace("{{page}}", page.name)
        .replace("{{topbar}}", part(page.topbar));
    for other in PAGES {
        let current = if other.name == page.name {
            r#" aria-current="page""#
        } else {
            ""
        };
        html = html.replace(&format!("{{{{current:{}}}}}", other.name), current);
    }
    html.replace("{{main}}", &main)
}

fn file(content_type: &'static str, body: impl IntoResponse) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type)], body)
}

pub fn routes() -> Router<Arc<App>> {
    let mut router = Router::new();
    for page in PAGES {
        let html = Bytes::from(assemble(page));
        for path in page.paths {
            let html = html.clone();
            router = router.route(path, get(move || async move { file(HTML, html) }));
        }
    }
    for &(path, content_type, body) in STATIC {
        router = router.route(
            &format!("/static/{path}"),
            get(move || async move { file(content_type, body) }),
        );
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(path: &str) -> bool {
        STATIC.iter().any(|(p, _, _)| *p == path)
    }

    #[test]
    fn every_page_fills_every_slot_and_marks_itself_current() {
        for page in PAGES {
            let html = assemble(page);
            assert!(!html.contains("{{"), "{}: a slot left unfilled", page.name);
            assert_eq!(html.matches(r#"aria-current="page""#).count(), 1);
            assert_eq!(html.matches(r#"id="halo""#).count(), 1, "{}", page.name);
            assert!(served(&format!("js/{}.js", page.name)), "{}", page.name);
        }
    }

    #[test]
    fn every_module_a_module_imports_is_served() {
        for (path, _, text) in STATIC.iter().filter(|(p, _, _)| p.ends_with(".js")) {
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let name = line.split('"').nth(1).expect("import \"./x.js\"");
                let name = name.strip_prefix("./").expect("a sibling module");
                assert!(served(&format!("js/{name}")), "{path} imports {name}");
            }
        }
    }
}
