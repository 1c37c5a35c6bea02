//! Finding one header a layer reads (`grpc-status`, `grpc-timeout`, `traceparent`) in a map of
//! a few entries, where hashing its name costs more than looking at each entry.

use http::{HeaderMap, HeaderName, HeaderValue};
use vitalsign::lookup::same_bytes;

/// Maps with at most this many entries are scanned; larger ones are looked up by hash.
const SCANNED: usize = 8;

/// The first value of `name` in `headers`, as `HeaderMap::get` gives it.
#[inline]
pub(crate) fn get<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a HeaderValue> {
    if headers.len() > SCANNED {
        return headers.get(name);
    }
    let name = name.as_str().as_bytes();
    headers
        .iter()
        .find(|(k, _)| same_bytes(k.as_str().as_bytes(), name))
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderName, HeaderValue};

    #[test]
    fn a_scan_finds_what_a_lookup_finds() {
        static STATUS: HeaderName = HeaderName::from_static("grpc-status");
        for n in [0, 1, 7, 8, 9, 20] {
            let mut headers = HeaderMap::new();
            for i in 0..n {
                let name = HeaderName::from_bytes(format!("x-h{i}").as_bytes()).expect("valid");
                headers.insert(name, HeaderValue::from_static("v"));
            }
            assert_eq!(super::get(&headers, &STATUS), None, "{n} headers");
            headers.append(&STATUS, HeaderValue::from_static("14"));
            headers.append(&STATUS, HeaderValue::from_static("0"));
            headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("a"));
            assert_eq!(
                super::get(&headers, &STATUS),
                headers.get(&STATUS),
                "{n} headers"
            );
            assert_eq!(
                super::get(&headers, &STATUS).map(HeaderValue::as_bytes),
                Some(&b"14"[..]),
                "{n} headers"
            );
            assert_eq!(
                super::get(&headers, &http::header::CONTENT_TYPE),
                Some(&HeaderValue::from_static("a"))
            );
        }
    }
}
