//! Integration tests: each starts the real server on port 0 and talks real HTTP and WebSocket.

mod access;
mod appraisals;
mod audit;
mod authz;
mod bad_input;
mod clock;
#[path = "../common/mod.rs"]
mod common;
mod deadlines;
mod enrolment;
mod fanout;
mod first_admin;
mod helpers;
mod http_api;
mod idempotency;
mod identity;
mod issues;
mod lifecycle;
mod limits;
mod logs;
mod onboarding;
mod openapi;
mod ops;
mod place_admin;
mod places;
mod postgres;
mod presence;
mod push;
mod push_receiver;
mod residents;
mod resume;
mod rooms;
mod scale_out;
mod slow_consumer;
mod stats;
mod web;
