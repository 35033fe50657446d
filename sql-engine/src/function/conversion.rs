//! placeholder
use super::FunctionRegistry;
pub(crate) fn register(_r: &mut FunctionRegistry) {}
