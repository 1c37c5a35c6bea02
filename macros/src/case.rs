//! Turning a variant name (`CardDeclined`) into a label value in a chosen case.

#[derive(Clone, Copy)]
pub(crate) enum Case {
    Snake,
    ScreamingSnake,
    Kebab,
    Lower,
    Upper,
    Camel,
    Pascal,
}

pub(crate) const NAMES: &[&str] = &[
    "snake_case",
    "SCREAMING_SNAKE_CASE",
    "kebab-case",
    "lowercase",
    "UPPERCASE",
    "camelCase",
    "PascalCase",
];

impl Case {
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "snake_case" => Case::Snake,
            "SCREAMING_SNAKE_CASE" => Case::ScreamingSnake,
            "kebab-case" => Case::Kebab,
            "lowercase" => Case::Lower,
            "UPPERCASE" => Case::Upper,
            "camelCase" => Case::Camel,
            "PascalCase" => Case::Pascal,
            _ => return None,
        })
    }

    /// Applies the case to a `PascalCase` identifier.
    pub(crate) fn apply(self, ident: &str) -> String {
        let words = words(ident);
        match self {
            Case::Snake => words.join("_"),
            Case::ScreamingSnake => words.join("_").to_uppercase(),
            Case::Kebab => words.join("-"),
            Case::Lower => ident.to_lowercase(),
            Case::Upper => ident.to_uppercase(),
            Case::Pascal => ident.to_owned(),
            Case::Camel => {
                let mut chars = ident.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_lowercase().chain(chars).collect()
                })
            }
        }
    }
}

/// Lowercase words of an identifier: `HTTPTimeout` → `http`, `timeout`; `V2Api` → `v2`, `api`.
fn words(ident: &str) -> Vec<String> {
    let chars: Vec<char> = ident.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1);
        let boundary = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_uppercase() && next.is_some_and(|n| n.is_lowercase()))
            });
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        assert_eq!(Case::Snake.apply("CardDeclined"), "card_declined");
        assert_eq!(Case::Snake.apply("HTTPTimeout"), "http_timeout");
        assert_eq!(Case::Snake.apply("V2Api"), "v2_api");
        assert_eq!(Case::Snake.apply("Ok"), "ok");
        assert_eq!(Case::ScreamingSnake.apply("CardDeclined"), "CARD_DECLINED");
        assert_eq!(Case::Kebab.apply("CardDeclined"), "card-declined");
        assert_eq!(Case::Lower.apply("CardDeclined"), "carddeclined");
        assert_eq!(Case::Upper.apply("CardDeclined"), "CARDDECLINED");
        assert_eq!(Case::Camel.apply("CardDeclined"), "cardDeclined");
        assert_eq!(Case::Pascal.apply("CardDeclined"), "CardDeclined");
    }
}
