//! Expanding a `[[matrix]]` of a scenario file into cells: the product of its axes, conditions
//! (`when`, `exclude`) over a cell's values, and the name template (`{base}/{variant}/{mode}`).
//!
//! Pure data: a value is its canonical text (`dash`, `SIGTERM`, `2s`) plus whatever payload the
//! caller carries along (for scenario files, the value with its place in the file).
//!
//! ```
//! use shutdown_harness::scenario_file::matrix::{product, render, Axis};
//!
//! let axes = [
//!     Axis::new("base", vec!["dash", "bash"]),
//!     Axis::new("mode", vec!["graceful", "abrupt"]),
//! ];
//! let names: Vec<String> = product(&axes)
//!     .iter()
//!     .map(|cell| render("{base}/{mode}", |key| {
//!         cell.iter().find(|(k, _)| k == key).map(|(_, v)| v.to_string())
//!     }).unwrap())
//!     .collect();
//! assert_eq!(names, ["dash/graceful", "dash/abrupt", "bash/graceful", "bash/abrupt"]);
//! ```

/// One axis of a matrix: a key and the values it takes, in the order written.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis<V> {
    /// The setting the axis varies (`base`, `variant`, `mode`, ...).
    pub key: String,
    /// Its values.
    pub values: Vec<V>,
}

impl<V> Axis<V> {
    /// An axis of `key` over `values`.
    pub fn new(key: impl Into<String>, values: Vec<V>) -> Axis<V> {
        Axis {
            key: key.into(),
            values,
        }
    }
}

/// One cell: for each axis, in axis order, its key and the value it takes in this cell.
pub type Cell<V> = Vec<(String, V)>;

/// The cartesian product of the axes, the first axis outermost (it varies slowest).
/// No axes give one empty cell; an axis without values gives no cells.
pub fn product<V: Clone>(axes: &[Axis<V>]) -> Vec<Cell<V>> {
    let mut cells: Vec<Cell<V>> = vec![Vec::new()];
    for axis in axes {
        cells = cells
            .into_iter()
            .flat_map(|cell| {
                axis.values.iter().map(move |value| {
                    let mut next = cell.clone();
                    next.push((axis.key.clone(), value.clone()));
                    next
                })
            })
            .collect();
    }
    cells
}

/// A condition on a cell: for each key, the canonical values it may take. All keys must match;
/// no keys match every cell. Used by `when` of a rule and by each entry of `exclude`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Condition {
    /// Key and accepted values.
    pub keys: Vec<(String, Vec<String>)>,
}

impl Condition {
    /// Whether the cell whose values `lookup` gives meets the condition. A key the cell has no
    /// value for does not match.
    pub fn matches(&self, lookup: impl Fn(&str) -> Option<String>) -> bool {
        self.keys
            .iter()
            .all(|(key, accepted)| lookup(key).is_some_and(|value| accepted.contains(&value)))
    }
}

/// A name template that could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Byte offset in the template of the offending `{`.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// The placeholders of a template, in order (`{base}/{mode}` gives `base`, `mode`).
pub fn placeholders(template: &str) -> Result<Vec<String>, TemplateError> {
    let mut keys = Vec::new();
    let mut rest = template;
    let mut offset = 0;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err(TemplateError {
                offset: offset + open,
                message: "`}` without a matching `{`".to_string(),
            });
        }
        let after = &rest[open + 1..];
        let Some(close) = after
            .find(['{', '}'])
            .filter(|&c| after.as_bytes()[c] == b'}')
        else {
            return Err(TemplateError {
                offset: offset + open,
                message: "`{` without a matching `}`".to_string(),
            });
        };
        let key = &after[..close];
        if key.is_empty() {
            return Err(TemplateError {
                offset: offset + open,
                message: "empty placeholder `{}`".to_string(),
            });
        }
        keys.push(key.to_string());
        offset += open + 1 + close + 1;
        rest = &after[close + 1..];
    }
    Ok(keys)
}

/// Renders `template`, replacing each `{key}` by `lookup(key)`.
pub fn render(
    template: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, TemplateError> {
    let keys = placeholders(template)?;
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    for key in keys {
        let open = rest.find('{').expect("placeholders() found it");
        out.push_str(&rest[..open]);
        let value = lookup(&key).ok_or_else(|| TemplateError {
            offset: template.len() - rest.len() + open,
            message: format!("placeholder `{{{key}}}` names no setting of the cell"),
        })?;
        out.push_str(&value);
        rest = &rest[open + key.len() + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(cell: &'a Cell<&'a str>) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| {
            cell.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn product_varies_the_last_axis_fastest() {
        let axes = [
            Axis::new("a", vec!["1", "2"]),
            Axis::new("b", vec!["x", "y", "z"]),
        ];
        let cells = product(&axes);
        assert_eq!(cells.len(), 6);
        assert_eq!(cells[0], [("a".into(), "1"), ("b".into(), "x")]);
        assert_eq!(cells[1], [("a".into(), "1"), ("b".into(), "y")]);
        assert_eq!(cells[3], [("a".into(), "2"), ("b".into(), "x")]);
    }

    #[test]
    fn no_axes_is_one_cell_and_an_empty_axis_none() {
        assert_eq!(product::<&str>(&[]), vec![Vec::new()]);
        assert!(product(&[Axis::new("a", Vec::<&str>::new())]).is_empty());
    }

    #[test]
    fn conditions_need_every_key_to_match() {
        let cell: Cell<&str> = vec![("base".into(), "dash"), ("mode".into(), "abrupt")];
        let cond = |keys: &[(&str, &[&str])]| Condition {
            keys: keys
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
        };
        assert!(cond(&[]).matches(lookup(&cell)));
        assert!(cond(&[("base", &["bash", "dash"])]).matches(lookup(&cell)));
        assert!(!cond(&[("base", &["dash"]), ("mode", &["graceful"])]).matches(lookup(&cell)));
        assert!(!cond(&[("init", &["true"])]).matches(lookup(&cell)));
    }

    #[test]
    fn templates_render_and_report_their_mistakes() {
        let cell: Cell<&str> = vec![("base".into(), "dash"), ("mode".into(), "abrupt")];
        assert_eq!(
            render("{base}/x/{mode}", lookup(&cell)).unwrap(),
            "dash/x/abrupt"
        );
        assert_eq!(render("a/{variant}", lookup(&cell)).unwrap_err().offset, 2);
        assert_eq!(placeholders("a{b").unwrap_err().offset, 1);
        assert_eq!(placeholders("a}b").unwrap_err().offset, 1);
        assert_eq!(placeholders("{}").unwrap_err().offset, 0);
        assert_eq!(placeholders("{a}-{b}").unwrap(), ["a", "b"]);
    }
}
