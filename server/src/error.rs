//! `AppError`: the one error type of the service layer, with a stable code for the wire.
//! Every other error becomes one here, in one place: a domain's refusal keeps its reason, while
//! internal failures are logged, in the request's span, and reach clients only as `internal` or
//! `unavailable` with no detail.

use crate::domain::text::TextError;
use crate::domain::{account, appraisal, issue, meeting, place_admin, place_import};
use crate::live::bus::BusError;
use crate::media::MediaError;
use crate::store::StoreError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hehe_protocol::ErrorCode;
use hehe_protocol::http::ApiError;

#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// For `rate_limited`: seconds until a retry may pass (HTTP `Retry-After`).
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn forbidden() -> Self {
        Self::new(ErrorCode::Forbidden, "your role does not allow this")
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("no such {what}"))
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }
    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, "sign in first")
    }

    pub fn status(&self) -> StatusCode {
        match self.code {
            ErrorCode::BadFrame
            | ErrorCode::UnknownFrameType
            | ErrorCode::InvalidRequest
            | ErrorCode::AlreadySubscribed
            | ErrorCode::NotSubscribed
            | ErrorCode::UnsupportedVersion
            | ErrorCode::InvalidCode => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthenticated
            | ErrorCode::InvalidToken
            | ErrorCode::TokenExpired
            | ErrorCode::InvalidCredentials
            | ErrorCode::AlreadyAuthenticated => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Conflict | ErrorCode::RequestInProgress => StatusCode::CONFLICT,
            ErrorCode::TooManySubscriptions | ErrorCode::RateLimited => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InviteExpired | ErrorCode::InviteUsed | ErrorCode::InviteRevoked => {
                StatusCode::GONE
            }
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "store unavailable");
                AppError::new(
                    ErrorCode::Unavailable,
                    "storage is unavailable, retry later",
                )
            }
            StoreError::Conflict(_) => {
                AppError::new(ErrorCode::Conflict, "conflicts with stored data")
            }
            _ => {
                tracing::error!(error = %e, "store failure");
                AppError::new(ErrorCode::Internal, "internal error")
            }
        }
    }
}

impl From<BusError> for AppError {
    fn from(e: BusError) -> Self {
        tracing::warn!(error = %e, "bus unavailable");
        AppError::new(
            ErrorCode::Unavailable,
            "live delivery is unavailable, retry later",
        )
    }
}

impl From<crate::live::publish::PublishError> for AppError {
    fn from(e: crate::live::publish::PublishError) -> Self {
        match e {
            crate::live::publish::PublishError::Bus(e) => e.into(),
            crate::live::publish::PublishError::Encode(e) => {
                tracing::error!(error = %e, "event not encodable");
                AppError::new(ErrorCode::Internal, "internal error")
            }
        }
    }
}

impl From<crate::infra::limits::Refused> for AppError {
    fn from(r: crate::infra::limits::Refused) -> Self {
        let mut e = AppError::new(ErrorCode::RateLimited, r.message());
        e.retry_after = Some(r.retry_after_secs());
        e
    }
}

impl From<TextError> for AppError {
    fn from(e: TextError) -> Self {
        AppError::invalid(e.to_string())
    }
}

impl From<account::AccountRefusal> for AppError {
    fn from(e: account::AccountRefusal) -> Self {
        AppError::invalid(e.to_string())
    }
}

impl From<crate::domain::codes::CodeRefusal> for AppError {
    fn from(r: crate::domain::codes::CodeRefusal) -> Self {
        AppError::new(ErrorCode::InvalidCode, r.to_string())
    }
}

impl From<crate::domain::codes::SendRefusal> for AppError {
    fn from(r: crate::domain::codes::SendRefusal) -> Self {
        let mut e = AppError::new(ErrorCode::RateLimited, r.to_string());
        e.retry_after = Some(u64::try_from((r.retry_after_ms().max(1) + 999) / 1000).unwrap_or(1));
        e
    }
}

impl From<crate::domain::residency::ResidencyRefusal> for AppError {
    fn from(r: crate::domain::residency::ResidencyRefusal) -> Self {
        use crate::domain::residency::ResidencyRefusal;
        match r {
            ResidencyRefusal::Decided(_) | ResidencyRefusal::Pending => {
                AppError::new(ErrorCode::Conflict, r.to_string())
            }
            ResidencyRefusal::NotABuilding
            | ResidencyRefusal::NoReason
            | ResidencyRefusal::Reason(_) => AppError::invalid(r.to_string()),
        }
    }
}

impl From<place_admin::PlaceRefusal> for AppError {
    fn from(r: place_admin::PlaceRefusal) -> Self {
        let code = match r {
            place_admin::PlaceRefusal::NotAllowed => ErrorCode::Forbidden,
            place_admin::PlaceRefusal::ArchivedParent
            | place_admin::PlaceRefusal::LiveChildren
            | place_admin::PlaceRefusal::NameTaken => ErrorCode::Conflict,
            place_admin::PlaceRefusal::WrongParent { .. }
            | place_admin::PlaceRefusal::Name(_)
            | place_admin::PlaceRefusal::Figures
            | place_admin::PlaceRefusal::Cycle => ErrorCode::InvalidRequest,
        };
        AppError::new(code, r.to_string())
    }
}

impl From<place_import::FileRefusal> for AppError {
    fn from(r: place_import::FileRefusal) -> Self {
        let code = match r {
            place_import::FileRefusal::TooLarge | place_import::FileRefusal::TooManyLines => {
                ErrorCode::PayloadTooLarge
            }
            place_import::FileRefusal::NotUtf8
            | place_import::FileRefusal::Empty
            | place_import::FileRefusal::Header(_) => ErrorCode::InvalidRequest,
        };
        AppError::new(code, r.to_string())
    }
}

impl From<issue::Refusal> for AppError {
    fn from(r: issue::Refusal) -> Self {
        use issue::Refusal;
        match r {
            Refusal::Forbidden => AppError::forbidden(),
            Refusal::WrongState(_) => AppError::new(ErrorCode::Conflict, r.to_string()),
            Refusal::Invalid(why) => AppError::invalid(why),
            Refusal::Text(e) => e.into(),
        }
    }
}

impl From<meeting::RoomRefusal> for AppError {
    fn from(r: meeting::RoomRefusal) -> Self {
        use meeting::RoomRefusal;
        match r {
            RoomRefusal::WrongState(_) => AppError::new(ErrorCode::Conflict, r.to_string()),
            RoomRefusal::Invalid(_) => AppError::invalid(r.to_string()),
            RoomRefusal::Text(e) => e.into(),
            RoomRefusal::NotChair
            | RoomRefusal::NotAllowed
            | RoomRefusal::Removed
            | RoomRefusal::Muted
            | RoomRefusal::NotYourFloor
            | RoomRefusal::Locked => AppError::new(ErrorCode::Forbidden, r.to_string()),
        }
    }
}

impl From<appraisal::Refusal> for AppError {
    fn from(r: appraisal::Refusal) -> Self {
        use appraisal::Refusal;
        match r {
            Refusal::Forbidden => AppError::forbidden(),
            Refusal::WrongState(_) => AppError::new(ErrorCode::Conflict, r.to_string()),
            Refusal::Invalid(why) => AppError::invalid(why),
            Refusal::Unreconciled(_) => {
                tracing::error!(error = %r, "appraisal count");
                AppError::new(ErrorCode::Internal, "internal error")
            }
        }
    }
}

impl From<MediaError> for AppError {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::UnsupportedType => AppError::invalid("send a JPEG, PNG or WebP picture"),
            MediaError::TooLarge { limit } => AppError::new(
                ErrorCode::PayloadTooLarge,
                format!("photos are at most {limit} bytes"),
            ),
            MediaError::Empty => AppError::invalid("the photo is empty"),
            MediaError::Malformed => AppError::invalid("the picture file is damaged"),
            MediaError::Io(e) => {
                tracing::error!(error = %e, "photo storage failed");
                AppError::new(ErrorCode::Internal, "internal error")
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (
            status,
            Json(ApiError {
                code: self.code,
                message: self.message,
            }),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::text::{Field, Text};
    use hehe_protocol::appraisal::AppraisalState;
    use hehe_protocol::issue::IssueState;
    use hehe_protocol::meeting::MeetingState;

    fn code(e: impl Into<AppError>) -> ErrorCode {
        e.into().code
    }

    #[test]
    fn refusals_map_to_stable_codes() {
        use ErrorCode::*;
        let bad_text = || Text::parse("", &Field::line("title", 10)).unwrap_err();
        assert_eq!(code(bad_text()), InvalidRequest);

        assert_eq!(code(issue::Refusal::Forbidden), Forbidden);
        assert_eq!(
            code(issue::Refusal::WrongState(IssueState::Closed)),
            Conflict
        );
        assert_eq!(code(issue::Refusal::Invalid("x")), InvalidRequest);
        assert_eq!(code(issue::Refusal::Text(bad_text())), InvalidRequest);

        use meeting::RoomRefusal as R;
        for forbidden in [
            R::NotChair,
            R::NotAllowed,
            R::Removed,
            R::Muted,
            R::NotYourFloor,
            R::Locked,
        ] {
            assert_eq!(code(forbidden), Forbidden);
        }
        assert_eq!(code(R::WrongState(MeetingState::Ended)), Conflict);
        assert_eq!(code(R::Invalid("x")), InvalidRequest);
        assert_eq!(code(R::Text(bad_text())), InvalidRequest);

        use appraisal::Refusal as A;
        assert_eq!(code(A::Forbidden), Forbidden);
        assert_eq!(code(A::WrongState(AppraisalState::Counting)), Conflict);
        assert_eq!(code(A::Invalid("x".into())), InvalidRequest);
        // A count that does not add up says nothing of why to the client.
        let e = AppError::from(A::Unreconciled("3 receipts but 2 ballots".into()));
        assert_eq!(e.code, Internal);
        assert!(!e.message.contains("receipts"));
    }

    #[test]
    fn a_refusal_keeps_its_reason_and_a_failure_hides_its_own() {
        let e = AppError::from(issue::Refusal::Invalid("stars are 1 to 5"));
        assert_eq!(e.message, "stars are 1 to 5");
        let e = AppError::from(MediaError::Io(std::io::Error::other("disk at /srv full")));
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::Internal, "internal error")
        );
    }
}
