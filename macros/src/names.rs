//! Name rules, the same as the runtime's, checked at compile time.

pub(crate) fn is_valid_label_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && !name.starts_with("__")
        && b.iter()
            .enumerate()
            .all(|(i, &c)| c.is_ascii_alphabetic() || c == b'_' || (i > 0 && c.is_ascii_digit()))
}

/// Why `name` cannot be a label name, if it cannot.
pub(crate) fn label_name_problem(name: &str) -> Option<String> {
    if name.starts_with("__") {
        Some(format!(
            "invalid label name `{name}`: names starting with `__` are reserved"
        ))
    } else if !is_valid_label_name(name) {
        Some(format!(
            "invalid label name `{name}`: label names match `[a-zA-Z_][a-zA-Z0-9_]*`"
        ))
    } else {
        None
    }
}
