//! Who is calling: `Authorization: Bearer <api key>`, checked against stored hashes.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use overturn_domain::Role;
use overturn_service::keys;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated caller. Extracting it is what makes a route require a key; a route that
/// admits only some roles takes `Allowed<P>` instead.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: Uuid,
    pub role: Role,
    /// The key's name, for audit trails.
    pub name: String,
}

/// What a route needs of the caller's role. A route states it once, in its signature, by
/// taking `Allowed<P>` instead of `Caller`; the check runs before the handler does.
pub trait Permission: 'static {
    fn check(role: Role) -> Result<(), String>;
}

/// Managing API keys: admin only.
pub struct ManageKeys;
/// Seeing and retrying failed jobs (whose errors may name any patient's records): admin only.
pub struct ManageJobs;
/// Reading billing data about many patients at once (remittances, the worklists, analytics):
/// not for the portal role, which serves one patient at a time.
pub struct ReadBilling;
/// Changing billing data.
pub struct WriteBilling;

impl Permission for ManageKeys {
    fn check(role: Role) -> Result<(), String> {
        if role.can_manage_keys() { Ok(()) } else { Err(format!("the {} role cannot manage API keys", role.as_str())) }
    }
}

impl Permission for ManageJobs {
    fn check(role: Role) -> Result<(), String> {
        if role.can_manage_keys() {
            Ok(())
        } else {
            Err(format!("the {} role cannot see or retry failed jobs", role.as_str()))
        }
    }
}

impl Permission for ReadBilling {
    fn check(role: Role) -> Result<(), String> {
        if role.can_write_billing_data() {
            Ok(())
        } else {
            Err(format!("the {} role cannot read data about many patients at once", role.as_str()))
        }
    }
}

impl Permission for WriteBilling {
    fn check(role: Role) -> Result<(), String> {
        if role.can_write_billing_data() {
            Ok(())
        } else {
            Err(format!("the {} role can read but not change billing data", role.as_str()))
        }
    }
}

/// An authenticated caller whose role has permission `P` (403 otherwise).
pub struct Allowed<P: Permission> {
    pub caller: Caller,
    permission: std::marker::PhantomData<P>,
}

impl<P: Permission> std::ops::Deref for Allowed<P> {
    type Target = Caller;

    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<P: Permission> FromRequest for Allowed<P> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        Box::pin(async move {
            let caller = caller.await?;
            P::check(caller.role).map_err(ApiError::Forbidden)?;
            Ok(Self { caller, permission: std::marker::PhantomData })
        })
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token)
            .map(str::to_owned);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("app state missing")))?;
            let presented = presented.filter(|k| !k.is_empty()).ok_or(ApiError::Unauthorized)?;
            // Look up by hash only: the table never holds a key, and a revoked key stops
            // working on the next request because nothing is cached.
            let found = keys::find_live(&state.db.read, &presented).await?.ok_or(ApiError::Unauthorized)?;
            let role = Role::parse(&found.role)
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("unknown role stored for key {}", found.id)))?;
            Ok(Caller { key_id: found.id, role, name: found.name })
        })
    }
}

/// The token of an `Authorization: Bearer <token>` value. The scheme is case-insensitive and
/// followed by one or more spaces (RFC 9110, section 11.4).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_scheme_is_case_insensitive() {
        for value in ["Bearer ovt_k", "bearer ovt_k", "BEARER ovt_k", "bEaReR   ovt_k "] {
            assert_eq!(bearer_token(value), Some("ovt_k"), "{value}");
        }
        for value in ["Basic ovt_k", "Bearer", "Bearer ", "Bearerovt_k", "ovt_k", "Bearer\tovt_k"] {
            assert_eq!(bearer_token(value), None, "{value}");
        }
    }
}
