//! Extractors that answer in the API's error format: a JSON body, path and query parameters, a
//! multipart form, and the bearer token.

use crate::app::channels::{Identity, identity};
use crate::app::state::AppState;
use crate::error::AppError;
use crate::identity::tokens::Claims;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use hehe_protocol::ErrorCode;
use serde::de::DeserializeOwned;

/// `Json<T>` whose rejection is an `invalid_request` error body.
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<Object<T>>::from_request(req, state).await {
            Ok(axum::Json(Object(value))) => Ok(AppJson(value)),
            Err(JsonRejection::BytesRejection(_)) => Err(AppError::new(
                ErrorCode::PayloadTooLarge,
                "the body is too large",
            )),
            Err(rejection) => Err(AppError::invalid(rejection.body_text())),
        }
    }
}

/// A body that must be a JSON object. serde reads a struct from an array of its fields as
/// well (`[null, null]` is a `PATCH` with every field absent), which the API documents as an
/// error: every body is an object.
struct Object<T>(T);

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Fields<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer
            .deserialize_map(Fields(std::marker::PhantomData))
            .map(Object)
    }
}

/// The account named by a valid `Authorization: Bearer <access token>` header.
pub struct Authenticated(pub Identity);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let claims = bearer_claims(&parts.headers, state)?;
        Ok(Authenticated(identity(state, claims.account()).await?))
    }
}

/// The claims of a valid, not signed-out `Authorization: Bearer <access token>`.
pub fn bearer_claims(headers: &HeaderMap, state: &AppState) -> Result<Claims, AppError> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(AppError::unauthenticated)?;
    crate::app::sessions::verify_access(state, token.trim())
}

/// `Path<T>` whose rejection (an id that is not a number, say) is an `invalid_request` body
/// rather than axum's plain text.
pub struct AppPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for AppPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(AppPath(value)),
            Err(rejection) => Err(rejected(rejection.status(), rejection.body_text())),
        }
    }
}

/// `Query<T>` whose rejection (a number that is not one, a missing field) is an
/// `invalid_request` body rather than axum's plain text.
pub struct AppQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for AppQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(AppQuery(value)),
            Err(rejection) => Err(rejected(rejection.status(), rejection.body_text())),
        }
    }
}

/// `Multipart` whose rejection (no multipart content type or boundary) is an
/// `invalid_request` body rather than axum's plain text.
pub struct AppMultipart(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for AppMultipart {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::extract::Multipart::from_request(req, state).await {
            Ok(form) => Ok(AppMultipart(form)),
            Err(rejection) => Err(rejected(rejection.status(), rejection.body_text())),
        }
    }
}

/// A client's mistake is `invalid_request` with axum's explanation; a 5xx rejection means the
/// route and its extractor disagree, which is ours to fix and not the client's to read about.
fn rejected(status: axum::http::StatusCode, text: String) -> AppError {
    if status.is_server_error() {
        tracing::error!(%status, "an extractor failed on its own route");
        AppError::new(ErrorCode::Internal, "internal error")
    } else {
        AppError::invalid(text)
    }
}

/// The `limit` of a listing: 50 when absent, refused outside 1 to 200 as the document says
/// (a silent clamp would hand a client that asked for 500 a short page it takes for the last).
pub fn page_size(limit: Option<u32>) -> Result<u32, AppError> {
    match limit {
        None => Ok(50),
        Some(n @ 1..=200) => Ok(n),
        Some(_) => Err(AppError::invalid("limit is 1 to 200")),
    }
}
