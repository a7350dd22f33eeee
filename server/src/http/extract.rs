//! Extractors that answer in the API's error format: a JSON body, and the bearer token.

use crate::auth::Claims;
use crate::channels::{Identity, identity};
use crate::error::AppError;
use crate::state::AppState;
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
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(AppJson(value)),
            Err(JsonRejection::BytesRejection(_)) => Err(AppError::new(
                ErrorCode::PayloadTooLarge,
                "the body is too large",
            )),
            Err(rejection) => Err(AppError::invalid(rejection.body_text())),
        }
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
    crate::revocation::verify_access(state, token.trim())
}
