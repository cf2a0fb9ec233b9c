//! sea-orm entities of event-service's tables.

pub mod events {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "events")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub id: String,
        pub app_id: String,
        pub kind: String,
        pub subject_id: String,
        pub occurred_at: i64,
        pub stored_at: i64,
        /// The `roster.events.v1.Event`, protobuf-encoded.
        pub payload: Vec<u8>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod subscriptions {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "subscriptions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub app_id: String,
        pub format: String,
        pub target: String,
        /// A JSON array of event types.
        pub event_types: String,
        pub enabled: bool,
        pub attributes: String,
        pub group_id: String,
        pub secret_kid: String,
        pub secret: Vec<u8>,
        pub created_at: i64,
        pub updated_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod deliveries {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "deliveries")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub seq: i64,
        pub id: String,
        pub app_id: String,
        pub subscription_id: String,
        pub event_seq: i64,
        pub subject_id: String,
        /// 1 pending, 2 delivered, 3 dead.
        pub status: i16,
        pub attempts: i32,
        pub next_attempt_at: i64,
        pub lease_id: Option<String>,
        pub lease_until: i64,
        pub last_status: i32,
        pub last_error: String,
        pub created_at: i64,
        pub finished_at: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub const PENDING: i16 = 1;
pub const DELIVERED: i16 = 2;
pub const DEAD: i16 = 3;
