//! Channel messages over HTTP: the archive a client reloads after `recovered: false`, and
//! posting for clients without a socket. Both go through `crate::app::channels`, as the socket does.

use super::extract::{AppPath, AppQuery, page_size};
use super::openapi::docs;
use super::{AppJson, Authenticated};
use crate::app::channels;
use crate::app::state::AppState;
use crate::error::{AppError, AppResult};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use hehe_protocol::http::{ApiError, MessagePage};
use hehe_protocol::{Channel, RequestId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/channels/{channel}/messages", get(list).post(post))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only messages older than this message id: the `next_before` of the previous page.
    before: Option<i64>,
    /// Messages per page, 1 to 200; 50 when absent.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

fn parse_channel(raw: &str) -> AppResult<Channel> {
    raw.parse()
        .map_err(|e: hehe_protocol::ParseChannelError| AppError::invalid(e.to_string()))
}

/// A page of a channel's stored messages, newest first.
///
/// The archive a client reloads after a `subscribed` reply with `recovered: false`.
#[utoipa::path(
    get,
    path = "/api/channels/{channel}/messages",
    tag = "channels",
    operation_id = "list_messages",
    security(("bearer" = [])),
    params(("channel" = Channel, Path, description = "The channel, e.g. `home:12`"), ListQuery),
    responses(
        (status = 200, description = "Newest first", body = MessagePage),
        (status = 400, description = "invalid_request: not a channel name, a `before` that is not a number, or a `limit` outside 1 to 200", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the account is disabled, or may not read this channel", body = ApiError),
        (status = 404, description = "not_found: no such channel, or the caller may not know it exists", body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn list(
    State(state): State<AppState>,
    Authenticated(identity): Authenticated,
    AppPath(channel): AppPath<String>,
    AppQuery(query): AppQuery<ListQuery>,
) -> AppResult<Json<MessagePage>> {
    let channel = parse_channel(&channel)?;
    let limit = page_size(query.limit)?;
    let messages =
        channels::list_messages(&state, &identity.actor, channel, query.before, limit).await?;
    let next_before = (messages.len() == limit as usize)
        .then(|| messages.last().map(|m| m.id))
        .flatten();
    Ok(Json(MessagePage {
        messages,
        next_before,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PostMessageRequest)]
struct PostBody {
    /// Chosen by the client: a retry with the same id posts once and gets the same answer.
    request_id: RequestId,
    text: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PostedMessage)]
struct PostedBody {
    message_id: i64,
    /// The channel stream's epoch and the offset of the `message` event in it.
    epoch: String,
    offset: u64,
}

/// Post a message to a channel, for clients without a socket.
///
/// Subscribers receive it as a `message` event, as if it came over the WebSocket.
#[utoipa::path(
    post,
    path = "/api/channels/{channel}/messages",
    tag = "channels",
    operation_id = "post_message",
    security(("bearer" = [])),
    params(("channel" = Channel, Path, description = "The channel, e.g. `home:12`")),
    request_body = PostBody,
    responses(
        (status = 200, description = "Posted", body = PostedBody),
        (status = 400, description = "invalid_request: not a channel name, a bad body, or an empty or too long text", body = ApiError),
        (status = 401, description = docs::UNAUTHORIZED, body = ApiError),
        (status = 403, description = "forbidden: the account is disabled, or may not post here", body = ApiError),
        (status = 404, description = "not_found: no such channel, or the caller may not know it exists", body = ApiError),
        (status = 409, description = "conflict: the request id was already used for another channel", body = ApiError),
        (status = 413, description = docs::TOO_LARGE, body = ApiError),
        (status = 500, description = docs::INTERNAL, body = ApiError),
        (status = 503, description = docs::UNAVAILABLE, body = ApiError),
    )
)]
async fn post(
    State(state): State<AppState>,
    Authenticated(identity): Authenticated,
    AppPath(channel): AppPath<String>,
    AppJson(body): AppJson<PostBody>,
) -> AppResult<Json<PostedBody>> {
    let channel = parse_channel(&channel)?;
    let posted =
        channels::post_message(&state, &identity, &body.request_id, channel, &body.text).await?;
    Ok(Json(PostedBody {
        message_id: posted.message_id,
        epoch: posted.position.epoch,
        offset: posted.position.offset,
    }))
}
