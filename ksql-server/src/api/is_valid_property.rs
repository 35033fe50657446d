//! `POST /is_valid_property/{name}`: `true` for a property a request may set, else a
//! `generic_error` 40000 naming it.

use axum::extract::Path;
use axum::Json;

use super::common::State;
use super::properties::check_property;
use crate::Result;

/// The handler.
pub(crate) async fn handle(_state: State, Path(name): Path<String>) -> Result<Json<bool>> {
    // The value is not known here: check the name with a value every property accepts.
    let value = if name.ends_with("auto.offset.reset") { "earliest" } else { "" };
    check_property(&name, value)?;
    Ok(Json(true))
}
