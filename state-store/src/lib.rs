//! State stores for Brook. Being built (issue 4).
