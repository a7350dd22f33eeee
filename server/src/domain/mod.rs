//! Pure domain rules: no I/O, no axum, sqlx or Redis. Storage and transport call these.

pub mod access;
pub mod account;
pub mod appraisal;
pub mod calendar;
pub mod category;
pub mod codes;
pub mod digest;
#[cfg(test)]
mod fixtures;
pub mod geo;
pub mod issue;
pub mod meeting;
pub mod notify;
pub mod people;
pub mod phone;
pub mod place_admin;
pub mod place_import;
pub mod places;
pub mod residency;
pub mod roles;
pub mod sla;
pub mod stats;
pub mod text;
