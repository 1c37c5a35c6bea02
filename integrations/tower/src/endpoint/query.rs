//! The `name[]` selectors of a scrape's query string.

/// The most `name[]` selectors one scrape may carry.
const MAX_SELECTORS: usize = 256;

/// The `name[]` selectors of a query string, decoded as `application/x-www-form-urlencoded`
/// (`+` is a space, `%XX` a byte). A selector that does not decode to UTF-8 is an error.
pub(super) fn selectors(query: Option<&str>) -> Result<Vec<String>, &'static str> {
    let mut names = Vec::new();
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if key != "name[]" {
            continue;
        }
        if names.len() == MAX_SELECTORS {
            return Err("too many name[] selectors (at most 256)\n");
        }
        // `parse` replaces invalid UTF-8 with U+FFFD; a selector holding one did not decode.
        if value.contains('\u{fffd}') {
            return Err("a name[] selector is not valid percent-encoded UTF-8\n");
        }
        names.push(value.into_owned());
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_and_decoding() {
        assert_eq!(
            selectors(Some("name[]=a_total&x=1&name%5B%5D=b%20c&name[]=%zz")),
            Ok(vec![
                "a_total".to_owned(),
                "b c".to_owned(),
                "%zz".to_owned()
            ])
        );
        assert_eq!(
            selectors(Some("name[]=%ff")),
            Err("a name[] selector is not valid percent-encoded UTF-8\n")
        );
        assert_eq!(selectors(Some("name[]=%")), Ok(vec!["%".to_owned()]));
        // `%+a` is no escape (a hand-written decoder once read `+a` as hex); `+` is a space.
        assert_eq!(
            selectors(Some("name[]=%+a+b")),
            Ok(vec!["% a b".to_owned()])
        );
        let many = vec!["name[]=x"; 257].join("&");
        assert_eq!(
            selectors(Some(&many)),
            Err("too many name[] selectors (at most 256)\n")
        );
        assert_eq!(selectors(None), Ok(vec![]));
    }
}
