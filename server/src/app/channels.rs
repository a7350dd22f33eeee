//! The one path for channel actions, shared by the HTTP API and WebSocket commands: who the
//! actor is, what a channel is about, whether the actor may read or post, and posting.

use crate::app::state::AppState;
use crate::domain::access::{self, Actor, ChannelTarget, Grant};
use crate::domain::issue::Issue;
use crate::domain::places::PlacePath;
use crate::domain::text::{MESSAGE, Text};
use crate::error::{AppError, AppResult};
use crate::live::bus::Publication;
use hehe_protocol::EventKind;
use hehe_protocol::http::{AccountInfo, GrantInfo, MessageData, MessageInfo, PlaceKind};
use hehe_protocol::{AccountId, Channel, ErrorCode, Member, Position, RequestId};
use serde_json::value::RawValue;

/// The account behind a token, with its grants resolved to place paths.
#[derive(Debug, Clone)]
pub struct Identity {
    pub actor: Actor,
    pub username: String,
    pub display_name: String,
    pub romanised_name: Option<String>,
}

impl Identity {
    pub fn member(&self) -> Member {
        Member {
            account_id: self.actor.id,
            name: self.display_name.clone(),
            role: self.actor.badge(),
        }
    }
}

/// Loads an account and its grants. A disabled or missing account is `forbidden`.
pub async fn identity(state: &AppState, id: AccountId) -> AppResult<Identity> {
    let account = state.store.account(id).await?.filter(|a| !a.disabled);
    let Some(account) = account else {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "this account may not sign in",
        ));
    };
    let mut grants = Vec::new();
    for grant in state.store.grants(id).await? {
        let scope = match grant.place {
            Some(place) => match state.store.place_path(place).await? {
                Some(path) => Some(path),
                // A grant on a vanished place grants nothing.
                None => continue,
            },
            None => None,
        };
        grants.push(Grant {
            role: grant.role,
            scope,
        });
    }
    Ok(Identity {
        actor: Actor { id, grants },
        username: account.username,
        display_name: account.display_name,
        romanised_name: account.romanised_name,
    })
}

/// What the channel is about, or `not_found`.
pub async fn target(state: &AppState, actor: &Actor, channel: Channel) -> AppResult<ChannelTarget> {
    Ok(resolve(state, actor, channel).await?.0)
}

/// The channel's target, and whether the actor is staff there (sees internal entries).
async fn resolve(
    state: &AppState,
    actor: &Actor,
    channel: Channel,
) -> AppResult<(ChannelTarget, bool)> {
    let not_found = || AppError::not_found("channel");
    let place_of_kind = |kind: PlaceKind| async move {
        let id = hehe_protocol::PlaceId(channel.raw_id());
        match state.store.place_path(id).await? {
            Some(path) if path.kind() == kind => Ok(path),
            _ => Err(not_found()),
        }
    };
    Ok(match channel {
        Channel::Street(_) => {
            let street = place_of_kind(PlaceKind::Street).await?;
            let staff = access::sees_street_internal(actor, &street);
            (ChannelTarget::Street(street), staff)
        }
        Channel::Home(_) => {
            let home = place_of_kind(PlaceKind::Community).await?;
            // Staff-only events of a home (residency requests) are for those who decide them.
            let staff = crate::domain::residency::sees_requests(actor, &home);
            (ChannelTarget::Home(home), staff)
        }
        Channel::Room(meeting) => {
            let record = state.store.meeting(meeting).await?.ok_or_else(not_found)?;
            let path = state
                .store
                .place_path(record.place_id)
                .await?
                .ok_or_else(not_found)?;
            let member = record.chair == actor.id
                || record.secretary == Some(actor.id)
                || state.store.member_role(meeting, actor.id).await?.is_some();
            (
                ChannelTarget::Room {
                    place: path,
                    private: record.private,
                    member,
                },
                true,
            )
        }
        Channel::Issue(id) => {
            let record = state.store.issue(id).await?.ok_or_else(not_found)?;
            let issue = &record.issue;
            let target = issue_target(state, actor, issue).await?;
            (target, crate::domain::issue::sees_internal(actor, issue))
        }
        Channel::User(owner) => {
            state.store.account(owner).await?.ok_or_else(not_found)?;
            (ChannelTarget::User(owner), true)
        }
        Channel::OPS => (ChannelTarget::Ops, true),
        Channel::Ops(_) => return Err(not_found()),
    })
}

/// What an issue is to the actor: its place, whether it is public, and whether the actor is
/// involved (reported, follows or is assigned to it).
pub async fn issue_target(
    state: &AppState,
    actor: &Actor,
    issue: &Issue,
) -> AppResult<ChannelTarget> {
    let involved = issue.reporter == actor.id
        || issue.assignee == Some(actor.id)
        || state.store.is_follower(issue.id, actor.id).await?;
    Ok(ChannelTarget::Issue {
        place: issue.place,
        public: issue.public,
        involved,
    })
}

/// What reading a channel allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadAccess {
    /// Internal (staff-only) events are shown too.
    pub staff: bool,
}

/// Succeeds when the actor may read the channel (subscribe, history, presence, messages).
/// Channels the actor may not know exist (issues) are `not_found` rather than `forbidden`.
pub async fn authorize_read(
    state: &AppState,
    actor: &Actor,
    channel: Channel,
) -> AppResult<ReadAccess> {
    let (target, staff) = resolve(state, actor, channel).await?;
    if access::can_read(actor, &target) {
        Ok(ReadAccess { staff })
    } else if matches!(
        target,
        ChannelTarget::Issue { .. } | ChannelTarget::Room { private: true, .. }
    ) {
        Err(AppError::not_found("channel"))
    } else {
        Err(AppError::forbidden())
    }
}

/// The channels an account's grants open, for its profile.
pub async fn account_info(state: &AppState, identity: &Identity) -> AppResult<AccountInfo> {
    let id = identity.actor.id;
    let rows = state.store.grants(id).await?;
    let mut grants = Vec::new();
    for row in rows {
        let place = match row.place {
            Some(p) => state.store.place(p).await?,
            None => None,
        };
        let path = match row.place {
            Some(p) => state.store.place_path(p).await?,
            None => None,
        };
        let mut channels = vec![Channel::User(id)];
        if let Some(path) = path {
            channels.push(Channel::Street(path.street));
            match path.community {
                Some(c) => channels.push(Channel::Home(c)),
                // A grant over a whole street reads the home of each community in it, where
                // its role allows (a street chief does).
                None => {
                    let alone = Actor {
                        id,
                        grants: vec![Grant {
                            role: row.role,
                            scope: Some(path),
                        }],
                    };
                    for community in state.store.children(path.street).await? {
                        let home = PlacePath::community(path.street, community.id);
                        if access::can_read(&alone, &ChannelTarget::Home(home)) {
                            channels.push(Channel::Home(community.id));
                        }
                    }
                }
            }
        }
        grants.push(GrantInfo {
            role: row.role,
            place,
            channels,
        });
    }
    Ok(AccountInfo {
        id,
        username: identity.username.clone(),
        display_name: identity.display_name.clone(),
        romanised_name: identity.romanised_name.clone(),
        grants,
    })
}

/// The outcome of a post: the stored message and its event's position.
#[derive(Debug, Clone)]
pub struct Posted {
    pub message_id: i64,
    pub position: Position,
}

/// Stores a message and publishes it. Applied once per (author, request id): a retry finds the
/// stored message, and the bus's idempotency key makes its publish return the first position.
pub async fn post_message(
    state: &AppState,
    identity: &Identity,
    request_id: &RequestId,
    channel: Channel,
    text: &str,
) -> AppResult<Posted> {
    let text = Text::parse(text, &MESSAGE)?;
    state
        .limits
        .check_account(crate::infra::limits::Limit::Post, identity.actor.id)?;
    let actor = &identity.actor;
    let target = target(state, actor, channel).await?;
    // A channel the actor may not know of (an issue they may not see, a mediation they are
    // not part of) stays unknown: `forbidden` would tell them it exists.
    if matches!(
        target,
        ChannelTarget::Issue { .. } | ChannelTarget::Room { private: true, .. }
    ) && !access::can_read(actor, &target)
    {
        return Err(AppError::not_found("channel"));
    }
    if !access::can_post(actor, &target) {
        return Err(AppError::forbidden());
    }
    let row = state
        .store
        .insert_message(crate::store::NewMessage {
            channel,
            author: actor.id,
            author_role: actor.badge(),
            request_id,
            text: text.as_str(),
            at: state.now(),
        })
        .await?;
    if row.channel != channel {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "this request id was already used for another channel",
        ));
    }
    let data = MessageData {
        id: row.id,
        author: identity.member(),
        text: row.text,
    };
    let data = RawValue::from_string(serde_json::to_string(&data).unwrap_or_default())
        .map_err(|_| AppError::new(ErrorCode::Internal, "internal error"))?;
    let position = state
        .bus
        .publish(Publication {
            channel,
            audience: crate::live::bus::Audience::All,
            kind: EventKind::Message.as_str().into(),
            data,
            idempotency_key: Some(format!("message:{}", row.id)),
        })
        .await?;
    state.metrics.events_published.inc();
    Ok(Posted {
        message_id: row.id,
        position,
    })
}

/// A page of a channel's stored messages, newest first.
pub async fn list_messages(
    state: &AppState,
    actor: &Actor,
    channel: Channel,
    before: Option<i64>,
    limit: u32,
) -> AppResult<Vec<MessageInfo>> {
    authorize_read(state, actor, channel).await?;
    let rows = state.store.messages(channel, before, limit).await?;
    Ok(rows
        .into_iter()
        .map(|m| MessageInfo {
            id: m.id,
            channel: m.channel,
            author: Member {
                account_id: m.author_id,
                name: m.author_name,
                role: m.author_role,
            },
            text: m.text,
            time: m.created_at,
        })
        .collect())
}
