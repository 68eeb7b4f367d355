//! The frame of every sandbox page: the TEST MODE banner, inline styles, escaping and money.

use axum::response::Html;

/// Shown at the top of every page, so nobody mistakes the sandbox for a real processor.
pub(crate) const TEST_MODE_BANNER: &str = "TEST MODE — sandbox processor, no real money moves";

const STYLE: &str = "\
body{font-family:system-ui,sans-serif;margin:0;color:#1a1f36;background:#f6f9fc}\
.test-mode{background:#ff5f00;color:#fff;padding:.6em 1em;font-weight:600}\
.test-mode p{margin:.2em 0;font-weight:400}\
main{max-width:60em;margin:1.5em auto;padding:0 1em}\
.checkout{max-width:24em;margin:0 auto}\
label{display:block;margin-top:.8em;font-size:.9em}\
input{width:100%;box-sizing:border-box;padding:.5em;font-size:1em}\
button{margin-top:1em;width:100%;padding:.7em;font-size:1em;background:#635bff;color:#fff;border:0;border-radius:4px}\
#error{color:#df1b41;font-weight:600}\
table{border-collapse:collapse;width:100%;margin-bottom:1.5em;font-size:.9em;background:#fff}\
th,td{border:1px solid #e3e8ee;padding:.3em .5em;text-align:left}\
.ok{color:#0a7c42}.bad{color:#df1b41}";

/// A whole page: the banner (with `banner_note` under it, already HTML), then `body` (already HTML).
pub(crate) fn page(title: &str, banner_note: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} · TEST MODE</title><style>{STYLE}</style></head><body>\
         <div class=\"test-mode\" id=\"test-mode\"><strong>{TEST_MODE_BANNER}</strong>{banner_note}</div>\
         <main>{body}</main></body></html>",
        title = escape(title),
    ))
}

/// Text made safe to put inside HTML elements and quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Cents as dollars, e.g. `1250` → `$12.50`.
pub(crate) fn dollars(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}${}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_shows_two_decimals() {
        assert_eq!(dollars(1250), "$12.50");
        assert_eq!(dollars(5), "$0.05");
        assert_eq!(dollars(-120), "-$1.20");
    }

    #[test]
    fn escape_neutralises_markup() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
