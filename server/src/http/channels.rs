//! Channel messages over HTTP: the archive a client reloads after `recovered: false`, and
//! posting for clients without a socket. Both go through `crate::channels`, as the socket does.

use super::{AppJson, Authenticated};
use crate::channels;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use hehe_protocol::http::MessagePage;
use hehe_protocol::{Channel, RequestId};
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/channels/{channel}/messages", get(list).post(post))
}

const MAX_PAGE: u32 = 200;

#[derive(Debug, Deserialize)]
struct ListQuery {
    before: Option<i64>,
    limit: Option<u32>,
}

fn parse_channel(raw: &str) -> AppResult<Channel> {
    raw.parse()
        .map_err(|e: hehe_protocol::ParseChannelError| AppError::invalid(e.to_string()))
}

async fn list(
    State(state): State<AppState>,
    Authenticated(identity): Authenticated,
    Path(channel): Path<String>,
    Query(query): Query<ListQuery>,
) -> AppResult<Json<MessagePage>> {
    let channel = parse_channel(&channel)?;
    let limit = query.limit.unwrap_or(50).clamp(1, MAX_PAGE);
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

#[derive(Debug, Deserialize)]
struct PostBody {
    request_id: RequestId,
    text: String,
}

#[derive(Debug, Serialize)]
struct PostedBody {
    message_id: i64,
    epoch: String,
    offset: u64,
}

async fn post(
    State(state): State<AppState>,
    Authenticated(identity): Authenticated,
    Path(channel): Path<String>,
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
