//! `url_template`, the client-side route (OpenTelemetry's `url.template`): the request path
//! matched against templates the caller declares (`/v1/charges/{id}`), so two APIs on one host
//! are told apart while the label stays bounded: a path no template matches is `_OTHER`.

/// The label of a path no declared template matches.
pub(crate) const OTHER_TEMPLATE: &str = "_OTHER";

/// One segment of a template: a literal, or `{name}` (any one non-empty segment).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(Box<str>),
    Any,
}

/// Declared templates, matched in declaration order.
#[derive(Debug, Clone, Default)]
pub(crate) struct UrlTemplates {
    templates: Vec<(Box<str>, Vec<Segment>)>,
}

impl UrlTemplates {
    /// Parses `templates`: each starts with `/`, and a `{...}` placeholder is a whole segment.
    pub(crate) fn new<I, T>(templates: I) -> vitalsign::Result<Self>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let mut parsed = Vec::new();
        for t in templates {
            let t = t.as_ref();
            let invalid = |why: &str| {
                vitalsign::Error::new(
                    vitalsign::ErrorKind::InvalidLabelName,
                    format!("invalid URL template {t:?}: {why}"),
                )
            };
            let Some(rest) = t.strip_prefix('/') else {
                return Err(invalid("it does not start with `/`"));
            };
            let segments = rest
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    if s.starts_with('{') && s.ends_with('}') && s.len() > 2 {
                        Ok(Segment::Any)
                    } else if s.contains(['{', '}']) {
                        Err(invalid("a `{...}` placeholder must be a whole segment"))
                    } else {
                        Ok(Segment::Literal(s.into()))
                    }
                })
                .collect::<vitalsign::Result<Vec<_>>>()?;
            if !parsed.iter().any(|(name, _): &(Box<str>, _)| &**name == t) {
                parsed.push((t.into(), segments));
            }
        }
        Ok(Self { templates: parsed })
    }

    /// Which template `path` matches: its index, or the templates' count for `_OTHER`.
    pub(crate) fn index(&self, path: &str) -> usize {
        self.templates
            .iter()
            .position(|(_, segments)| matches(segments, path))
            .unwrap_or(self.templates.len())
    }

    /// The label of the template at `index` (`_OTHER` past the last).
    pub(crate) fn name(&self, index: usize) -> &str {
        self.templates
            .get(index)
            .map_or(OTHER_TEMPLATE, |(name, _)| name)
    }

    /// The template `path` matches, or `_OTHER`.
    #[cfg(test)]
    fn label(&self, path: &str) -> &str {
        self.name(self.index(path))
    }

    /// Every value the label can take: the templates, then `_OTHER`.
    pub(crate) fn values(&self) -> Vec<String> {
        self.templates
            .iter()
            .map(|(name, _)| name.to_string())
            .chain(std::iter::once(OTHER_TEMPLATE.to_owned()))
            .collect()
    }
}

fn matches(segments: &[Segment], path: &str) -> bool {
    let mut parts = path.split('/').filter(|s| !s.is_empty());
    for segment in segments {
        let Some(part) = parts.next() else {
            return false;
        };
        if let Segment::Literal(literal) = segment
            && **literal != *part
        {
            return false;
        }
    }
    parts.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_their_template_or_other() {
        let t = UrlTemplates::new(["/v1/charges", "/v1/charges/{id}", "/v1/charges/{id}/refund"])
            .unwrap();
        let label = |p| t.label(p).to_owned();
        assert_eq!(label("/v1/charges"), "/v1/charges");
        assert_eq!(label("/v1/charges/"), "/v1/charges");
        assert_eq!(label("/v1/charges/ch_123"), "/v1/charges/{id}");
        assert_eq!(
            label("/v1/charges/ch_123/refund"),
            "/v1/charges/{id}/refund"
        );
        assert_eq!(label("/v1/charges/ch_123/capture"), "_OTHER");
        assert_eq!(label("/v2/charges"), "_OTHER");
        assert_eq!(label("/"), "_OTHER");
        assert_eq!(
            t.values(),
            [
                "/v1/charges",
                "/v1/charges/{id}",
                "/v1/charges/{id}/refund",
                "_OTHER"
            ]
        );
        assert_eq!(
            UrlTemplates::new(["v1"]).unwrap_err().to_string(),
            "invalid URL template \"v1\": it does not start with `/`"
        );
        assert_eq!(
            UrlTemplates::new(["/v1/ch_{id}"]).unwrap_err().to_string(),
            "invalid URL template \"/v1/ch_{id}\": a `{...}` placeholder must be a whole segment"
        );
    }
}
