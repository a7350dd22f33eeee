//! Pure domain rules: no I/O, no axum, sqlx or Redis. Storage and transport call these.

pub mod access;
pub mod places;
pub mod text;
