//! The `users` table as sea-orm sees it. Never leaves `store/`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub app_id: String,
    pub user_id: String,
    pub external_id: Option<String>,
    pub external_id_norm: Option<String>,
    pub nickname: String,
    pub profile_url: String,
    /// JSON object of scalar values.
    pub metadata: String,
    pub is_active: bool,
    pub origin: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
