//! Who is calling: `Authorization: Bearer <api key>`, checked against stored hashes.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use overturn_domain::Role;
use overturn_domain::api_key::hash_presented_key;
use overturn_entity::api_key;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated caller. Extracting it is what makes a route require a key; the handler
/// then states which roles it admits with one of the `require_*` methods.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: Uuid,
    pub role: Role,
    /// The key's name, for audit trails.
    pub name: String,
}

impl Caller {
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role.can_manage_keys() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("the {} role cannot manage API keys", self.role.as_str())))
        }
    }

    /// Data about many patients at once (remittances, say) is not for the portal role,
    /// which serves one patient at a time.
    pub fn require_billing_read(&self, what: &str) -> Result<(), ApiError> {
        if self.role.can_write_billing_data() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("the {} role cannot read {what}", self.role.as_str())))
        }
    }

    pub fn require_billing_write(&self) -> Result<(), ApiError> {
        if self.role.can_write_billing_data() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("the {} role can read but not change billing data", self.role.as_str())))
        }
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
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(|v| v.trim().to_owned());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("app state missing")))?;
            let presented = presented.filter(|k| !k.is_empty()).ok_or(ApiError::Unauthorized)?;
            // Look up by hash only: the table never holds a key, and a revoked key stops
            // working on the next request because nothing is cached.
            let found = api_key::Entity::find()
                .filter(api_key::Column::KeyHash.eq(hash_presented_key(&presented)))
                .filter(api_key::Column::RevokedAt.is_null())
                .one(&state.db.read)
                .await?
                .ok_or(ApiError::Unauthorized)?;
            let role = Role::parse(&found.role)
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("unknown role stored for key {}", found.id)))?;
            Ok(Caller { key_id: found.id, role, name: found.name })
        })
    }
}
