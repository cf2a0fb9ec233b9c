//! The registry's tables as sea-orm sees them. Never leave `store/`.

pub mod users {
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
        pub given_name: Option<String>,
        pub surname: Option<String>,
        pub email: Option<String>,
        pub language: Option<String>,
        /// JSON array of BCP 47 tags.
        pub preferred_languages: String,
        pub is_active: bool,
        pub origin: String,
        pub created_at: i64,
        pub updated_at: i64,
        pub last_seen_at: Option<i64>,
        pub associated_at: Option<i64>,
        pub expires_unassociated: bool,
        pub signed_up_at: Option<i64>,
        pub to_be_retained: bool,
        pub authenticated: bool,
        /// NULL on users that are not Kore.ai members.
        pub member_email_id: Option<String>,
        pub member_email_norm: Option<String>,
        pub member_org_user_id: Option<String>,
        pub member_activation: Option<String>,
        /// JSON: groups, roles, bot tasks and the two flags.
        pub member_attributes: Option<String>,
        /// When a deletion claimed the user; NULL on every user not being deleted.
        pub deleting_since: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod user_metadata {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "user_metadata")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_pk: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub app_id: String,
        /// A JSON scalar.
        pub value: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod user_discovery_keys {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "user_discovery_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub app_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub discovery_key: String,
        pub user_pk: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod user_identities {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "user_identities")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub app_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub channel_type: String,
        /// Hex SHA-256 of `value`: what uniqueness is decided on.
        #[sea_orm(primary_key, auto_increment = false)]
        pub value_digest: String,
        pub value: String,
        pub user_pk: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod profile_images {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "profile_images")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_pk: String,
        pub content_type: String,
        pub data: Vec<u8>,
        pub digest: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod user_sensitive_metadata {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "user_sensitive_metadata")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_pk: String,
        pub app_id: String,
        pub kid: String,
        /// Nonce, ciphertext and tag of the JSON object of fields.
        pub sealed: Vec<u8>,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod outbox_events {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        /// Position in the outbox: the relay publishes in this order.
        #[sea_orm(primary_key)]
        pub seq: i64,
        #[sea_orm(unique)]
        pub id: String,
        pub app_id: String,
        pub kind: String,
        pub subject_id: String,
        /// A JSON object: the ids, and for deletions why (`detail`).
        pub payload: String,
        /// The user after the change, as published (`roster.registry.v1.User`, protobuf).
        pub resource: Option<Vec<u8>>,
        pub created_at: i64,
        pub delivered_at: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod member_groups {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "member_groups")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub app_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub group_id: String,
        pub created_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod member_group_users {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "member_group_users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub app_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub group_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_pk: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod member_roles {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "member_roles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_pk: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub role_id: String,
        /// Empty for a role held without a bot (an admin role).
        #[sea_orm(primary_key, auto_increment = false)]
        pub bot_id: String,
        pub app_id: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod privacy_requests {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "privacy_requests")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub app_id: String,
        pub action: String,
        pub status: String,
        /// JSON list of subjects; `None` once the request ended.
        pub subjects: Option<String>,
        /// JSON object of string options.
        pub options: String,
        pub users: i32,
        pub created_at: i64,
        pub updated_at: i64,
        /// The worker's lease: until when it holds the request.
        pub claimed_until: Option<i64>,
        pub attempts: i32,
        pub export: Option<Vec<u8>>,
        pub export_key: Option<String>,
        pub export_expires_at: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
