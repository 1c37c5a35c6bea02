//! Grafana's classic dashboard JSON model, the part of it a generated dashboard uses: what every
//! Grafana since 10 imports (`schemaVersion` 39). Serialised once, by serde.

use serde::Serialize;

/// Grafana's schema version the dashboards are written in.
pub(super) const SCHEMA_VERSION: u32 = 39;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Dashboard {
    pub(super) title: String,
    pub(super) uid: String,
    pub(super) description: String,
    pub(super) tags: Vec<&'static str>,
    pub(super) schema_version: u32,
    pub(super) version: u32,
    pub(super) editable: bool,
    pub(super) graph_tooltip: u8,
    pub(super) refresh: &'static str,
    pub(super) time: Time,
    pub(super) timezone: &'static str,
    pub(super) annotations: List<serde_json::Value>,
    pub(super) templating: List<Variable>,
    pub(super) panels: Vec<Panel>,
}

#[derive(Serialize)]
pub(super) struct Time {
    pub(super) from: &'static str,
    pub(super) to: &'static str,
}

#[derive(Serialize)]
pub(super) struct List<T> {
    pub(super) list: Vec<T>,
}

#[derive(Serialize, Clone)]
pub(super) struct DataSource {
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) uid: &'static str,
}

/// The data source every panel and variable reads: the `datasource` variable.
pub(super) const PROMETHEUS: DataSource = DataSource {
    kind: "prometheus",
    uid: "${datasource}",
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Variable {
    pub(super) name: &'static str,
    pub(super) label: &'static str,
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) datasource: Option<DataSource>,
    pub(super) query: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) definition: Option<String>,
    pub(super) current: serde_json::Value,
    pub(super) options: Vec<serde_json::Value>,
    pub(super) refresh: u8,
    pub(super) regex: &'static str,
    pub(super) hide: u8,
    pub(super) include_all: bool,
    pub(super) multi: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) all_value: Option<&'static str>,
    pub(super) sort: u8,
}

#[derive(Serialize, Clone, Copy)]
pub(super) struct GridPos {
    pub(super) h: u32,
    pub(super) w: u32,
    pub(super) x: u32,
    pub(super) y: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Panel {
    pub(super) id: u32,
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) title: String,
    pub(super) grid_pos: GridPos,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) datasource: Option<DataSource>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) collapsed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) field_config: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) options: Option<serde_json::Value>,
    /// A row's panels (always empty: rows here are expanded, their panels follow them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) panels: Option<Vec<Panel>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) targets: Vec<Target>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Target {
    pub(super) ref_id: String,
    pub(super) datasource: DataSource,
    pub(super) expr: String,
    pub(super) legend_format: String,
    pub(super) range: bool,
    pub(super) instant: bool,
    pub(super) exemplar: bool,
    pub(super) format: &'static str,
}
