//! For the HTML reporters' tests: cuts the parts they look at out of a rendered report (an SVG
//! by its class, the number in an element's attribute).

/// The part of `html` from the first `<svg class="{class}"` to its end.
pub(super) fn svg<'a>(html: &'a str, class: &str) -> &'a str {
    let start = html
        .find(&format!(r#"<svg class="{class}""#))
        .unwrap_or_else(|| panic!("no svg.{class} in:\n{html}"));
    let rest = &html[start..];
    &rest[..rest.find("</svg>").unwrap_or(rest.len())]
}

/// The number in `attribute` of the first element of `html` after `after`.
pub(super) fn attribute(html: &str, after: &str, attribute: &str) -> f64 {
    let start = html
        .find(after)
        .unwrap_or_else(|| panic!("no {after} in:\n{html}"));
    let value = html[start..]
        .split(&format!(" {attribute}=\""))
        .nth(1)
        .and_then(|v| v.split('"').next())
        .unwrap_or_else(|| panic!("no {attribute} after {after}"));
    value
        .parse()
        .unwrap_or_else(|_| panic!("{attribute}={value}"))
}
