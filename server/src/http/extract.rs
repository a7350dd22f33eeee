//! Extractors that answer in the API's error format: a JSON body, and the bearer token.

use crate::auth::{TokenError, TokenKind};
use crate::channels::{Identity, identity};
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
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
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(AppError::unauthenticated)?;
        let claims = state
            .tokens
            .verify(token.trim(), TokenKind::Access)
            .map_err(|e| match e {
                TokenError::Expired => {
                    AppError::new(ErrorCode::TokenExpired, "the token has expired")
                }
                TokenError::Invalid => {
                    AppError::new(ErrorCode::InvalidToken, "the token is not valid")
                }
            })?;
        Ok(Authenticated(identity(state, claims.account()).await?))
    }
}
