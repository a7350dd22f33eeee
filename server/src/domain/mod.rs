//! Pure domain rules: no I/O, no axum, sqlx or Redis. Storage and transport call these.

pub mod access;
pub mod account;
pub mod appraisal;
pub mod calendar;
pub mod category;
#[cfg(test)]
mod fixtures;
pub mod geo;
pub mod issue;
pub mod meeting;
pub mod people;
pub mod phone;
pub mod places;
pub mod roles;
pub mod sla;
pub mod stats;
pub mod text;
