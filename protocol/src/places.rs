//! Managing the place tree: the bodies of `POST /api/places`, `PATCH /api/places/{id}`,
//! `POST /api/places/{id}/move` and the report of `POST /api/places/import`.

use crate::http::PlaceKind;
use crate::ids::PlaceId;
use serde::{Deserialize, Deserializer, Serialize};

/// `POST /api/places`: a new place under `parent` (none for a street).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewPlace {
    pub kind: PlaceKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<PlaceId>,
    /// The English (or romanised) name.
    pub name: String,
    /// The Chinese name; unique among the places under one parent.
    pub name_zh: String,
    /// Buildings only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<u32>,
    /// Buildings only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floors: Option<u32>,
}

/// `PATCH /api/places/{id}`: what to change; a field left out stays. `units` and `floors` set
/// to `null` are forgotten.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlacePatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_zh: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>))]
    pub units: Option<Option<u32>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u32>))]
    pub floors: Option<Option<u32>>,
}

/// A field that is present, even as `null`, is `Some`: absent and `null` mean different things.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `POST /api/places/{id}/move`: the new parent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MovePlace {
    pub parent: PlaceId,
}

/// What a CSV import did, or would do with `dry_run`. With any line refused nothing is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    pub dry_run: bool,
    /// Whether the file was written (never on a dry run or with refusals).
    pub applied: bool,
    /// Data lines read (the header not counted).
    pub lines: u32,
    /// What was (or would be) created, in file order.
    pub created: Vec<ImportCreated>,
    /// Lines that named only what exists already.
    pub unchanged: u32,
    pub refused: Vec<ImportRefusal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportCreated {
    /// The line of the file (the header is line 1) that first named it.
    pub line: u32,
    /// What was created, e.g. `grid`, `building`.
    pub kind: String,
    pub name_zh: String,
    /// Its Chinese names from the street down, joined by `/`.
    pub path: String,
    /// The new place's id; absent on a dry run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<PlaceId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportRefusal {
    /// The line of the file (the header is line 1); 0 for the file as a whole.
    pub line: u32,
    /// A stable code, e.g. `unknown_column`, `missing_name`, `two_parents`.
    pub code: String,
    /// Chinese first, English beside it: what is wrong and what to do.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_tells_absent_from_null() {
        let p: PlacePatch = serde_json::from_str(r#"{"units": null, "floors": 6}"#).unwrap();
        assert_eq!(p.units, Some(None));
        assert_eq!(p.floors, Some(Some(6)));
        let p: PlacePatch = serde_json::from_str(r#"{"name": "A"}"#).unwrap();
        assert_eq!((p.units, p.floors), (None, None));
    }
}
